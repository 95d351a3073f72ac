//! Expect engine over in-memory duplex streams.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twister_device::{Dialog, Error, Expect, Pattern, Rule};

const T: Duration = Duration::from_secs(2);

#[tokio::test]
async fn waits_for_any_pattern() {
    let (a, mut b) = tokio::io::duplex(1024);
    let mut e = Expect::new(a);
    tokio::spawn(async move {
        b.write_all(b"Welcome\r\nR1").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        b.write_all(b"(config)#").await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let pats = [
        Pattern::literal(">"),
        Pattern::regex(r"(\w+)\(config\)#$").unwrap(),
    ];
    let m = e.expect(&pats, T).await.unwrap();
    assert_eq!(m.index, 1);
    assert_eq!(m.before, "Welcome\n");
    assert_eq!(m.matched, "R1(config)#");
    assert_eq!(m.captures, vec![Some("R1".to_string())]);
}

#[tokio::test]
async fn leftmost_match_wins() {
    let (a, mut b) = tokio::io::duplex(1024);
    let mut e = Expect::new(a);
    b.write_all(b"one two three").await.unwrap();
    let pats = [Pattern::literal("three"), Pattern::literal("two")];
    let m = e.expect(&pats, T).await.unwrap();
    assert_eq!((m.index, m.before.as_str()), (1, "one "));
    let m = e.expect(&pats, T).await.unwrap();
    assert_eq!((m.index, m.before.as_str()), (0, " "));
}

#[tokio::test]
async fn timeout_is_on_time() {
    let (a, _b) = tokio::io::duplex(1024);
    let mut e = Expect::new(a);
    let start = std::time::Instant::now();
    let err = e
        .expect(&[Pattern::literal("#")], Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_millis(700),
        "{took:?}"
    );
}

#[tokio::test]
async fn eof_is_an_error() {
    let (a, mut b) = tokio::io::duplex(1024);
    let mut e = Expect::new(a);
    b.write_all(b"partial output").await.unwrap();
    drop(b);
    let err = e.expect(&[Pattern::literal("#")], T).await.unwrap_err();
    match err {
        Error::Eof { tail, .. } => assert_eq!(tail, "partial output"),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn dialog_answers_prompts_and_pages() {
    let (a, mut b) = tokio::io::duplex(4096);
    let mut e = Expect::new(a);
    let peer = tokio::spawn(async move {
        let mut got = Vec::new();
        b.write_all(b"Password: ").await.unwrap();
        let mut buf = [0u8; 64];
        let n = b.read(&mut buf).await.unwrap();
        got.extend_from_slice(&buf[..n]);
        b.write_all(b"\r\nline1\r\nline2\r\n --More-- ").await.unwrap();
        let n = b.read(&mut buf).await.unwrap();
        got.extend_from_slice(&buf[..n]);
        b.write_all(b"\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08line3\r\nProceed? [confirm]")
            .await
            .unwrap();
        let n = b.read(&mut buf).await.unwrap();
        got.extend_from_slice(&buf[..n]);
        b.write_all(b"\r\nR1#").await.unwrap();
        got
    });
    let dialog = Dialog::new()
        .rule(Rule::new(Pattern::regex(r"(?i)password: ?$").unwrap(), "secret\n").times(1))
        .rule(Rule::new(Pattern::regex(" *--More-- *").unwrap(), " "))
        .rule(Rule::new(Pattern::literal("[confirm]"), "\n"));
    let m = e
        .expect_dialog(&[Pattern::literal("R1#")], &dialog, T)
        .await
        .unwrap();
    assert_eq!(m.before, "\nline1\nline2\nline3\nProceed? \n");
    assert_eq!(peer.await.unwrap(), b"secret\n \n");
}

#[tokio::test]
async fn dialog_loop_detected() {
    let (a, mut b) = tokio::io::duplex(4096);
    let mut e = Expect::new(a);
    tokio::spawn(async move {
        let mut buf = [0u8; 64];
        loop {
            if b.write_all(b"Password: ").await.is_err() || b.read(&mut buf).await.unwrap_or(0) == 0 {
                break;
            }
        }
    });
    let dialog = Dialog::new().rule(Rule::new(Pattern::literal("Password: "), "x\n").times(2));
    let err = e
        .expect_dialog(&[Pattern::literal("#")], &dialog, T)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DialogLoop { times: 3, .. }), "{err}");
}

#[tokio::test]
async fn buffer_is_bounded() {
    let (a, mut b) = tokio::io::duplex(64 * 1024);
    let mut e = Expect::with_max_buffer(a, 4096);
    tokio::spawn(async move {
        for _ in 0..1000 {
            b.write_all(&[b'x'; 1000]).await.unwrap();
        }
        b.write_all(b"END").await.unwrap();
    });
    let m = e.expect(&[Pattern::literal("END")], T).await.unwrap();
    assert!(m.before.len() <= 4096);
    assert!(m.dropped >= 1_000_000 - 4096);
}

#[tokio::test]
async fn match_spanning_reads_is_found() {
    let (a, mut b) = tokio::io::duplex(4096);
    let mut e = Expect::new(a);
    tokio::spawn(async move {
        for part in [&b"abc Rou"[..], b"ter", b"1#"] {
            b.write_all(part).await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let m = e
        .expect(&[Pattern::regex(r"Router\d#").unwrap()], T)
        .await
        .unwrap();
    assert_eq!(m.before, "abc ");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..512), 0..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (a, mut b) = tokio::io::duplex(1024);
            let mut e = Expect::with_max_buffer(a, 1024);
            let writer = tokio::spawn(async move {
                for c in chunks {
                    if b.write_all(&c).await.is_err() { break; }
                }
            });
            let pats = [Pattern::regex(r"\x00never\x00").unwrap(), Pattern::literal("\u{1}")];
            let r = e.expect(&pats, Duration::from_secs(5)).await;
            prop_assert!(matches!(r, Err(Error::Eof { .. })), "{:?}", r);
            prop_assert!(e.buffered().len() <= 1024 + 4);
            writer.await.unwrap();
            Ok(())
        })?;
    }

    #[test]
    fn normalizer_never_panics(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let out = twister_device::normalize::normalize(&input);
        prop_assert!(!out.contains('\r') && !out.contains('\x1b'));
    }
}

//! Raw TCP and pseudo-terminal transports.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twister_device::pty::PtyProcess;
use twister_device::{tcp, Error, Expect, Pattern};

const T: Duration = Duration::from_secs(5);

#[tokio::test]
async fn tcp_echo() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(b"console> ").await.unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).await.unwrap();
        s.write_all(&buf[..n]).await.unwrap();
    });
    let mut e = Expect::new(tcp::connect(&addr, T).await.unwrap());
    e.expect(&[Pattern::literal("console> ")], T).await.unwrap();
    e.send("hello\n").await.unwrap();
    let m = e.expect(&[Pattern::literal("\n")], T).await.unwrap();
    assert_eq!(m.before, "hello");
    let err = e.expect(&[Pattern::literal("x")], T).await.unwrap_err();
    assert!(matches!(err, Error::Eof { .. }), "{err}");
}

#[tokio::test]
async fn tcp_connect_refused() {
    // Nothing listens on port 1 (tcpmux) here.
    assert!(tcp::connect("127.0.0.1:1", T).await.is_err());
}

#[tokio::test]
async fn shell_on_a_pty() {
    let p = PtyProcess::spawn("/bin/sh", &[], 200, 24).unwrap();
    let mut e = Expect::new(p);
    e.send("PS1='pty> '; stty -echo; tty\n").await.unwrap();
    let m = e
        .expect(&[Pattern::regex(r"(/dev/pts/\d+)").unwrap()], T)
        .await
        .unwrap();
    assert!(m.captures[0].as_deref().unwrap().starts_with("/dev/pts/"));
    e.expect(&[Pattern::literal("pty> ")], T).await.unwrap();
    e.send("echo $((6*7)); exit 3\n").await.unwrap();
    let m = e.expect(&[Pattern::literal("42\n")], T).await.unwrap();
    assert!(!m.before.contains("42"));
    let err = e.expect(&[Pattern::literal("never")], T).await.unwrap_err();
    assert!(matches!(err, Error::Eof { .. }), "{err}");
    let mut p = e.into_inner();
    for _ in 0..50 {
        if let Some(st) = p.try_wait().unwrap() {
            assert_eq!(st.code(), Some(3));
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("child did not exit");
}

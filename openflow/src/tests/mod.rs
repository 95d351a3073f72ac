//! Property tests over the whole codec and shared proptest strategies.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Once;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::message::OfMessage;

mod v10_vectors;
mod v13_vectors;

/// Any IPv4 address.
pub(crate) fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

/// Any IPv6 address.
#[allow(dead_code)]
pub(crate) fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}

/// A wire version other than 1.0 and 1.3.
pub(crate) fn other_version() -> impl Strategy<Value = u8> {
    any::<u8>().prop_filter("not 1.0/1.3", |v| *v != 1 && *v != 4)
}

/// Nested lists (flow stats of instructions of actions) would explode with proptest's default collection
/// size of 0..100, and that default can only be set through the environment before proptest first reads
/// its configuration (which building a strategy such as `any::<Vec<_>>()` does): every property test calls
/// this first, through [`big_stack`] and [`check`].
pub(crate) fn small_collections() {
    static INIT: Once = Once::new();
    INIT.call_once(|| std::env::set_var("PROPTEST_MAX_DEFAULT_SIZE_RANGE", "5"));
}

/// Runs `f` over `cases` values of `strategy`.
pub(crate) fn check<S: Strategy>(cases: u32, strategy: S, f: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    small_collections();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, f) {
        panic!("{e}");
    }
}

/// Runs `f` on a thread with a large stack: the derived strategies for the deeply nested message types are
/// large values, and building them in an unoptimised test build overflows the default 2 MiB test stack.
pub(crate) fn big_stack(f: impl FnOnce() + Send + 'static) {
    small_collections();
    let t = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(f)
        .expect("spawn test thread");
    if let Err(e) = t.join() {
        std::panic::resume_unwind(e);
    }
}

/// Encodes, decodes, compares, re-encodes and compares bytes.
pub(crate) fn roundtrip(m: &OfMessage) -> Result<(), TestCaseError> {
    let Ok(bytes) = m.encode(0x1234_5678) else {
        // Only messages over 65,535 bytes fail to encode; the generator rarely makes them.
        return Ok(());
    };
    let (header, back) = OfMessage::decode(&bytes).map_err(|e| TestCaseError::fail(format!("{e}: {m:?}")))?;
    prop_assert_eq!(usize::from(header.length), bytes.len());
    prop_assert_eq!(header.xid, 0x1234_5678);
    prop_assert_eq!(&back, m);
    let again = back
        .encode(0x1234_5678)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(again, bytes);
    Ok(())
}

#[test]
fn prop_any_message_roundtrips_byte_exact() {
    big_stack(|| check(10_000, any::<OfMessage>(), |m| roundtrip(&m)));
}

#[test]
fn prop_any_message_roundtrips_through_json() {
    big_stack(|| {
        check(3000, any::<OfMessage>(), |m| {
            let json = serde_json::to_string(&m).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let back: OfMessage =
                serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
            prop_assert_eq!(back, m);
            Ok(())
        })
    });
}

/// Decoding any bytes never panics. Whatever decodes re-encodes to the same length, differing from the input
/// only where the encoder wrote zero (padding, which is ignored on decode), and re-encoding is a fixed point.
pub(crate) fn decode_any(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok((h, m)) = OfMessage::decode(bytes) {
        let enc = m.encode(h.xid).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(enc.len(), bytes.len(), "{:?}", m);
        prop_assert!(
            enc.iter().zip(bytes).all(|(e, b)| e == b || *e == 0),
            "non-padding byte changed: {:?}",
            m
        );
        let (_, m2) = OfMessage::decode(&enc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&m2, &m);
        prop_assert_eq!(
            m2.encode(h.xid).map_err(|e| TestCaseError::fail(e.to_string()))?,
            enc
        );
    }
    Ok(())
}

/// A header with a consistent length over random bytes, version 1.0 or 1.3, any type.
fn framed_random() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(1u8), Just(4u8), any::<u8>()],
        0u8..32,
        proptest::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(v, t, body)| {
            let len = (body.len() + 8) as u16;
            let mut b = vec![v, t];
            b.extend_from_slice(&len.to_be_bytes());
            b.extend_from_slice(&[0, 0, 0, 1]);
            b.extend_from_slice(&body);
            b
        })
}

#[test]
fn prop_random_bytes_never_panic() {
    check(20_000, proptest::collection::vec(any::<u8>(), 0..300), |b| {
        decode_any(&b)
    });
    check(50_000, framed_random(), |b| decode_any(&b));
}

#[test]
fn prop_truncated_and_mutated_messages_never_panic() {
    big_stack(|| {
        check(
            20_000,
            (
                any::<OfMessage>(),
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
                any::<u8>(),
            ),
            |(m, cut, flip, val)| {
                let Ok(bytes) = m.encode(1) else { return Ok(()) };
                // Mutate one byte, fix up the header length, and decode every prefix shape.
                let mut mutated = bytes.clone();
                let i = flip.index(mutated.len());
                if i >= 4 {
                    mutated[i] = val;
                }
                decode_any(&mutated)?;
                let n = cut.index(bytes.len() + 1);
                let mut prefix = bytes[..n].to_vec();
                if prefix.len() >= 4 {
                    let len = (prefix.len() as u16).to_be_bytes();
                    prefix[2] = len[0];
                    prefix[3] = len[1];
                }
                decode_any(&prefix)
            },
        )
    });
}

/// Writes 2,000 encoded sample messages as a seed corpus for the cargo-fuzz target when
/// `OPENFLOW_FUZZ_SEEDS` names a directory (see the crate README); does nothing otherwise.
#[test]
fn write_fuzz_seeds() {
    let Some(dir) = std::env::var_os("OPENFLOW_FUZZ_SEEDS") else {
        return;
    };
    big_stack(move || {
        use proptest::strategy::ValueTree;
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("create seed directory");
        let mut runner = TestRunner::deterministic();
        let strategy = any::<OfMessage>();
        for i in 0..2000 {
            let m = strategy.new_tree(&mut runner).expect("generate").current();
            if let Ok(bytes) = m.encode(i) {
                std::fs::write(dir.join(format!("seed-{i:04}")), bytes).expect("write seed");
            }
        }
    });
}

/// The generator behind the round-trip property reaches every message type of both versions and every
/// multipart and stats body type, so the property covers them all.
#[test]
fn generator_covers_every_message_and_body_type() {
    big_stack(|| {
        use proptest::strategy::ValueTree;
        use std::collections::BTreeSet;
        let mut runner = TestRunner::deterministic();
        let strategy = any::<OfMessage>();
        let (mut v10, mut v13, mut stats10, mut mp13) =
            (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for _ in 0..20_000 {
            let m = strategy.new_tree(&mut runner).expect("generate").current();
            let Ok(bytes) = m.encode(0) else { continue };
            let body_type = bytes.get(8..10).map(|b| u16::from_be_bytes([b[0], b[1]]));
            match &m {
                OfMessage::V10(msg) => {
                    v10.insert(msg.msg_type());
                    if msg.msg_type() == 16 || msg.msg_type() == 17 {
                        stats10.insert((msg.msg_type(), body_type));
                    }
                }
                OfMessage::V13(msg) => {
                    v13.insert(msg.msg_type());
                    if msg.msg_type() == 18 || msg.msg_type() == 19 {
                        mp13.insert((msg.msg_type(), body_type));
                    }
                }
                OfMessage::Other { .. } => {}
            }
        }
        for t in 0..=21u8 {
            assert!(v10.contains(&t), "1.0 type {t} never generated");
        }
        for t in 0..=29u8 {
            assert!(v13.contains(&t), "1.3 type {t} never generated");
        }
        for dir in [16u8, 17] {
            for t in [0u16, 1, 2, 3, 4, 5, 0xffff] {
                assert!(
                    stats10.contains(&(dir, Some(t))),
                    "1.0 stats {dir}/{t} never generated"
                );
            }
        }
        for dir in [18u8, 19] {
            for t in (0u16..=13).chain([0xffff]) {
                assert!(
                    mp13.contains(&(dir, Some(t))),
                    "1.3 multipart {dir}/{t} never generated"
                );
            }
        }
    });
}

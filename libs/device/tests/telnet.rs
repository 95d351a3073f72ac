//! Telnet stream over in-memory duplex streams; random input never panics.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twister_device::telnet::{TelnetCodec, TelnetOptions, TelnetStream, DO, IAC, OPT_ECHO, WILL};
use twister_device::{Expect, Pattern};

#[tokio::test]
async fn negotiates_and_carries_data() {
    let (a, mut server) = tokio::io::duplex(4096);
    let opts = TelnetOptions {
        offer_on_open: false,
        ..TelnetOptions::default()
    };
    let mut e = Expect::new(TelnetStream::new(a, opts));
    server.write_all(&[IAC, WILL, OPT_ECHO]).await.unwrap();
    server.write_all(b"login: ").await.unwrap();
    e.expect(&[Pattern::literal("login: ")], Duration::from_secs(2))
        .await
        .unwrap();
    e.send_bytes(b"user\xff\r\n").await.unwrap();
    let mut got = [0u8; 32];
    let mut n = 0;
    while n < 11 {
        n += server.read(&mut got[n..]).await.unwrap();
    }
    assert_eq!(
        &got[..n],
        &[IAC, DO, OPT_ECHO, b'u', b's', b'e', b'r', IAC, IAC, b'\r', b'\n'][..]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..4096), cut in 0usize..4096) {
        let mut c = TelnetCodec::new(TelnetOptions::default());
        let _ = c.initial();
        let (mut d, mut r) = (Vec::new(), Vec::new());
        let cut = cut.min(input.len());
        c.decode(&input[..cut], &mut d, &mut r);
        c.decode(&input[cut..], &mut d, &mut r);
        prop_assert!(d.len() <= input.len());
        let mut out = Vec::new();
        c.encode(&input, &mut out);
        // Encoding then decoding gives the data back (binary mode off: CR NUL decodes to CR).
        let mut back = Vec::new();
        let mut c2 = TelnetCodec::new(TelnetOptions::default());
        c2.decode(&out, &mut back, &mut Vec::new());
        prop_assert_eq!(back, input);
    }
}

//! Decodes arbitrary bytes as an OpenFlow message (whole message, and every message a stream splits into).
//! Whatever decodes must re-encode to the same length, differing from the input only in padding bytes (which the
//! encoder writes as zero, so an input with zero padding, as the specification requires, comes back byte for
//! byte); the re-encoding must decode to the same typed message and encode to the same bytes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twister_openflow::framing::split_messages;
use twister_openflow::OfMessage;

fn check(data: &[u8]) {
    let Ok((header, msg)) = OfMessage::decode(data) else {
        return;
    };
    let enc = msg.encode(header.xid).expect("a decoded message re-encodes");
    let (h2, msg2) = OfMessage::decode(&enc).expect("a re-encoded message decodes");
    assert_eq!(h2.xid, header.xid);
    assert_eq!(msg2, msg, "typed message changed through encode/decode");
    assert_eq!(
        msg2.encode(header.xid).expect("encodes"),
        enc,
        "encoding is not a fixed point"
    );
    assert_eq!(enc.len(), data.len(), "re-encoding changed the length");
    // Only padding bytes (ignored on decode, written as zero) may differ.
    assert!(
        enc.iter().zip(data).all(|(e, d)| e == d || *e == 0),
        "a non-padding byte changed"
    );
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Ok((msgs, _)) = split_messages(data) {
        for m in msgs {
            check(m);
        }
    }
});

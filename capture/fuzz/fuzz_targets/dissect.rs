//! Decoding any bytes as any link type never panics, every field stays inside the frame, the values-only
//! decoding agrees with the full one, and display filters evaluate on the result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twister_capture::{dissect, dissect_with, Detail, DisplayFilter};

fuzz_target!(|data: &[u8]| {
    let Some((&lt, frame)) = data.split_first() else {
        return;
    };
    let linktype = if lt & 1 == 0 { 1 } else { 101 };
    let d = dissect(linktype, frame, frame.len() as u32);
    for f in d.fields() {
        assert!(f.offset + f.len <= frame.len(), "{} out of bounds", f.name);
    }
    // The values-only decoding (filters, packet list) sees the same packet.
    let values = dissect_with(linktype, frame, frame.len() as u32, Detail::Values);
    assert_eq!(values.summary, d.summary);
    assert_eq!(values.fields().len(), d.fields().len());
    if let Ok(filter) = DisplayFilter::parse("ip.addr == 10.0.0.0/8 or tcp.port == 6653 or openflow.type == 14") {
        let _ = filter.matches(&d);
    }
});

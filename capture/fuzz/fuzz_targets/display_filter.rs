//! Parsing any text as a display filter never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twister_capture::DisplayFilter;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = DisplayFilter::parse(text);
    }
});

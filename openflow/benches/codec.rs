//! Codec benchmarks (filled in later).
fn main() {}

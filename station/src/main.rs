//! `twister-station`: flags, configuration, logging, run.

fn main() {}

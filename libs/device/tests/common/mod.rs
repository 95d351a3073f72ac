//! Shared test fixtures.

pub mod peers;

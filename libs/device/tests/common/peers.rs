//! The shared peers live in the library (feature `test-peers`) so that the end-to-end tests use them too.

pub use twister_device::testpeers::*;

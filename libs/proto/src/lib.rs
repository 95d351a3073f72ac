//! Models shared by every part of Twister: the controller, the station daemon, the CLI and test helpers.
//!
//! This crate holds plain data types and the rules over them (the status roll-up, exit-code conventions);
//! it holds no I/O. The controller-station link messages join it with the execution engine.

pub mod status;

pub use status::{ExitCode, TestStatus};

//! Models shared by every part of Twister: the controller, the station daemon, the CLI and test helpers.
//!
//! This crate holds plain data types and the rules over them (the status roll-up, exit-code conventions, the
//! messages of the controller-station link); it holds no I/O.

pub mod capture;
pub mod launch;
pub mod link;
pub mod status;

pub use status::{ExitCode, TestStatus};

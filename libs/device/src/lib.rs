//! Talking to network equipment from Twister.
//!
//! - [`expect`]: wait for patterns in the output of any async byte stream, answer dialogs.
//! - [`normalize`]: clean device output (escape sequences, backspaces, carriage returns, echo).
//! - [`pattern`]: literal and regex patterns.
//! - [`telnet`]: Telnet transport (RFC 854) with option negotiation.
//! - [`profile`]: device profiles (prompts per mode, transitions, failure indicators, paging).
//! - [`session`]: a command-line session over any transport.
//! - [`ssh`]: SSH transport (russh) with host-key policies.
//! - [`tcp`], [`pty`]: raw TCP and a local process on a pseudo-terminal.
//! - [`sftp`]: file copies over SSH.
//! - [`spec`]: a session's settings read from a device's inventory properties.
//! - [`transcript`]: a masked copy of a session's traffic.

pub mod error;
pub mod expect;
pub mod normalize;
pub mod pattern;
pub mod profile;
pub mod pty;
pub mod session;
pub mod sftp;
pub mod spec;
pub mod ssh;
pub mod tcp;
pub mod telnet;
pub mod testenv;
#[cfg(feature = "test-peers")]
pub mod testpeers;
pub mod transcript;

pub use error::{Error, Result};
pub use expect::{Dialog, Expect, Match, Rule};
pub use pattern::Pattern;
pub use profile::{Mode, Profile};
pub use session::{Credentials, Session, SessionOptions, Transport};
pub use spec::{Protocol, SessionSpec, SpecError};

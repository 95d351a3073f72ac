//! Errors of the device library.

use std::time::Duration;

/// Everything that can go wrong while talking to a device.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading from or writing to the transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the connection while we were waiting for output.
    #[error("connection closed by the device while waiting for {waiting_for}; last output: {tail:?}")]
    Eof {
        /// What was expected (pattern descriptions).
        waiting_for: String,
        /// The end of the output received before the connection closed.
        tail: String,
    },
    /// None of the expected patterns appeared in time.
    #[error("timed out after {after:?} waiting for {waiting_for}; last output: {tail:?}")]
    Timeout {
        /// How long we waited.
        after: Duration,
        /// What was expected (pattern descriptions).
        waiting_for: String,
        /// The end of the output received meanwhile.
        tail: String,
    },
    /// A regular expression did not compile.
    #[error("invalid pattern {pattern:?}: {source}")]
    Pattern {
        /// The pattern text.
        pattern: String,
        /// Why it is invalid.
        source: regex::Error,
    },
    /// A dialog answered the same prompt too many times (a loop, e.g. a password being rejected).
    #[error("dialog rule {pattern:?} matched {times} times; giving up")]
    DialogLoop {
        /// The rule's pattern.
        pattern: String,
        /// How often it matched.
        times: usize,
    },
    /// A device profile could not be read or is inconsistent.
    #[error("device profile: {0}")]
    Profile(String),
    /// The device rejected the credentials.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The device reported an error for a command (a failure indicator matched its output).
    #[error("command {command:?} failed: {message}")]
    Command {
        /// The command sent.
        command: String,
        /// The line that indicated the failure.
        message: String,
        /// The whole output of the command.
        output: String,
    },
    /// Connecting or talking to the transport failed (SSH protocol errors, spawning a process...).
    #[error("transport: {0}")]
    Transport(String),
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

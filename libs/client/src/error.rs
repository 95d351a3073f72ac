//! Errors of the API client, and the exit code each one maps to in the CLI.

use thiserror::Error;

/// Exit codes of the `twister` tool, stable for scripts.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Any other failure (server error, bad answer, local I/O).
    pub const FAILURE: i32 = 1;
    /// Wrong usage: bad flags or arguments, invalid input rejected by the server (400/422).
    pub const USAGE: i32 = 2;
    /// The thing named does not exist (404).
    pub const NOT_FOUND: i32 = 3;
    /// Conflict: busy resource, stale version, already exists (409/412).
    pub const CONFLICT: i32 = 4;
    /// Not logged in, bad credentials or not allowed (401/403).
    pub const AUTH: i32 = 5;
    /// The controller cannot be reached.
    pub const UNREACHABLE: i32 = 6;
    /// A run waited for (`run start --wait`) finished without passing.
    pub const RUN_FAILED: i32 = 7;
}

/// A failed client call.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The controller answered with an error document.
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        /// HTTP status.
        status: u16,
        /// Stable error code from the API (`not_found`, `conflict`, …).
        code: String,
        /// Human message.
        message: String,
    },
    /// No connection could be made, or it broke.
    #[error("cannot reach the controller at {url}: {source}")]
    Unreachable {
        /// Base URL tried.
        url: String,
        /// Underlying transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The answer could not be read as expected.
    #[error("unexpected answer from the controller: {0}")]
    Decode(String),
    /// The request could not be built (bad URL, bad argument).
    #[error("{0}")]
    Usage(String),
    /// No token is configured.
    #[error("not logged in: run `twister login` or set TWISTER_TOKEN")]
    NotLoggedIn,
}

impl ClientError {
    /// The CLI exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            ClientError::Api { status, .. } => match *status {
                400 | 413 | 415 | 422 => exit::USAGE,
                401 | 403 => exit::AUTH,
                404 => exit::NOT_FOUND,
                409 | 412 | 428 => exit::CONFLICT,
                _ => exit::FAILURE,
            },
            ClientError::Unreachable { .. } => exit::UNREACHABLE,
            ClientError::Decode(_) => exit::FAILURE,
            ClientError::Usage(_) => exit::USAGE,
            ClientError::NotLoggedIn => exit::AUTH,
        }
    }

    /// The API error code, when the controller gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

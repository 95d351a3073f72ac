//! Errors of the controller channel.

use std::io;
use std::time::Duration;

use crate::{DecodeError, EncodeError, OfMessage};

/// What can go wrong on the controller channel.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// A socket operation failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The peer sent bytes that do not frame or decode.
    #[error("decode error: {0}")]
    Decode(#[from] DecodeError),
    /// A message could not be encoded.
    #[error("encode error: {0}")]
    Encode(#[from] EncodeError),
    /// The peer and we share no OpenFlow version.
    #[error("no common OpenFlow version (we support {ours:?}, the peer offered {theirs:?})")]
    NoCommonVersion {
        /// Versions we offered.
        ours: Vec<u8>,
        /// Versions the peer offered.
        theirs: Vec<u8>,
    },
    /// The handshake saw a message it did not expect.
    #[error("unexpected message during {stage}: type {msg_type}")]
    Unexpected {
        /// Handshake stage.
        stage: &'static str,
        /// Type of the message received.
        msg_type: u8,
    },
    /// No answer in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, &'static str),
    /// The connection is closed.
    #[error("connection closed")]
    Closed,
    /// The switch answered a request with an error message.
    #[error("switch answered with an error: {0:?}")]
    Rejected(Box<OfMessage>),
    /// The TLS handshake failed, or the TLS settings cannot be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The call cannot be served as made (no message to send, a connection already being taken).
    #[error("{0}")]
    Usage(&'static str),
    /// The message does not fit the negotiated version.
    #[error("message of version {message} on a connection of version {connection}")]
    WrongVersion {
        /// Version of the message.
        message: u8,
        /// Negotiated version.
        connection: u8,
    },
}

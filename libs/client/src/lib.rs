//! Client side of Twister's REST API: a typed async [`Client`], the API documents it exchanges, the CLI's
//! configuration file, and the exit-code conventions of the `twister` command-line tool (its code is in
//! `src/cli/`, built into the `twister` binary).

pub mod client;
pub mod config;
pub mod device;
pub mod device_agent;
pub mod duration;
pub mod error;
pub mod pcap;
pub mod types;

pub use client::Client;
pub use error::{exit, ClientError};

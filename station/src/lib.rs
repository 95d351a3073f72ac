//! The Twister station daemon: it dials out to the controller over a WebSocket, runs test processes on
//! command, and streams their output and results back, losing and duplicating nothing across disconnects and
//! restarts (see [`twister_proto::link`] for the protocol).

pub mod backoff;
pub mod commands;
pub mod config;
pub mod epname_ini;
pub mod facts;
pub mod files;
pub mod fsutil;
pub mod interpreter;
pub mod link;
pub mod orphans;
pub mod outbox;
pub mod output;
pub mod pcap_ring;
pub mod result_file;
pub mod runner;
pub mod sniffer;
pub mod spool;
pub mod state;
pub mod station;
pub mod time;
pub mod trust;
pub mod workdir;

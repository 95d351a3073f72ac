//! The Twister station daemon: it dials out to the controller over a WebSocket, runs test processes on
//! command, and streams their output and results back, losing and duplicating nothing across disconnects and
//! restarts (see [`twister_proto::link`] for the protocol).

pub modpub mod backoff;
pub modpub mod commands;
pub modpub mod config;
pub modpub mod epname_ini;
pub modpub mod facts;
pub modpub mod files;
pub modpub mod fsutil;
pub modpub mod interpreter;
pub modpub mod link;
pub modpub mod outbox;
pub modpub mod output;
pub modpub mod result_file;
pub modpub mod runner;
pub modpub mod spool;
pub modpub mod state;
pub modpub mod station;
pub modpub mod time;
pub modpub mod workdir;

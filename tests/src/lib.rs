//! Fixtures for Twister's end-to-end tests: a real controller (in-process or as a separate process), a private
//! PostgreSQL server, an API client, and headless Chromium over WebDriver. Every fixture cleans up after itself.
//!
//! Tests that need a tool (PostgreSQL, Chromium) skip only outside CI, printing why; with `CI` set they fail
//! when the tool is missing.

#![allow(clippy::unwrap_used)]

pub mod api;
pub mod browser;
pub mod cli;
pub mod controller;
pub mod mysql;
pub mod netns;
pub mod pg;
pub mod smtp;
pub mod station;
pub mod webhook_receiver;

pub use api::Api;
pub use controller::{ControllerProcess, TestController};

/// Whether the tests run in CI (where nothing may be skipped).
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Call when a needed tool is missing: fails in CI, otherwise prints the reason and returns `false` (skip).
pub fn tool_missing(what: &str) -> bool {
    if in_ci() {
        panic!("{what} is required in CI but is not available (scripts/install-deps.sh installs it)");
    }
    eprintln!("SKIPPED: {what} is not available on this machine (runs in CI)");
    false
}

/// A database to run a test against.
#[derive(Debug, Clone)]
pub struct Backend {
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// Database URL (empty for SQLite: the controller uses its data directory).
    pub url: String,
}

/// The backends available here: SQLite always, PostgreSQL when its server can be started (always in CI).
pub async fn backends() -> Vec<Backend> {
    let mut out = vec![Backend {
        name: "sqlite",
        url: String::new(),
    }];
    match pg::database().await {
        Some(url) => out.push(Backend {
            name: "postgres",
            url,
        }),
        None => {
            tool_missing("PostgreSQL");
        }
    }
    out
}

/// The workspace's `target/debug` (or release) directory, where the binaries are.
pub fn bin_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test> -> target/debug
    exe.parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .to_path_buf()
}

/// Path of a workspace binary; panics with a hint when it has not been built.
pub fn binary(name: &str) -> std::path::PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} is not built: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        p.display()
    );
    p
}

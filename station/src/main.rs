//! `twister-station`: flags, configuration, logging, run until SIGINT or SIGTERM.

use anyhow::Context;
use clap::Parser;
use twister_station::config::{Config, Flags, LogFormat, TOKEN_ENV};
use twister_station::facts::{self, LocalHost};
use twister_station::station::Station;

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TWISTER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let host = LocalHost::detect();
    let config =
        Config::load(&flags, std::env::var(TOKEN_ENV).ok(), &host).context("loading the configuration")?;
    init_logging(config.log_format);
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let facts = facts::collect().await;
    tracing::info!(
        hostname = %facts.hostname,
        os = %facts.os,
        interpreters = ?facts.interpreters,
        "host facts"
    );
    let station = Station::open(config, facts).context("opening the data directory")?;
    station.run(shutdown_signal()).await;
    Ok(())
}

//! `twister-controller`: flags, configuration, start and shutdown.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use twister_controller::auth::bootstrap::Bootstrap;
use twister_controller::config::{Config, LogFormat};

/// The Twister controller: inventory, reservations, users, REST API and web UI.
#[derive(Parser, Debug)]
#[command(name = "twister-controller", version)]
struct Flags {
    /// TOML configuration file (see config/controller.toml).
    #[arg(long, short = 'c', env = "TWISTER_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8000.
    #[arg(long, env = "TWISTER_LISTEN")]
    listen: Option<String>,
    /// Data directory (SQLite file, secret key).
    #[arg(long, env = "TWISTER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://FILE or postgres://USER:PASS@HOST/DB.
    #[arg(long, env = "TWISTER_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Log format.
    #[arg(long, env = "TWISTER_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// Test-source directory.
    #[arg(long, env = "TWISTER_TESTS_DIR")]
    tests_dir: Option<std::path::PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, env = "TWISTER_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, env = "TWISTER_TLS_KEY")]
    tls_key: Option<PathBuf>,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TWISTER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
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
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let mut config = match &flags.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(v) = flags.listen {
        config.listen = v;
    }
    if let Some(v) = flags.data_dir {
        config.data_dir = v;
    }
    if let Some(v) = flags.database_url {
        config.database_url = v;
    }
    if let Some(v) = flags.log_format {
        config.log_format = v;
    }
    if let Some(v) = flags.tests_dir {
        config.tests_dir = Some(v);
    }
    if let Some(v) = flags.tls_cert {
        config.server.tls_cert = Some(v);
    }
    if let Some(v) = flags.tls_key {
        config.server.tls_key = Some(v);
    }
    let config = config.validate()?;
    init_logging(config.log_format);
    let admin_password = std::env::var("TWISTER_ADMIN_PASSWORD").ok();
    let running = twister_controller::spawn(config, admin_password)
        .await
        .context("controller failed to start")?;
    match &running.bootstrap {
        Bootstrap::Generated { password, file } => {
            // Printed once, on purpose, on the terminal and not in the log.
            println!("Created user 'admin' with password: {password}");
            println!("(also written to {}, readable only by you)", file.display());
        }
        Bootstrap::FromEnvironment => {
            println!("Created user 'admin' with the password from TWISTER_ADMIN_PASSWORD")
        }
        Bootstrap::Existing => {}
    }
    println!("Twister controller listening on {}", running.url);
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

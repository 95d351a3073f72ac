//! The station: opens its data directory, reports tests a previous run left unfinished, then runs the link
//! and the command executor until told to stop, and at the end stops every running test.

use std::future::Future;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::{mpsc, watch};
use twister_proto::link::HostFacts;

use crate::commands::Executor;
use crate::config::Config;
use crate::files::FileCache;
use crate::link::{Link, LinkOptions};
use crate::orphans::kill_orphans;
use crate::outbox::{Outbox, OutboxError};
use crate::runner::Runner;
use crate::trust::{TrustError, CA_FILE_ENV};

/// How long shutdown waits for killed tests to report their end.
pub const STOP_WAIT: Duration = Duration::from_secs(10);

/// Why the station could not start.
#[derive(Debug, Error)]
pub enum StationError {
    /// The spool or state could not be opened.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The data directory cannot be created or located.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The TLS trust roots cannot be set up.
    #[error(transparent)]
    Trust(#[from] TrustError),
}

/// A station ready to run.
#[derive(Debug)]
pub struct Station {
    config: Config,
    outbox: Outbox,
    runner: Runner,
    facts: HostFacts,
    options: LinkOptions,
    tls: std::sync::Arc<rustls::ClientConfig>,
}

impl Station {
    /// Opens the data directory and spools `TestFinished` (error) for the tests a previous run left running.
    pub fn open(mut config: Config, facts: HostFacts) -> Result<Station, StationError> {
        // Tests get paths into the data directory; they must hold from any working directory.
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StationError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        config.data_dir = std::path::absolute(&config.data_dir).map_err(|source| StationError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let outbox = Outbox::open(&config.data_dir)?;
        let interrupted = outbox.recover_interrupted()?;
        for key in &interrupted {
            tracing::warn!(test = %key, "test was running when the station stopped; reported as error");
        }
        let orphans = kill_orphans(&config.data_dir, &interrupted);
        if !orphans.is_empty() {
            tracing::warn!(pids = ?orphans, "killed processes of interrupted tests");
        }
        let files = FileCache::with_trust(
            config.data_dir.join("cache"),
            &config.controller_url,
            config.token.clone(),
            &config.trust,
        );
        let station_env = config
            .trust
            .ca_file()
            .map(|p| vec![(CA_FILE_ENV.to_string(), p.as_os_str().to_owned())])
            .unwrap_or_default();
        let runner = Runner::with_env(config.data_dir.clone(), files, outbox.clone(), station_env);
        let tls = config.trust.client_config()?;
        Ok(Station {
            tls,
            config,
            outbox,
            runner,
            facts,
            options: LinkOptions::default(),
        })
    }

    /// Replaces the link's tunables.
    pub fn with_link_options(mut self, options: LinkOptions) -> Station {
        self.options = options;
        self
    }

    /// The outbox (spool and state).
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The test runner.
    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// Runs until `shutdown` completes; then kills the running tests (reported aborted, "station stopped"),
    /// sends what it can, and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let (acks_tx, acks_rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(false);
        let executor = Executor::new(self.runner.clone(), self.config.eps.clone());
        let executor = tokio::spawn(executor.run(commands_rx, acks_tx));
        let (_sniffer, sniffer_link) = match &self.config.capture {
            Some(c) => match crate::sniffer::spawn(c.clone(), self.config.data_dir.join("capture")) {
                Ok((s, l)) => (Some(s), Some(l)),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the sniffer thread");
                    (None, None)
                }
            },
            None => (None, None),
        };
        let link = Link {
            sniffer: sniffer_link,
            controller_url: self.config.controller_url.clone(),
            token: self.config.token.clone(),
            station: self.config.name.clone(),
            facts: self.facts,
            eps: self.config.eps.clone(),
            outbox: self.outbox.clone(),
            commands: commands_tx,
            acks: acks_rx,
            options: self.options,
            tls: self.tls,
        };
        let mut link = tokio::spawn(link.run(stop_rx));
        tracing::info!(
            station = %self.config.name,
            controller = %self.config.controller_url,
            eps = self.config.eps.len(),
            "station started"
        );
        tokio::select! {
            _ = shutdown => {}
            _ = &mut link => {}
        }
        tracing::info!("stopping: killing running tests");
        // Refuse new tests first, so that a start in progress ends quickly, then stop taking commands.
        self.runner.stop_all(STOP_WAIT).await;
        executor.abort();
        stop_tx.send_replace(true);
        let _ = link.await;
        tracing::info!(unacked = self.outbox.unacked().len(), "station stopped");
    }
}

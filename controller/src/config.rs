//! The controller's configuration: one typed struct, loaded from TOML, overridden by flags and environment,
//! validated at start with errors that name the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::inventory::reservations::ReservationConfig;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Authentication settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Lifetime of login sessions, seconds.
    pub session_ttl_s: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_ttl_s: 12 * 3600,
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Directory for the SQLite database, the secret key, the generated admin password.
    pub data_dir: PathBuf,
    /// Database URL; empty means `sqlite://<data_dir>/twister.db`.
    pub database_url: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Authentication.
    pub auth: AuthConfig,
    /// Reservations.
    pub reservations: ReservationConfig,
    /// Test-source directory: test files, libraries and scripts that projects name (default `<data_dir>/tests`).
    pub tests_dir: Option<PathBuf>,
    /// Station links.
    pub stations: StationConfig,
    /// Directory of the services' configuration and log files (default `<data_dir>/services`).
    pub services_dir: Option<PathBuf>,
    /// Services defined here (`[[services]]` tables); they replace stored ones of the same name at start.
    pub services: Vec<crate::services::definition::ServiceDef>,
    /// Scheduler.
    pub scheduler: crate::schedule::SchedulerConfig,
    /// Outgoing webhooks.
    pub webhooks: crate::notify::webhook::WebhookConfig,
    /// Reports: the scripts of UserScript fields.
    pub reports: crate::reports::scripts::ReportsSettings,
    /// HTTP server settings (`[server]`): HTTPS certificate and key.
    pub server: ServerSettings,
    /// Packet capture (`[capture]`): the size of each station and interface's ring.
    pub capture: crate::capture::RingSettings,
}

/// HTTP server settings. With both `tls_cert` and `tls_key` set the controller serves HTTPS (and `wss://` for
/// stations) instead of plain HTTP.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// PEM file with the server certificate chain, leaf first.
    pub tls_cert: Option<PathBuf>,
    /// PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
}

/// Station link settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StationConfig {
    /// Heartbeat period stations are asked for, seconds.
    pub heartbeat_s: u32,
    /// A station silent (or away) this long is lost: its running test ends in error, seconds.
    pub lost_after_s: u64,
}

impl Default for StationConfig {
    fn default() -> Self {
        StationConfig {
            heartbeat_s: 5,
            lost_after_s: 30,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8000".into(),
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            log_format: LogFormat::Text,
            auth: AuthConfig::default(),
            reservations: ReservationConfig::default(),
            tests_dir: None,
            stations: StationConfig::default(),
            server: ServerSettings::default(),
            services_dir: None,
            services: Vec::new(),
            scheduler: crate::schedule::SchedulerConfig::default(),
            webhooks: crate::notify::webhook::WebhookConfig::default(),
            reports: crate::reports::scripts::ReportsSettings::default(),
            capture: crate::capture::RingSettings::default(),
        }
    }
}

/// A configuration problem, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("config file {path}: {message}")]
    Parse {
        /// File.
        path: String,
        /// Parser message (names the key and line).
        message: String,
    },
    /// A value is out of range.
    #[error("config key {key}: {message}")]
    Invalid {
        /// Key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Loads a TOML file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Checks values and fills derived defaults.
    pub fn validate(mut self) -> Result<Config, ConfigError> {
        self.listen
            .parse::<SocketAddr>()
            .map_err(|e| ConfigError::Invalid {
                key: "listen",
                message: format!("{:?}: {e}", self.listen),
            })?;
        if self.database_url.is_empty() {
            self.database_url = format!("sqlite://{}/twister.db?mode=rwc", self.data_dir.display());
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres:")
            || self.database_url.starts_with("postgresql:"))
        {
            return Err(ConfigError::Invalid {
                key: "database_url",
                message: "must start with sqlite:// or postgres://".into(),
            });
        }
        if self.auth.session_ttl_s < 60 {
            return Err(ConfigError::Invalid {
                key: "auth.session_ttl_s",
                message: "at least 60".into(),
            });
        }
        let r = &self.reservations;
        if r.default_duration_s == 0 || r.default_duration_s > r.max_duration_s {
            return Err(ConfigError::Invalid {
                key: "reservations.default_duration_s",
                message: "must be between 1 and reservations.max_duration_s".into(),
            });
        }
        if r.max_wait_s == 0 {
            return Err(ConfigError::Invalid {
                key: "reservations.max_wait_s",
                message: "must be at least 1".into(),
            });
        }
        if self.stations.heartbeat_s == 0 || self.stations.heartbeat_s > 300 {
            return Err(ConfigError::Invalid {
                key: "stations.heartbeat_s",
                message: "between 1 and 300".into(),
            });
        }
        if self.stations.lost_after_s < 2 * self.stations.heartbeat_s as u64 {
            return Err(ConfigError::Invalid {
                key: "stations.lost_after_s",
                message: "at least twice stations.heartbeat_s".into(),
            });
        }
        match (&self.server.tls_cert, &self.server.tls_key) {
            (Some(_), None) => {
                return Err(ConfigError::Invalid {
                    key: "server.tls_key",
                    message: "needed when server.tls_cert is set".into(),
                })
            }
            (None, Some(_)) => {
                return Err(ConfigError::Invalid {
                    key: "server.tls_cert",
                    message: "needed when server.tls_key is set".into(),
                })
            }
            _ => {}
        }
        if self.scheduler.tick_ms < 10 || self.scheduler.tick_ms > 60_000 {
            return Err(ConfigError::Invalid {
                key: "scheduler.tick_ms",
                message: "between 10 and 60000".into(),
            });
        }
        if self.scheduler.grace_s == 0 {
            return Err(ConfigError::Invalid {
                key: "scheduler.grace_s",
                message: "at least 1".into(),
            });
        }
        if self.webhooks.max_attempts == 0 || self.webhooks.max_attempts > 20 {
            return Err(ConfigError::Invalid {
                key: "webhooks.max_attempts",
                message: "between 1 and 20".into(),
            });
        }
        if self.reports.script_timeout_s == 0 || self.reports.script_timeout_s > 3600 {
            return Err(ConfigError::Invalid {
                key: "reports.script_timeout_s",
                message: "between 1 and 3600".into(),
            });
        }
        if self.reports.script_output_max == 0 || self.reports.script_output_max > 16 * 1024 * 1024 {
            return Err(ConfigError::Invalid {
                key: "reports.script_output_max",
                message: "between 1 and 16777216 bytes".into(),
            });
        }
        if self.capture.ring_packets == 0 {
            return Err(ConfigError::Invalid {
                key: "capture.ring_packets",
                message: "must be at least 1".into(),
            });
        }
        if self.capture.ring_bytes < 65_536 {
            return Err(ConfigError::Invalid {
                key: "capture.ring_bytes",
                message: "must be at least 65536".into(),
            });
        }
        for svc in &self.services {
            svc.validate().map_err(|e| ConfigError::Invalid {
                key: "services",
                message: e.to_string(),
            })?;
        }
        Ok(self)
    }

    /// Whether the controller serves HTTPS.
    pub fn tls(&self) -> bool {
        self.server.tls_cert.is_some() && self.server.tls_key.is_some()
    }

    /// The services directory.
    pub fn services_dir(&self) -> PathBuf {
        self.services_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("services"))
    }

    /// The test-source directory.
    pub fn tests_dir(&self) -> PathBuf {
        self.tests_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("tests"))
    }

    /// The socket address to bind.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8000)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses() {
        let text = include_str!("../../config/controller.toml");
        let c: Config = toml::from_str(text).expect("example config is valid");
        let c = c.validate().expect("valid");
        assert_eq!(c.listen, "127.0.0.1:8000");
        assert_eq!(c.capture, crate::capture::RingSettings::default());
    }

    #[test]
    fn errors_name_the_key() {
        let c = Config {
            listen: "nowhere".into(),
            ..Default::default()
        };
        let e = c.validate().expect_err("bad listen").to_string();
        assert!(e.contains("listen"), "{e}");
        let c = Config {
            server: ServerSettings {
                tls_cert: Some("cert.pem".into()),
                tls_key: None,
            },
            ..Default::default()
        };
        let e = c.validate().expect_err("cert without key").to_string();
        assert!(e.contains("server.tls_key"), "{e}");
        let e = toml::from_str::<Config>("lissten = 1")
            .expect_err("unknown key")
            .to_string();
        assert!(e.contains("lissten"), "{e}");
        let mut c = Config::default();
        c.reservations.default_duration_s = 0;
        assert!(c
            .validate()
            .expect_err("zero")
            .to_string()
            .contains("reservations.default_duration_s"));
        let c: Config = toml::from_str("[capture]\nring_packets = 0\n").expect("parses");
        let e = c.validate().expect_err("empty ring").to_string();
        assert!(e.contains("capture.ring_packets"), "{e}");
        let c: Config = toml::from_str("[capture]\nring_bytes = 100\n").expect("parses");
        let e = c.validate().expect_err("tiny ring").to_string();
        assert!(e.contains("capture.ring_bytes"), "{e}");
    }

    #[test]
    fn default_database_is_sqlite_in_data_dir() {
        let c = Config {
            data_dir: "/var/lib/tw".into(),
            ..Default::default()
        }
        .validate()
        .expect("valid");
        assert_eq!(c.database_url, "sqlite:///var/lib/tw/twister.db?mode=rwc");
    }
}

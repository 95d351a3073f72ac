//! The station's configuration: `config/station.toml`, overridden by command-line flags (and, for the token,
//! the `TWISTER_STATION_TOKEN` environment variable), optionally fed by an original Twister `epname.ini`.

use std::fmt;
use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};
use serde::Deserialize;
use thiserror::Error;
use twister_proto::link::EpInfo;

use crate::epname_ini::{self, EpnameError};
use crate::facts::LocalHost;
use crate::trust::TrustRoots;

/// Controller URL when none is configured.
pub const DEFAULT_CONTROLLER_URL: &str = "http://127.0.0.1:8000";
/// Data directory when none is configured.
pub const DEFAULT_DATA_DIR: &str = "./station-data";
/// Configuration file read when `--config` is not given and it exists.
pub const DEFAULT_CONFIG_FILE: &str = "config/station.toml";
/// Environment variable holding the station token.
pub const TOKEN_ENV: &str = "TWISTER_STATION_TOKEN";

/// Why the configuration could not be loaded.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The TOML file is malformed.
    #[error("{path}: {source}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: Box<toml::de::Error>,
    },
    /// The `epname.ini` is unusable.
    #[error("epname.ini: {0}")]
    Epname(#[from] EpnameError),
    /// No token was given in any way.
    #[error("no station token: set token or token_file in the configuration, --token-file, or {TOKEN_ENV}")]
    NoToken,
    /// A value is invalid.
    #[error("{0}")]
    Invalid(String),
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The station's secret token. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into())
    }

    /// The token itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Command-line flags of `twister-station`; each overrides the configuration file.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "twister-station",
    version,
    about = "Twister station: runs tests for the controller"
)]
pub struct Flags {
    /// TOML configuration file (default: config/station.toml when it exists).
    #[arg(long, short = 'c', env = "TWISTER_STATION_CONFIG")]
    pub config: Option<PathBuf>,
    /// Controller URL, e.g. http://127.0.0.1:8000.
    #[arg(long)]
    pub controller_url: Option<String>,
    /// Station name (default: host name).
    #[arg(long)]
    pub name: Option<String>,
    /// Data directory (spool, state, file cache, work directories).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// File holding the station token.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// An EP this station offers (repeatable); replaces the EPs of the configuration.
    #[arg(long = "ep", value_name = "NAME")]
    pub eps: Vec<String>,
    /// Original Twister epname.ini to take EPs (and the controller address) from.
    #[arg(long, value_name = "FILE")]
    pub epname_ini: Option<PathBuf>,
    /// Log format.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// PEM file of a CA to trust, besides the public roots, for an https:// controller.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

/// The contents of `station.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Controller URL.
    pub controller_url: Option<String>,
    /// Station token, inline.
    pub token: Option<String>,
    /// File holding the station token (relative to the configuration file).
    pub token_file: Option<PathBuf>,
    /// Station name.
    pub name: Option<String>,
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Log format.
    pub log_format: Option<LogFormat>,
    /// Original Twister epname.ini (relative to the configuration file); used when no `[[ep]]` is given.
    pub epname_ini: Option<PathBuf>,
    /// PEM file of a CA to trust for an https:// controller (relative to the configuration file).
    pub ca_file: Option<PathBuf>,
    /// `[[ep]]` tables.
    #[serde(default, rename = "ep")]
    pub eps: Vec<EpTable>,
    /// `[capture]`: the packet sniffer (off when absent).
    #[serde(default)]
    pub capture: Option<crate::sniffer::SnifferConfig>,
}

/// One `[[ep]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpTable {
    /// EP name.
    pub name: String,
    /// Whether it accepts work.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Labels.
    #[serde(default)]
    pub tags: Vec<String>,
}

fn yes() -> bool {
    true
}

impl ConfigFile {
    /// Reads and parses a configuration file.
    pub fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Toml {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Controller base URL (http or https), without a trailing slash.
    pub controller_url: String,
    /// Station token.
    pub token: Token,
    /// Station name.
    pub name: String,
    /// Data directory.
    pub data_dir: PathBuf,
    /// EPs offered.
    pub eps: Vec<EpInfo>,
    /// Log format.
    pub log_format: LogFormat,
    /// Certificate authorities trusted for an https:// controller.
    pub trust: TrustRoots,
    /// The packet sniffer, when configured.
    pub capture: Option<crate::sniffer::SnifferConfig>,
}

impl Config {
    /// Loads the configuration: the file named by `--config` (or [`DEFAULT_CONFIG_FILE`] when it exists), then
    /// the flags, the token environment variable and this host's facts.
    pub fn load(flags: &Flags, env_token: Option<String>, host: &LocalHost) -> Result<Config, ConfigError> {
        let (file, base) = match &flags.config {
            Some(p) => (ConfigFile::read(p)?, parent(p)),
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                let p = Path::new(DEFAULT_CONFIG_FILE);
                (ConfigFile::read(p)?, parent(p))
            }
            None => (ConfigFile::default(), PathBuf::from(".")),
        };
        Config::resolve(flags, file, &base, env_token, host)
    }

    /// Merges flags over a parsed file (`base`: its directory, for relative paths in it).
    ///
    /// Token: `--token-file`, else the environment, else `token`, else `token_file`. EPs: `--ep`, else
    /// `--epname-ini`, else `[[ep]]`, else the file's `epname_ini`, else one EP named `EP-<name>`. Controller
    /// URL: `--controller-url`, else the file's, else the `epname.ini`'s `CE_IP:CE_PORT`, else the default.
    pub fn resolve(
        flags: &Flags,
        file: ConfigFile,
        base: &Path,
        env_token: Option<String>,
        host: &LocalHost,
    ) -> Result<Config, ConfigError> {
        let token = if let Some(p) = &flags.token_file {
            read_token(p)?
        } else if let Some(t) = env_token.filter(|t| !t.trim().is_empty()) {
            t.trim().to_string()
        } else if let Some(t) = file.token.clone().filter(|t| !t.trim().is_empty()) {
            t.trim().to_string()
        } else if let Some(p) = &file.token_file {
            read_token(&base.join(p))?
        } else {
            return Err(ConfigError::NoToken);
        };
        if token.is_empty() {
            return Err(ConfigError::NoToken);
        }

        let name = flags
            .name
            .clone()
            .or(file.name.clone())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| host.hostname.clone());
        if name.trim().is_empty() {
            return Err(ConfigError::Invalid(
                "no station name: the host name is unknown, set name".into(),
            ));
        }

        let ini = match (&flags.epname_ini, &file.epname_ini) {
            (Some(p), _) => Some(epname_ini::load(p, host)?),
            (None, Some(p)) => Some(epname_ini::load(&base.join(p), host)?),
            (None, None) => None,
        };
        let eps: Vec<EpInfo> = if !flags.eps.is_empty() {
            flags
                .eps
                .iter()
                .map(|n| EpInfo {
                    name: n.clone(),
                    enabled: true,
                    tags: vec![],
                })
                .collect()
        } else if let (Some(ini), Some(_)) = (&ini, &flags.epname_ini) {
            ini.eps.clone()
        } else if !file.eps.is_empty() {
            file.eps
                .iter()
                .map(|e| EpInfo {
                    name: e.name.clone(),
                    enabled: e.enabled,
                    tags: e.tags.clone(),
                })
                .collect()
        } else if let Some(ini) = &ini {
            ini.eps.clone()
        } else {
            vec![EpInfo {
                name: format!("EP-{name}"),
                enabled: true,
                tags: vec![],
            }]
        };
        let mut seen = std::collections::BTreeSet::new();
        for e in &eps {
            if e.name.trim().is_empty() {
                return Err(ConfigError::Invalid("an EP has an empty name".into()));
            }
            if !seen.insert(e.name.as_str()) {
                return Err(ConfigError::Invalid(format!("EP {:?} is listed twice", e.name)));
            }
        }

        let controller_url = flags
            .controller_url
            .clone()
            .or(file.controller_url.clone())
            .or_else(|| ini.as_ref().and_then(|i| i.controller_url.clone()))
            .unwrap_or_else(|| DEFAULT_CONTROLLER_URL.to_string());
        let controller_url = controller_url.trim().trim_end_matches('/').to_string();
        if !(controller_url.starts_with("http://") || controller_url.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "controller_url {controller_url:?} must start with http:// or https://"
            )));
        }

        let ca_file = match (&flags.ca_file, &file.ca_file) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(p)) => Some(base.join(p)),
            (None, None) => None,
        };
        let trust = match ca_file {
            Some(p) => TrustRoots::with_ca_file(&p).map_err(|e| ConfigError::Invalid(e.to_string()))?,
            None => TrustRoots::public(),
        };

        // The original epname.ini's enabled sniffer section gives the interfaces when station.toml has no
        // [capture] of its own.
        let capture = file.capture.or_else(|| {
            let interfaces = ini
                .as_ref()
                .map(|i| i.sniffer_interfaces.clone())
                .unwrap_or_default();
            (!interfaces.is_empty()).then(|| crate::sniffer::SnifferConfig {
                interfaces,
                ..Default::default()
            })
        });
        if let Some(c) = &capture {
            c.validate().map_err(ConfigError::Invalid)?;
        }
        Ok(Config {
            trust,
            capture,
            controller_url,
            token: Token::new(token),
            name,
            data_dir: flags
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            eps,
            log_format: flags.log_format.or(file.log_format).unwrap_or_default(),
        })
    }
}

fn parent(p: &Path) -> PathBuf {
    p.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn read_token(path: &Path) -> Result<String, ConfigError> {
    let t = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(t.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> LocalHost {
        LocalHost {
            hostname: "ws1".into(),
            addresses: vec!["10.1.2.3".into()],
        }
    }

    fn parse(text: &str) -> ConfigFile {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults() {
        let c = Config::resolve(
            &Flags::default(),
            ConfigFile::default(),
            Path::new("."),
            Some("t0k".into()),
            &host(),
        )
        .unwrap();
        assert_eq!(c.controller_url, DEFAULT_CONTROLLER_URL);
        assert_eq!(c.name, "ws1");
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(c.eps.len(), 1);
        assert_eq!(c.eps[0].name, "EP-ws1");
        assert!(c.eps[0].enabled);
        assert_eq!(c.token.expose(), "t0k");
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn token_is_required_and_never_shown() {
        let e = Config::resolve(
            &Flags::default(),
            ConfigFile::default(),
            Path::new("."),
            None,
            &host(),
        );
        assert!(matches!(e, Err(ConfigError::NoToken)));
        let c = Config::resolve(
            &Flags::default(),
            parse("token = 'sekrit'"),
            Path::new("."),
            None,
            &host(),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("sekrit"));
    }

    #[test]
    fn file_and_flags() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "from-file\n").unwrap();
        let file = parse(
            r#"
            controller_url = "https://ctl.example:8443/"
            token_file = "tok"
            name = "bench-7"
            data_dir = "/var/lib/twister-station"
            log_format = "json"
            [[ep]]
            name = "EP-A"
            tags = ["linux", "lab1"]
            [[ep]]
            name = "EP-B"
            enabled = false
            "#,
        );
        let c = Config::resolve(&Flags::default(), file.clone(), dir.path(), None, &host()).unwrap();
        assert_eq!(c.controller_url, "https://ctl.example:8443");
        assert_eq!(c.token.expose(), "from-file");
        assert_eq!(c.name, "bench-7");
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.eps.len(), 2);
        assert_eq!(c.eps[0].tags, ["linux", "lab1"]);
        assert!(!c.eps[1].enabled);

        // The environment beats the file; flags beat both.
        let c = Config::resolve(
            &Flags::default(),
            file.clone(),
            dir.path(),
            Some("env".into()),
            &host(),
        )
        .unwrap();
        assert_eq!(c.token.expose(), "env");
        std::fs::write(dir.path().join("tok2"), "flag").unwrap();
        let flags = Flags::parse_from([
            "twister-station",
            "--controller-url",
            "http://10.0.0.1:9000",
            "--name",
            "other",
            "--data-dir",
            "/tmp/x",
            "--token-file",
            dir.path().join("tok2").to_str().unwrap(),
            "--ep",
            "EP-1",
            "--ep",
            "EP-2",
            "--log-format",
            "text",
        ]);
        let c = Config::resolve(&flags, file, dir.path(), Some("env".into()), &host()).unwrap();
        assert_eq!(c.controller_url, "http://10.0.0.1:9000");
        assert_eq!(c.token.expose(), "flag");
        assert_eq!(c.name, "other");
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        let names: Vec<&str> = c.eps.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["EP-1", "EP-2"]);
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn epname_ini_gives_eps_and_controller() {
        let dir = tempfile::tempdir().unwrap();
        let ini = dir.path().join("epname.ini");
        std::fs::write(
            &ini,
            "[EP-1001]\nCE_IP=10.9.9.9\nCE_PORT=8001\n[EP-far]\nEP_HOST=elsewhere\n[SNIFF]\nENABLED=1\n",
        )
        .unwrap();
        let flags = Flags {
            epname_ini: Some(ini.clone()),
            ..Flags::default()
        };
        let c = Config::resolve(
            &flags,
            parse("[[ep]]\nname='X'"),
            dir.path(),
            Some("t".into()),
            &host(),
        )
        .unwrap();
        let names: Vec<&str> = c.eps.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["EP-1001"]);
        assert_eq!(c.controller_url, "http://10.9.9.9:8001");

        // A configured controller URL wins over CE_IP; [[ep]] wins over the file's own epname_ini.
        let file = parse("controller_url='http://c:1'\nepname_ini='epname.ini'\n[[ep]]\nname='X'");
        let c = Config::resolve(&Flags::default(), file, dir.path(), Some("t".into()), &host()).unwrap();
        assert_eq!(c.controller_url, "http://c:1");
        assert_eq!(c.eps[0].name, "X");
        let file = parse("epname_ini='epname.ini'");
        let c = Config::resolve(&Flags::default(), file, dir.path(), Some("t".into()), &host()).unwrap();
        assert_eq!(c.eps[0].name, "EP-1001");
        assert!(c.capture.is_none(), "the sniffer section names no interface");

        // The original [PACKETSNIFFERPLUGIN] section turns the sniffer on, unless station.toml has [capture].
        std::fs::write(
            &ini,
            "[PACKETSNIFFERPLUGIN]\nENABLED=1\nETH_INTERFACE=veth7\n[EP-1001]\nCE_IP=10.9.9.9\n",
        )
        .unwrap();
        let file = parse("epname_ini='epname.ini'");
        let c = Config::resolve(&Flags::default(), file, dir.path(), Some("t".into()), &host()).unwrap();
        assert_eq!(c.capture.expect("sniffer").interfaces, ["veth7"]);
        let file = parse("epname_ini='epname.ini'\n[capture]\ninterfaces=['eth9']");
        let c = Config::resolve(&Flags::default(), file, dir.path(), Some("t".into()), &host()).unwrap();
        assert_eq!(c.capture.expect("sniffer").interfaces, ["eth9"]);
    }

    #[test]
    fn invalid_values() {
        let bad = [
            "controller_url = 'ftp://x'",
            "[[ep]]\nname = 'A'\n[[ep]]\nname = 'A'",
            "[[ep]]\nname = ''",
        ];
        for text in bad {
            let r = Config::resolve(
                &Flags::default(),
                parse(text),
                Path::new("."),
                Some("t".into()),
                &host(),
            );
            assert!(matches!(r, Err(ConfigError::Invalid(_))), "{text}");
        }
        assert!(toml::from_str::<ConfigFile>("unknown_key = 1").is_err());
    }

    #[test]
    fn the_example_file_parses() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/station.toml");
        let f = ConfigFile::read(&p).unwrap();
        assert!(!f.eps.is_empty());
    }
}

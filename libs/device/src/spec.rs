//! What it takes to open a session with one device, built from the device's inventory properties.
//!
//! The inventory (held by the controller) gives each device a flat map of string properties; this module reads
//! them, says clearly which one is missing or invalid, and opens the session. It knows nothing of the controller:
//! callers fetch the properties (with secrets revealed) and hand them over.
//!
//! | property | meaning |
//! | --- | --- |
//! | `protocol` | `ssh` (default), `telnet` or `tcp` |
//! | `host` | address or name (required) |
//! | `port` | TCP port (default 22 for SSH, 23 for Telnet; required for `tcp`) |
//! | `user` | login name (required for SSH) |
//! | `password` | login password (secret) |
//! | `key_file` | SSH private key file on the machine that connects |
//! | `private_key` | SSH private key itself, OpenSSH PEM text (secret) |
//! | `key_passphrase` | passphrase of the key (secret) |
//! | `profile` | device profile: a built-in name or a `.toml` file path (required) |
//! | `host_key_fingerprint` | pinned SSH host key, `SHA256:...` as `ssh-keygen -lf` prints it |
//! | `host_key_policy` | `accept-new` (default), `known-hosts` or `accept-any`, when no fingerprint is pinned |
//! | `known_hosts` | known_hosts file for those policies (default `~/.ssh/known_hosts`) |
//! | `enable_secret` | secret for privileged mode (secret; the login password when absent) |
//! | `jump_host` | SSH bastion: the inventory path of another device (`/lab/bastion`) |
//! | `timeout` | seconds allowed for connecting, logging in and each command (default 30) |

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::profile::Profile;
use crate::session::{Credentials, Session, SessionOptions};
use crate::ssh::{HostKeyPolicy, SshAuth, SshOptions, SshStream};
use crate::telnet::{TelnetOptions, TelnetStream};

/// A property that is missing or does not make sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A required property is absent (or empty).
    #[error("{device}: property {property:?} is missing ({why})")]
    Missing {
        /// Device path.
        device: String,
        /// Property name.
        property: &'static str,
        /// What it is needed for.
        why: &'static str,
    },
    /// A property has a value that cannot be used.
    #[error("{device}: property {property:?} = {value:?} is invalid: {why}")]
    Invalid {
        /// Device path.
        device: String,
        /// Property name.
        property: &'static str,
        /// The value (never a secret's).
        value: String,
        /// Why.
        why: String,
    },
}

/// How the device is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// SSH with a shell channel.
    Ssh,
    /// Telnet (RFC 854).
    Telnet,
    /// Raw TCP (console servers).
    Tcp,
}

impl Protocol {
    /// Its name in the inventory.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Ssh => "ssh",
            Protocol::Telnet => "telnet",
            Protocol::Tcp => "tcp",
        }
    }
}

/// Everything needed to open a session with one device.
#[derive(Clone)]
pub struct SessionSpec {
    /// Inventory path (for messages).
    pub device: String,
    /// Transport.
    pub protocol: Protocol,
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Login name.
    pub user: Option<String>,
    /// Login password.
    pub password: Option<String>,
    /// SSH private key file.
    pub key_file: Option<PathBuf>,
    /// SSH private key text.
    pub private_key: Option<String>,
    /// Key passphrase.
    pub key_passphrase: Option<String>,
    /// Profile name or file as given.
    pub profile_name: String,
    /// The compiled profile.
    pub profile: Profile,
    /// SSH host-key check.
    pub host_key: HostKeyPolicy,
    /// Privileged-mode secret.
    pub enable_secret: Option<String>,
    /// Inventory path of the SSH bastion, if any.
    pub jump_host: Option<String>,
    /// Timeout for connecting, logging in and each command.
    pub timeout: Duration,
}

impl std::fmt::Debug for SessionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSpec")
            .field("device", &self.device)
            .field("protocol", &self.protocol)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("profile", &self.profile_name)
            .field("jump_host", &self.jump_host)
            .finish_non_exhaustive()
    }
}

fn get<'a>(props: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    props.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

impl SessionSpec {
    /// Reads a device's properties (secret ones revealed). `device` is its inventory path, used in errors.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// let props: BTreeMap<String, String> = [("host", "10.0.0.1"), ("user", "admin"),
    ///     ("password", "pw"), ("profile", "cisco-ios")]
    ///     .into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    /// let spec = twister_device::SessionSpec::from_properties("/tb1/dut1", &props).unwrap();
    /// assert_eq!(spec.port, 22);
    /// ```
    pub fn from_properties(device: &str, props: &BTreeMap<String, String>) -> Result<SessionSpec, SpecError> {
        let missing = |property: &'static str, why: &'static str| SpecError::Missing {
            device: device.to_string(),
            property,
            why,
        };
        let invalid = |property: &'static str, value: &str, why: String| SpecError::Invalid {
            device: device.to_string(),
            property,
            value: value.to_string(),
            why,
        };
        let protocol = match get(props, "protocol")
            .unwrap_or("ssh")
            .to_ascii_lowercase()
            .as_str()
        {
            "ssh" => Protocol::Ssh,
            "telnet" => Protocol::Telnet,
            "tcp" | "raw" => Protocol::Tcp,
            other => return Err(invalid("protocol", other, "one of ssh, telnet, tcp".into())),
        };
        let host = get(props, "host")
            .ok_or_else(|| missing("host", "the address to connect to"))?
            .to_string();
        let port = match get(props, "port") {
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => return Err(invalid("port", p, "a TCP port, 1 to 65535".into())),
            },
            None => match protocol {
                Protocol::Ssh => 22,
                Protocol::Telnet => 23,
                Protocol::Tcp => return Err(missing("port", "raw TCP has no default port")),
            },
        };
        let user = get(props, "user")
            .or_else(|| get(props, "username"))
            .map(str::to_string);
        let password = get(props, "password").map(str::to_string);
        let key_file = get(props, "key_file").map(PathBuf::from);
        let private_key = props.get("private_key").filter(|k| !k.trim().is_empty()).cloned();
        let key_passphrase = get(props, "key_passphrase").map(str::to_string);
        if protocol == Protocol::Ssh {
            if user.is_none() {
                return Err(missing("user", "SSH logs in as a named user"));
            }
            if password.is_none() && key_file.is_none() && private_key.is_none() {
                return Err(missing(
                    "password",
                    "SSH needs a password, key_file or private_key",
                ));
            }
        }
        let profile_name = get(props, "profile")
            .ok_or_else(|| missing("profile", "prompts and modes of the device's command line"))?
            .to_string();
        let profile = if profile_name.ends_with(".toml") {
            Profile::from_file(std::path::Path::new(&profile_name))
        } else {
            Profile::builtin(&profile_name)
        }
        .map_err(|e| invalid("profile", &profile_name, e.to_string()))?;
        let known_hosts = get(props, "known_hosts").map(PathBuf::from).unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/root"))
                .join(".ssh/known_hosts")
        });
        let host_key = match get(props, "host_key_fingerprint") {
            Some(fp) => {
                if !fp.starts_with("SHA256:") {
                    return Err(invalid(
                        "host_key_fingerprint",
                        fp,
                        "expected SHA256:... as `ssh-keygen -lf` prints".into(),
                    ));
                }
                HostKeyPolicy::Fingerprint(fp.to_string())
            }
            None => match get(props, "host_key_policy").unwrap_or("accept-new") {
                "accept-new" => HostKeyPolicy::AcceptNew(known_hosts),
                "known-hosts" => HostKeyPolicy::KnownHosts(known_hosts),
                "accept-any" => HostKeyPolicy::AcceptAny,
                other => {
                    return Err(invalid(
                        "host_key_policy",
                        other,
                        "one of accept-new, known-hosts, accept-any".into(),
                    ))
                }
            },
        };
        let jump_host = match get(props, "jump_host") {
            Some(j) if !j.starts_with('/') => {
                return Err(invalid(
                    "jump_host",
                    j,
                    "the inventory path of the bastion device (starting with /)".into(),
                ))
            }
            Some(_) if protocol == Protocol::Tcp => {
                return Err(invalid(
                    "jump_host",
                    get(props, "jump_host").unwrap_or_default(),
                    "a raw TCP console cannot be reached through an SSH bastion here".into(),
                ))
            }
            j => j.map(str::to_string),
        };
        let timeout = match get(props, "timeout") {
            Some(t) => match t.parse::<f64>() {
                Ok(s) if s > 0.0 && s < 86_400.0 => Duration::from_secs_f64(s),
                _ => return Err(invalid("timeout", t, "seconds, more than 0".into())),
            },
            None => Duration::from_secs(30),
        };
        Ok(SessionSpec {
            device: device.to_string(),
            protocol,
            host,
            port,
            user,
            password,
            key_file,
            private_key,
            key_passphrase,
            profile_name,
            profile,
            host_key,
            enable_secret: get(props, "enable_secret").map(str::to_string),
            jump_host,
            timeout,
        })
    }

    /// The secret values of this spec (passwords, key, passphrase), for masking transcripts.
    pub fn secrets(&self) -> Vec<String> {
        [
            &self.password,
            &self.enable_secret,
            &self.key_passphrase,
            &self.private_key,
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect()
    }

    /// The login credentials the session answers prompts with.
    pub fn credentials(&self) -> Credentials {
        Credentials {
            username: self.user.clone(),
            password: self.password.clone(),
            enable: self.enable_secret.clone(),
        }
    }

    /// Session settings (the spec's timeout).
    pub fn session_options(&self) -> SessionOptions {
        SessionOptions {
            timeout: self.timeout,
            ..SessionOptions::default()
        }
    }

    /// SSH settings for this device.
    pub fn ssh_options(&self) -> crate::Result<SshOptions> {
        let auth = if let Some(path) = &self.key_file {
            SshAuth::KeyFile {
                path: path.clone(),
                passphrase: self.key_passphrase.clone(),
            }
        } else if let Some(key) = &self.private_key {
            SshAuth::KeyText {
                key: key.clone(),
                passphrase: self.key_passphrase.clone(),
            }
        } else {
            SshAuth::Password(self.password.clone().unwrap_or_default())
        };
        Ok(SshOptions {
            host: self.host.clone(),
            port: self.port,
            username: self.user.clone().unwrap_or_default(),
            auth,
            host_key: self.host_key.clone(),
            timeout: self.timeout,
            cols: 511,
            rows: 24,
        })
    }

    /// Connects and logs in (without a bastion: see [`SessionSpec::open_via`]).
    pub async fn open(&self) -> crate::Result<Session> {
        self.open_via(None).await
    }

    /// Connects (through `jump`, the bastion's spec, when given), logs in, and returns the session. Every
    /// received and sent byte is also handed to `tap` when one is set (see [`crate::transcript`]).
    pub async fn open_via(&self, jump: Option<&SessionSpec>) -> crate::Result<Session> {
        self.open_tapped(jump, None).await
    }

    /// Like [`SessionSpec::open_via`], copying the traffic to `tap`.
    pub async fn open_tapped(
        &self,
        jump: Option<&SessionSpec>,
        tap: Option<crate::transcript::Tap>,
    ) -> crate::Result<Session> {
        let transport = self.connect(jump).await?;
        let transport: Box<dyn crate::Transport> = match tap {
            Some(tap) => Box::new(crate::transcript::Tapped::new(transport, tap)),
            None => transport,
        };
        Session::open(
            transport,
            self.profile.clone(),
            self.credentials(),
            self.session_options(),
        )
        .await
    }

    /// An SFTP session with the device (SSH devices only; through `jump` when given).
    pub async fn sftp(&self, jump: Option<&SessionSpec>) -> crate::Result<crate::sftp::Sftp> {
        if self.protocol != Protocol::Ssh {
            return Err(crate::Error::Transport(format!(
                "{}: SFTP needs protocol ssh, not {}",
                self.device,
                self.protocol.as_str()
            )));
        }
        let jump = jump.map(|j| j.ssh_options()).transpose()?;
        crate::sftp::Sftp::connect(&self.ssh_options()?, jump.as_ref()).await
    }

    /// The connected byte stream (SSH shell, Telnet, TCP), before any login prompt is answered.
    pub async fn connect(&self, jump: Option<&SessionSpec>) -> crate::Result<Box<dyn crate::Transport>> {
        let addr = format!("{}:{}", self.host, self.port);
        match (self.protocol, jump) {
            (Protocol::Ssh, None) => Ok(Box::new(SshStream::connect(&self.ssh_options()?).await?)),
            (Protocol::Ssh, Some(j)) => Ok(Box::new(
                SshStream::connect_via(&j.ssh_options()?, &self.ssh_options()?).await?,
            )),
            (Protocol::Telnet, None) => {
                let t = tokio::time::timeout(
                    self.timeout,
                    TelnetStream::connect(&addr, TelnetOptions::default()),
                )
                .await
                .map_err(|_| {
                    crate::Error::Transport(format!(
                        "connecting to {addr} timed out after {:?}",
                        self.timeout
                    ))
                })??;
                Ok(Box::new(t))
            }
            (Protocol::Telnet, Some(j)) => {
                let tunnel = SshStream::tunnel(&j.ssh_options()?, &self.host, self.port).await?;
                Ok(Box::new(TelnetStream::new(tunnel, TelnetOptions::default())))
            }
            (Protocol::Tcp, _) => Ok(Box::new(crate::tcp::connect(&addr, self.timeout).await?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_complete_ssh_device() {
        let p = props(&[
            ("host", "10.1.1.1"),
            ("user", "admin"),
            ("password", "pw"),
            ("profile", "cisco-ios"),
            ("host_key_fingerprint", "SHA256:abc"),
            ("enable_secret", "en"),
            ("timeout", "5"),
        ]);
        let s = SessionSpec::from_properties("/tb/r1", &p).unwrap();
        assert_eq!(s.protocol, Protocol::Ssh);
        assert_eq!(s.port, 22);
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert!(matches!(s.host_key, HostKeyPolicy::Fingerprint(ref f) if f == "SHA256:abc"));
        assert_eq!(s.secrets(), vec!["pw".to_string(), "en".to_string()]);
        assert!(!format!("{s:?}").contains("pw"));
    }

    #[test]
    fn telnet_defaults_and_no_user_needed() {
        let p = props(&[("protocol", "Telnet"), ("host", "h"), ("profile", "linux-shell")]);
        let s = SessionSpec::from_properties("/tb/r1", &p).unwrap();
        assert_eq!((s.protocol, s.port), (Protocol::Telnet, 23));
    }

    #[test]
    fn missing_and_invalid_properties_are_named() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("user", "u"), ("password", "p"), ("profile", "cisco-ios")],
                "\"host\" is missing",
            ),
            (
                &[("host", "h"), ("password", "p"), ("profile", "cisco-ios")],
                "\"user\" is missing",
            ),
            (
                &[("host", "h"), ("user", "u"), ("profile", "cisco-ios")],
                "\"password\" is missing",
            ),
            (
                &[("host", "h"), ("user", "u"), ("password", "p")],
                "\"profile\" is missing",
            ),
            (
                &[
                    ("host", "h"),
                    ("user", "u"),
                    ("password", "p"),
                    ("profile", "nope"),
                ],
                "\"profile\" = \"nope\" is invalid",
            ),
            (
                &[
                    ("host", "h"),
                    ("port", "99999"),
                    ("user", "u"),
                    ("password", "p"),
                    ("profile", "cisco-ios"),
                ],
                "\"port\" = \"99999\"",
            ),
            (
                &[("protocol", "serial"), ("host", "h")],
                "\"protocol\" = \"serial\"",
            ),
            (
                &[("protocol", "tcp"), ("host", "h"), ("profile", "cisco-ios")],
                "\"port\" is missing",
            ),
            (
                &[
                    ("host", "h"),
                    ("user", "u"),
                    ("password", "p"),
                    ("profile", "cisco-ios"),
                    ("host_key_fingerprint", "abc"),
                ],
                "host_key_fingerprint",
            ),
            (
                &[
                    ("host", "h"),
                    ("user", "u"),
                    ("password", "p"),
                    ("profile", "cisco-ios"),
                    ("jump_host", "bastion"),
                ],
                "jump_host",
            ),
            (
                &[
                    ("host", "h"),
                    ("user", "u"),
                    ("password", "p"),
                    ("profile", "cisco-ios"),
                    ("timeout", "-1"),
                ],
                "timeout",
            ),
        ];
        for (list, want) in cases {
            let e = SessionSpec::from_properties("/tb/r1", &props(list))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want) && e.starts_with("/tb/r1: "), "{e} lacks {want}");
        }
    }

    #[test]
    fn secrets_never_appear_in_errors() {
        let p = props(&[
            ("host", "h"),
            ("user", "u"),
            ("password", "hunter2"),
            ("profile", "x"),
        ]);
        let e = SessionSpec::from_properties("/d", &p).unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }
}

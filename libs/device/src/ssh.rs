//! SSH transport (russh): password, public-key and keyboard-interactive logins; host keys checked against
//! known_hosts, accepted when new, or pinned by fingerprint. The shell channel (with a pseudo-terminal) is an
//! `AsyncRead + AsyncWrite` stream.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use russh::client::{self, Handle, KeyboardInteractiveAuthResponse};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::ChannelStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::{Error, Result};

/// How the server's host key is checked.
#[derive(Debug, Clone)]
pub enum HostKeyPolicy {
    /// The key must be in this known_hosts file.
    KnownHosts(PathBuf),
    /// A key in the file must match; a host not in the file is accepted and added (trust on first use).
    AcceptNew(PathBuf),
    /// The key's SHA-256 fingerprint must be this (`SHA256:...`, as `ssh-keygen -lf` prints).
    Fingerprint(String),
    /// Any key is accepted (lab use only).
    AcceptAny,
}

/// How to log in.
#[derive(Clone)]
pub enum SshAuth {
    /// Password authentication.
    Password(String),
    /// Keyboard-interactive authentication, answering every prompt with this password.
    KeyboardInteractive(String),
    /// Public-key authentication with an OpenSSH private key file (and its passphrase, if any).
    KeyFile {
        /// The private key file.
        path: PathBuf,
        /// Its passphrase.
        passphrase: Option<String>,
    },
    /// Public-key authentication with the private key's text (OpenSSH PEM), e.g. from the inventory.
    KeyText {
        /// The key.
        key: String,
        /// Its passphrase.
        passphrase: Option<String>,
    },
}

impl std::fmt::Debug for SshAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SshAuth::Password(_) => f.write_str("Password(<hidden>)"),
            SshAuth::KeyboardInteractive(_) => f.write_str("KeyboardInteractive(<hidden>)"),
            SshAuth::KeyFile { path, .. } => write!(f, "KeyFile({})", path.display()),
            SshAuth::KeyText { .. } => f.write_str("KeyText(<hidden>)"),
        }
    }
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Login name.
    pub username: String,
    /// Authentication.
    pub auth: SshAuth,
    /// Host-key check.
    pub host_key: HostKeyPolicy,
    /// Time allowed for connecting and logging in.
    pub timeout: Duration,
    /// Terminal size requested.
    pub cols: u32,
    /// Terminal rows requested.
    pub rows: u32,
}

pub(crate) struct Checker {
    host: String,
    port: u16,
    policy: HostKeyPolicy,
    /// Why the key was rejected, for the error message.
    rejection: Arc<Mutex<Option<String>>>,
}

impl Checker {
    fn check(&self, key: &russh::keys::PublicKey) -> std::result::Result<(), String> {
        let fp = key.fingerprint(HashAlg::Sha256).to_string();
        match &self.policy {
            HostKeyPolicy::AcceptAny => Ok(()),
            HostKeyPolicy::Fingerprint(want) => {
                if want.trim() == fp {
                    Ok(())
                } else {
                    Err(format!("host key {fp} is not the pinned {want}"))
                }
            }
            HostKeyPolicy::KnownHosts(path) | HostKeyPolicy::AcceptNew(path) => {
                match russh::keys::check_known_hosts_path(&self.host, self.port, key, path) {
                    Ok(true) => Ok(()),
                    Ok(false) if matches!(self.policy, HostKeyPolicy::AcceptNew(_)) => {
                        russh::keys::known_hosts::learn_known_hosts_path(&self.host, self.port, key, path)
                            .map_err(|e| format!("adding the host key to {}: {e}", path.display()))
                    }
                    Ok(false) => Err(format!("host key {fp} is not in {}", path.display())),
                    Err(e) => Err(format!("host key {fp} rejected: {e}")),
                }
            }
        }
    }
}

impl client::Handler for Checker {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> std::result::Result<bool, Self::Error> {
        match self.check(&key.public_key()) {
            Ok(()) => Ok(true),
            Err(why) => {
                if let Ok(mut r) = self.rejection.lock() {
                    *r = Some(why);
                }
                Ok(false)
            }
        }
    }
}

/// An interactive shell over SSH, with a pseudo-terminal (or, from [`SshStream::tunnel`], a forwarded TCP
/// connection).
pub struct SshStream {
    stream: ChannelStream<client::Msg>,
    handle: Handle<Checker>,
    /// The bastion's connection, kept open as long as this one.
    jump: Option<Handle<Checker>>,
}

impl std::fmt::Debug for SshStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshStream").finish_non_exhaustive()
    }
}

fn transport(e: impl std::fmt::Display) -> Error {
    Error::Transport(format!("ssh: {e}"))
}

fn within<T>(
    timeout: Duration,
    what: &str,
    fut: impl std::future::Future<Output = Result<T>>,
) -> impl std::future::Future<Output = Result<T>> {
    let what = what.to_string();
    async move {
        tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| Error::Transport(format!("ssh: no session with {what} within {timeout:?}")))?
    }
}

fn config() -> Arc<client::Config> {
    Arc::new(client::Config {
        nodelay: true,
        ..client::Config::default()
    })
}

impl SshStream {
    /// Connect, check the host key, log in, and open a shell with a pseudo-terminal.
    pub async fn connect(opts: &SshOptions) -> Result<SshStream> {
        within(opts.timeout, &opts.host, async {
            let handle = login(opts, None).await?;
            shell(handle, None, opts).await
        })
        .await
    }

    /// Like [`SshStream::connect`], reaching the device through the SSH bastion `jump` (a direct-tcpip channel
    /// from the bastion to the device carries the device's SSH connection end to end).
    pub async fn connect_via(jump: &SshOptions, opts: &SshOptions) -> Result<SshStream> {
        let (handle, bastion) = connection(opts, Some(jump)).await?;
        within(opts.timeout, &opts.host, shell(handle, bastion, opts)).await
    }

    /// A TCP connection to `host:port` forwarded by the SSH server of `jump` (for Telnet through a bastion).
    pub async fn tunnel(jump: &SshOptions, host: &str, port: u16) -> Result<SshStream> {
        within(jump.timeout, &jump.host, async {
            let handle = login(jump, None).await?;
            let channel = handle
                .channel_open_direct_tcpip(host.to_string(), u32::from(port), "127.0.0.1", 0)
                .await
                .map_err(|e| {
                    Error::Transport(format!(
                        "ssh: bastion {} would not forward to {host}:{port}: {e}",
                        jump.host
                    ))
                })?;
            Ok(SshStream {
                stream: channel.into_stream(),
                handle,
                jump: None,
            })
        })
        .await
    }

    /// Opens another channel on the same connection running the `subsystem` (e.g. `sftp`).
    pub async fn subsystem(&self, subsystem: &str) -> Result<ChannelStream<client::Msg>> {
        let channel = self.handle.channel_open_session().await.map_err(transport)?;
        channel
            .request_subsystem(true, subsystem)
            .await
            .map_err(transport)?;
        Ok(channel.into_stream())
    }

    /// Close the connection.
    pub async fn disconnect(&self) -> Result<()> {
        let r = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "bye", "en")
            .await
            .map_err(transport);
        if let Some(j) = &self.jump {
            let _ = j.disconnect(russh::Disconnect::ByApplication, "bye", "en").await;
        }
        r
    }
}

/// A logged-in connection (through a bastion when `jump` is given), without any channel yet.
pub(crate) async fn connection(
    opts: &SshOptions,
    jump: Option<&SshOptions>,
) -> Result<(Handle<Checker>, Option<Handle<Checker>>)> {
    match jump {
        None => within(opts.timeout, &opts.host, login(opts, None))
            .await
            .map(|h| (h, None)),
        Some(jump) => {
            within(opts.timeout + jump.timeout, &opts.host, async {
                let bastion = within(jump.timeout, &jump.host, login(jump, None)).await?;
                let channel = bastion
                    .channel_open_direct_tcpip(opts.host.clone(), u32::from(opts.port), "127.0.0.1", 0)
                    .await
                    .map_err(|e| {
                        Error::Transport(format!(
                            "ssh: bastion {} would not forward to {}:{}: {e}",
                            jump.host, opts.host, opts.port
                        ))
                    })?;
                let handle = login(opts, Some(channel.into_stream())).await?;
                Ok((handle, Some(bastion)))
            })
            .await
        }
    }
}

/// Connects (over `stream` when given, else TCP), checks the host key and authenticates.
async fn login(opts: &SshOptions, stream: Option<ChannelStream<client::Msg>>) -> Result<Handle<Checker>> {
    let rejection = Arc::new(Mutex::new(None));
    let checker = Checker {
        host: opts.host.clone(),
        port: opts.port,
        policy: opts.host_key.clone(),
        rejection: rejection.clone(),
    };
    let connected = match stream {
        Some(s) => client::connect_stream(config(), s, checker).await,
        None => client::connect(config(), (opts.host.as_str(), opts.port), checker).await,
    };
    let mut handle = match connected {
        Ok(h) => h,
        Err(e) => {
            let why = rejection.lock().ok().and_then(|mut r| r.take());
            return Err(match why {
                Some(why) => Error::Auth(why),
                None => transport(e),
            });
        }
    };
    let user = opts.username.clone();
    let ok = match &opts.auth {
        SshAuth::Password(pw) => handle
            .authenticate_password(user, pw.clone())
            .await
            .map_err(transport)?
            .success(),
        SshAuth::KeyFile { path, passphrase } => {
            let key = russh::keys::load_secret_key(path, passphrase.as_deref())
                .map_err(|e| Error::Auth(format!("loading {}: {e}", path.display())))?;
            publickey(&mut handle, user, key).await?
        }
        SshAuth::KeyText { key, passphrase } => {
            let key = russh::keys::decode_secret_key(key, passphrase.as_deref())
                .map_err(|e| Error::Auth(format!("reading the private key: {e}")))?;
            publickey(&mut handle, user, key).await?
        }
        SshAuth::KeyboardInteractive(pw) => {
            let mut resp = handle
                .authenticate_keyboard_interactive_start(user, None)
                .await
                .map_err(transport)?;
            let mut rounds = 0;
            loop {
                match resp {
                    KeyboardInteractiveAuthResponse::Success => break true,
                    KeyboardInteractiveAuthResponse::Failure { .. } => break false,
                    KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                        rounds += 1;
                        if rounds > 5 {
                            break false;
                        }
                        let answers = prompts.iter().map(|_| pw.clone()).collect();
                        resp = handle
                            .authenticate_keyboard_interactive_respond(answers)
                            .await
                            .map_err(transport)?;
                    }
                }
            }
        }
    };
    if !ok {
        return Err(Error::Auth(format!(
            "{} refused the login of {}",
            opts.host, opts.username
        )));
    }
    Ok(handle)
}

async fn publickey(handle: &mut Handle<Checker>, user: String, key: russh::keys::PrivateKey) -> Result<bool> {
    let hash = handle
        .best_supported_rsa_hash()
        .await
        .map_err(transport)?
        .flatten();
    let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
    Ok(handle
        .authenticate_publickey(user, key)
        .await
        .map_err(transport)?
        .success())
}

async fn shell(
    handle: Handle<Checker>,
    jump: Option<Handle<Checker>>,
    opts: &SshOptions,
) -> Result<SshStream> {
    let channel = handle.channel_open_session().await.map_err(transport)?;
    channel
        .request_pty(true, "vt100", opts.cols, opts.rows, 0, 0, &[])
        .await
        .map_err(transport)?;
    channel.request_shell(true).await.map_err(transport)?;
    Ok(SshStream {
        stream: channel.into_stream(),
        handle,
        jump,
    })
}

impl AsyncRead for SshStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

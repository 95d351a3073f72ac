//! SFTP over SSH (the `sftp` subsystem): copy configuration files and images to and from a device, streamed in
//! bounded memory.

use std::path::Path;

use russh::client::Handle;
use russh_sftp::client::SftpSession;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::ssh::{connection, Checker, SshOptions};

/// An SFTP session on its own SSH connection.
pub struct Sftp {
    session: SftpSession,
    handle: Handle<Checker>,
    /// The bastion's connection, kept open as long as this one.
    _jump: Option<Handle<Checker>>,
}

impl std::fmt::Debug for Sftp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sftp").finish_non_exhaustive()
    }
}

fn sftp_err(what: String) -> impl FnOnce(russh_sftp::client::error::Error) -> Error {
    move |e| Error::Transport(format!("sftp: {what}: {e}"))
}

impl Sftp {
    /// Connects and logs in (through `jump` when given) and starts the `sftp` subsystem.
    pub async fn connect(opts: &SshOptions, jump: Option<&SshOptions>) -> Result<Sftp> {
        let (handle, jump) = connection(opts, jump).await?;
        let run = async {
            let channel = handle
                .channel_open_session()
                .await
                .map_err(|e| Error::Transport(format!("ssh: {e}")))?;
            channel
                .request_subsystem(true, "sftp")
                .await
                .map_err(|e| Error::Transport(format!("ssh: sftp subsystem: {e}")))?;
            SftpSession::new(channel.into_stream())
                .await
                .map_err(sftp_err(format!("starting on {}", opts.host)))
        };
        let session = tokio::time::timeout(opts.timeout, run).await.map_err(|_| {
            Error::Transport(format!(
                "sftp: no session with {} within {:?}",
                opts.host, opts.timeout
            ))
        })??;
        Ok(Sftp {
            session,
            handle,
            _jump: jump,
        })
    }

    /// Copies the local file `local` to `remote` (created or truncated); returns the bytes copied.
    pub async fn put(&self, local: &Path, remote: &str) -> Result<u64> {
        let mut src = tokio::fs::File::open(local).await?;
        let mut dst = self
            .session
            .create(remote)
            .await
            .map_err(sftp_err(format!("creating {remote}")))?;
        let n = tokio::io::copy(&mut src, &mut dst).await?;
        dst.shutdown().await?;
        Ok(n)
    }

    /// Copies `remote` to the local file `local` (created or truncated); returns the bytes copied.
    pub async fn get(&self, remote: &str, local: &Path) -> Result<u64> {
        let mut src = self
            .session
            .open(remote)
            .await
            .map_err(sftp_err(format!("opening {remote}")))?;
        let mut dst = tokio::fs::File::create(local).await?;
        let n = tokio::io::copy(&mut src, &mut dst).await?;
        dst.flush().await?;
        Ok(n)
    }

    /// Size of a remote file.
    pub async fn size(&self, remote: &str) -> Result<u64> {
        let m = self
            .session
            .metadata(remote)
            .await
            .map_err(sftp_err(format!("stat {remote}")))?;
        Ok(m.size.unwrap_or(0))
    }

    /// Ends the session and the connection.
    pub async fn close(self) -> Result<()> {
        let _ = self.session.close().await;
        let _ = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "bye", "en")
            .await;
        Ok(())
    }
}

//! Devices of the inventory as session specs: read a device's properties from the controller (secrets revealed,
//! which needs `reveal_secrets`), build its [`SessionSpec`] and its bastion's, and copy session transcripts to a
//! run's logs (kind `device`) with secrets masked.

use std::collections::BTreeMap;

use tokio::sync::mpsc::UnboundedReceiver;
use twister_device::transcript::{Direction, Masker, Tap, Transcript};
use twister_device::{SessionSpec, SpecError};

use crate::{Client, ClientError};

/// Why a device could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The controller refused or failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The device's properties are incomplete or invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The bastion named by `jump_host` is itself reached through a bastion (one hop only).
    #[error("{device}: its jump host {jump} has a jump_host of its own; only one hop is supported")]
    NestedJump {
        /// The device.
        device: String,
        /// Its bastion.
        jump: String,
    },
}

/// A device ready to connect to: its spec and, when it has one, its bastion's.
#[derive(Debug, Clone)]
pub struct Device {
    /// The device.
    pub spec: SessionSpec,
    /// Its SSH bastion.
    pub jump: Option<SessionSpec>,
}

impl Device {
    /// Every secret of the device and its bastion (for masking).
    pub fn secrets(&self) -> Vec<String> {
        let mut s = self.spec.secrets();
        if let Some(j) = &self.jump {
            s.extend(j.secrets());
        }
        s
    }
}

/// Whether an inventory node is a device one can connect to (it has a `host` property).
pub fn is_device(properties: &BTreeMap<String, String>) -> bool {
    properties.contains_key("host")
}

/// A device's properties as the inventory holds them (secrets revealed), and its bastion's when it has a
/// `jump_host`; the device's path as the controller spells it.
pub type DeviceProperties = (String, BTreeMap<String, String>, Option<BTreeMap<String, String>>);

/// Reads the properties of the device at `path` and of its bastion.
pub async fn properties(client: &Client, path: &str) -> Result<DeviceProperties, DeviceError> {
    let node = client.node(path, true).await?;
    let jump = match node
        .properties
        .get("jump_host")
        .map(|j| j.trim())
        .filter(|j| j.starts_with('/'))
    {
        Some(j) => Some(client.node(j, true).await?.properties),
        None => None,
    };
    Ok((node.path, node.properties, jump))
}

/// Builds the device and its bastion from their properties.
pub fn from_properties(p: &DeviceProperties) -> Result<Device, DeviceError> {
    let (path, props, jump) = p;
    let spec = SessionSpec::from_properties(path, props)?;
    let jump = match (&spec.jump_host, jump) {
        (Some(j), Some(jp)) => {
            let js = SessionSpec::from_properties(j, jp)?;
            if js.jump_host.is_some() {
                return Err(DeviceError::NestedJump {
                    device: spec.device.clone(),
                    jump: j.clone(),
                });
            }
            Some(js)
        }
        _ => None,
    };
    Ok(Device { spec, jump })
}

/// Reads the device at `path` (and its bastion) from the inventory.
pub async fn device(client: &Client, path: &str) -> Result<Device, DeviceError> {
    from_properties(&properties(client, path).await?)
}

/// Paths of the devices in the subtree at `root` (the root itself included when it is one).
pub async fn devices_under(client: &Client, root: &str) -> Result<Vec<String>, ClientError> {
    let nodes = client.tree(Some(root)).await?;
    Ok(nodes
        .into_iter()
        .filter(|n| is_device(&n.properties))
        .map(|n| n.path)
        .collect())
}

/// Where a transcript goes: a run's logs, when the process runs inside a test (`TWISTER_RUN` set).
pub struct RunTranscript {
    rx: UnboundedReceiver<(Direction, Vec<u8>)>,
    transcript: Transcript,
    device: String,
}

impl std::fmt::Debug for RunTranscript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunTranscript")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl RunTranscript {
    /// A tap for the session and the transcript that reads it, masking `secrets`.
    pub fn new(device: &str, secrets: Vec<String>) -> (Tap, RunTranscript) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let t = RunTranscript {
            rx,
            transcript: Transcript::new(Masker::new(secrets)),
            device: device.to_string(),
        };
        (tx, t)
    }

    /// The lines recorded so far (`DEVICE > sent`, `DEVICE < received`), incomplete ones included when
    /// `end` is set.
    pub fn lines(&mut self, end: bool) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok((dir, bytes)) = self.rx.try_recv() {
            out.extend(self.transcript.push(dir, &bytes));
        }
        if end {
            out.extend(self.transcript.flush());
        }
        out.into_iter().map(|l| format!("{} {l}", self.device)).collect()
    }

    /// Posts the lines recorded so far to the run's `device` log.
    pub async fn post(&mut self, client: &Client, run: &str, end: bool) -> Result<(), ClientError> {
        post_lines(client, run, self.lines(end)).await
    }
}

/// Posts transcript lines to the run's `device` log, in calls of at most 60 KiB.
pub async fn post_lines(client: &Client, run: &str, lines: Vec<String>) -> Result<(), ClientError> {
    let mut chunk = String::new();
    for l in lines {
        if !chunk.is_empty() && chunk.len() + l.len() > 60 * 1024 {
            client.log_line(run, &chunk, "device").await?;
            chunk.clear();
        }
        // A single line longer than the limit is cut: the log keeps its start.
        let l: String = l.chars().take(16 * 1024).collect();
        chunk.push_str(&l);
        chunk.push('\n');
    }
    if !chunk.is_empty() {
        client
            .log_line(run, chunk.trim_end_matches('\n'), "device")
            .await?;
    }
    Ok(())
}

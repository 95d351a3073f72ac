//! Raw TCP transport (console servers' reverse-TCP ports, devices without Telnet negotiation).

use std::time::Duration;

use tokio::net::TcpStream;

use crate::error::{Error, Result};

/// Connect to `addr` (`host:port`) within `timeout`; Nagle is off (interactive traffic).
pub async fn connect(addr: &str, timeout: Duration) -> Result<TcpStream> {
    let tcp = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| Error::Transport(format!("connecting to {addr} timed out after {timeout:?}")))??;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

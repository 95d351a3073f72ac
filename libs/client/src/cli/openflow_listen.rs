//! Where the OpenFlow commands (`conform`, `controller`) wait for switches: one or more listen addresses
//! (6653, and the legacy 6633 for switches that still dial it) and optional TLS, mutual when a CA is given.

use std::path::PathBuf;

use clap::Args;
use twister_openflow::channel::{tls, ChannelConfig, Controller};

use super::Failure;

/// Listen flags shared by the OpenFlow commands.
#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    /// Address switches connect to; repeat it to listen on several (e.g. `--listen 0.0.0.0:6653 --listen
    /// 0.0.0.0:6633`).
    #[arg(long = "listen", default_value = "127.0.0.1:6653")]
    pub listen: Vec<String>,
    /// Our TLS certificate (PEM, leaf first). With it switches must connect with TLS (Open vSwitch:
    /// `ssl:IP:PORT` and `ovs-vsctl set-ssl`).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// CA whose certificates switches must present (mutual TLS, what Open vSwitch expects); without it any
    /// TLS client is served.
    #[arg(long, requires = "tls_cert")]
    pub tls_ca: Option<PathBuf>,
}

impl ListenArgs {
    /// Listens on every address with the channel settings for `versions`.
    pub async fn bind(&self, versions: &[u8]) -> Result<Controller, Failure> {
        let mut config = ChannelConfig::with_versions(versions);
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            let tls = tls::server_config(cert, key, self.tls_ca.as_deref())
                .map_err(|e| Failure::usage(e.to_string()))?;
            config.tls = Some(tls);
        }
        let Some((first, rest)) = self.listen.split_first() else {
            return Err(Failure::usage("--listen: give at least one address"));
        };
        let cannot = |addr: &str, e: twister_openflow::channel::ChannelError| {
            Failure::other(format!("cannot listen on {addr}: {e}"))
        };
        let mut controller = Controller::bind(first.as_str(), config)
            .await
            .map_err(|e| cannot(first, e))?;
        for addr in rest {
            controller
                .listen_also(addr.as_str())
                .await
                .map_err(|e| cannot(addr, e))?;
        }
        Ok(controller)
    }

    /// What to print: the addresses bound and whether TLS is on.
    pub fn describe(&self, controller: &Controller) -> String {
        let addrs: Vec<String> = controller.local_addrs().iter().map(|a| a.to_string()).collect();
        let tls = match (&self.tls_cert, &self.tls_ca) {
            (None, _) => "",
            (Some(_), None) => " (TLS)",
            (Some(_), Some(_)) => " (TLS, switch certificates checked)",
        };
        format!("{}{tls}", addrs.join(", "))
    }
}

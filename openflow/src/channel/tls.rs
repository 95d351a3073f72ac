//! TLS for the controller channel: our certificate and key from PEM files and, optionally, the CA whose
//! certificates switches must present (mutual TLS, as Open vSwitch's `ssl:` controller targets expect).
//!
//! ```no_run
//! # fn main() -> Result<(), twister_openflow::channel::ChannelError> {
//! use std::path::Path;
//! use twister_openflow::channel::{tls, ChannelConfig};
//! let config = ChannelConfig {
//!     tls: Some(tls::server_config(
//!         Path::new("ctl-cert.pem"),
//!         Path::new("ctl-key.pem"),
//!         Some(Path::new("switch-ca.pem")),
//!     )?),
//!     ..ChannelConfig::default()
//! };
//! # let _ = config; Ok(()) }
//! ```

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use super::ChannelError;

fn certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, ChannelError> {
    let fail = |m: String| ChannelError::Tls(format!("{what} {}: {m}", path.display()));
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if chain.is_empty() {
        return Err(fail("no CERTIFICATE block in the file".into()));
    }
    Ok(chain)
}

/// A server configuration presenting `cert` (PEM chain, leaf first) with `key`; with `client_ca`, switches
/// must present a certificate signed by one of its CAs, otherwise any client is accepted.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<rustls::ServerConfig>, ChannelError> {
    let chain = certs(cert, "certificate")?;
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| ChannelError::Tls(format!("private key {}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ChannelError::Tls(e.to_string()))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs(ca, "client CA")? {
                roots
                    .add(c)
                    .map_err(|e| ChannelError::Tls(format!("client CA {}: {e}", ca.display())))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| ChannelError::Tls(format!("client CA {}: {e}", ca.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(chain, key_der)
        .map_err(|e| ChannelError::Tls(format!("certificate and key: {e}")))?;
    Ok(Arc::new(config))
}

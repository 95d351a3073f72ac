//! Which certificate authorities the station trusts for `https://` / `wss://` controllers: the public web
//! roots, plus a lab's own CA from `ca_file` (PEM, one or more certificates).
//!
//! The same roots serve the link (WebSocket), file downloads, and, through `TWISTER_CA_FILE` in their
//! environment, the tests' own calls to the controller.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// Environment variable that names the CA file for test processes and the `twister` tool.
pub const CA_FILE_ENV: &str = "TWISTER_CA_FILE";

/// Why a CA file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("ca_file {path}: {message}")]
pub struct TrustError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

/// The trusted roots.
#[derive(Debug, Clone, Default)]
pub struct TrustRoots {
    ca_file: Option<PathBuf>,
    extra: Vec<CertificateDer<'static>>,
}

impl TrustRoots {
    /// The public web roots only.
    pub fn public() -> TrustRoots {
        TrustRoots::default()
    }

    /// The public web roots plus every certificate in the PEM file `path` (made absolute, so that tests
    /// running in other directories can be handed it).
    pub fn with_ca_file(path: &Path) -> Result<TrustRoots, TrustError> {
        let err = |message: String| TrustError {
            path: path.to_path_buf(),
            message,
        };
        let extra = CertificateDer::pem_file_iter(path)
            .map_err(|e| err(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(e.to_string()))?;
        if extra.is_empty() {
            return Err(err("no CERTIFICATE block in the file".into()));
        }
        let mut roots = rustls::RootCertStore::empty();
        for c in &extra {
            roots
                .add(c.clone())
                .map_err(|e| err(format!("not a usable CA certificate: {e}")))?;
        }
        let abs = std::path::absolute(path).map_err(|e| err(e.to_string()))?;
        Ok(TrustRoots {
            ca_file: Some(abs),
            extra,
        })
    }

    /// The CA file, when one was given.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// A rustls client configuration (ring) trusting these roots, for the WebSocket link.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TrustError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for c in &self.extra {
            // Each certificate was checked when the file was read.
            let _ = roots.add(c.clone());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TrustError {
                path: self.ca_file.clone().unwrap_or_default(),
                message: e.to_string(),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }

    /// Adds the extra roots to an HTTP client under construction (file downloads).
    pub fn apply(&self, mut builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        for c in &self.extra {
            if let Ok(cert) = reqwest::Certificate::from_der(c.as_ref()) {
                builder = builder.add_root_certificate(cert);
            }
        }
        builder
    }
}

/// Turns a connection error into advice when it is about the controller's certificate.
pub fn explain(error: &str) -> Option<&'static str> {
    let e = error.to_ascii_lowercase();
    if e.contains("certificate") || e.contains("unknownissuer") {
        Some(
            "the controller's TLS certificate is not trusted: give its CA with ca_file in station.toml \
             or --ca-file",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_empty_ca_file_is_an_error_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let e = TrustRoots::with_ca_file(&dir.path().join("nope.pem")).unwrap_err();
        assert!(e.to_string().starts_with("ca_file "), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "hello\n").unwrap();
        let e = TrustRoots::with_ca_file(&empty).unwrap_err();
        assert!(e.to_string().contains("no CERTIFICATE"), "{e}");
    }

    #[test]
    fn public_roots_build_a_client_config() {
        let t = TrustRoots::public();
        assert!(t.ca_file().is_none());
        t.client_config().unwrap();
    }

    #[test]
    fn certificate_errors_are_explained() {
        assert!(explain("IO error: invalid peer certificate: UnknownIssuer").is_some());
        assert!(explain("Connection refused").is_none());
    }
}

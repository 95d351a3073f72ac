//! Secret values at rest: sealed with ChaCha20-Poly1305 under a key kept in the data directory (mode 0600).
//!
//! Secret inventory properties (passwords, keys, community strings) and, later, SMTP passwords are stored
//! sealed, so a copy of the database alone does not reveal them. The key file is created on first start.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

const PREFIX: &str = "sealed:v1:";

/// Seals and opens secret strings.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

/// Failures of the secret box.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key file cannot be read or created.
    #[error("secret key file {path}: {source}")]
    KeyFile {
        /// File path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The key file has the wrong size.
    #[error("secret key file {0} is corrupt (expected 32 bytes, base64)")]
    BadKey(String),
    /// A stored value cannot be opened (wrong key or damaged data).
    #[error("a sealed value cannot be opened: wrong key file or damaged data")]
    Open,
}

impl SecretBox {
    /// Loads the key from `dir/secret.key`, creating it on first use.
    pub fn load_or_create(dir: &Path) -> Result<SecretBox, SecretError> {
        let path = dir.join("secret.key");
        let shown = path.display().to_string();
        let key_bytes = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let raw = STANDARD
                    .decode(text.trim())
                    .map_err(|_| SecretError::BadKey(shown.clone()))?;
                if raw.len() != 32 {
                    return Err(SecretError::BadKey(shown));
                }
                raw
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut raw = vec![0u8; 32];
                rand::thread_rng().fill_bytes(&mut raw);
                crate::auth::bootstrap::write_private(&path, &format!("{}\n", STANDARD.encode(&raw)))
                    .map_err(|source| SecretError::KeyFile {
                        path: shown.clone(),
                        source,
                    })?;
                raw
            }
            Err(source) => return Err(SecretError::KeyFile { path: shown, source }),
        };
        Ok(Self::from_key(&key_bytes))
    }

    /// A box over a raw 32-byte key.
    pub fn from_key(key: &[u8]) -> SecretBox {
        SecretBox {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// Seals a value into printable text.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("ChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// Opens a sealed value; text not produced by [`SecretBox::seal`] is returned as is.
    pub fn open(&self, stored: &str) -> Result<String, SecretError> {
        let Some(b64) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let raw = STANDARD.decode(b64).map_err(|_| SecretError::Open)?;
        if raw.len() < 12 {
            return Err(SecretError::Open);
        }
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(&raw[..12]), &raw[12..])
            .map_err(|_| SecretError::Open)?;
        String::from_utf8(plain).map_err(|_| SecretError::Open)
    }
}

/// Whether a property name marks its value as secret: any word of the name (split on non-alphanumerics) is
/// one of password, passwd, pwd, pass, secret, community, token, passphrase, psk, privkey, or the name contains
/// `private_key` / `privatekey`.
pub fn is_secret_name(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "community",
        "token",
        "passphrase",
        "psk",
        "privkey",
    ];
    let lower = name.to_ascii_lowercase();
    if lower.contains("private_key") || lower.contains("privatekey") || lower.contains("private-key") {
        return true;
    }
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| WORDS.contains(&w))
        || WORDS
            .iter()
            .any(|w| lower.ends_with(w) && lower.len() > w.len() && *w != "pass")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let b = SecretBox::from_key(&[7u8; 32]);
        let s = b.seal("hunter2");
        assert!(s.starts_with(PREFIX));
        assert!(!s.contains("hunter2"));
        assert_eq!(b.open(&s).expect("open"), "hunter2");
        assert_ne!(b.seal("hunter2"), s, "nonces differ");
        let other = SecretBox::from_key(&[8u8; 32]);
        assert!(other.open(&s).is_err());
        assert_eq!(b.open("plain").expect("plain"), "plain");
        assert!(b.open("sealed:v1:!!").is_err());
    }

    #[test]
    fn key_file_persists() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = SecretBox::load_or_create(dir.path()).expect("create");
        let sealed = a.seal("x");
        let b = SecretBox::load_or_create(dir.path()).expect("load");
        assert_eq!(b.open(&sealed).expect("open"), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret.key"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn secret_names() {
        for n in [
            "password",
            "Pass",
            "enable_password",
            "snmp-community",
            "api_token",
            "ssh_private_key",
            "psk",
            "adminPassword",
            "Secret",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "ip",
            "port",
            "user",
            "hostkey_sha256",
            "type",
            "epnames",
            "passage_count",
            "compass",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }
}

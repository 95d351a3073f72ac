//! The content-addressed file cache, `data_dir/cache/<sha256>`, filled from the controller's files endpoint
//! (`GET {controller_url}/api/v1/stations/files/{sha256}`, bearer token) and verified by hash.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio::io::AsyncWriteExt;
use twister_proto::link::FileRef;

use crate::config::Token;
use crate::trust::TrustRoots;

/// Why a file could not be had.
#[derive(Debug, Error)]
pub enum FetchError {
    /// The hash is not 64 hex digits.
    #[error("bad sha256 {0:?}")]
    BadHash(String),
    /// The controller does not know the file.
    #[error("the controller has no file {0}")]
    NotFound(String),
    /// The controller answered with another error status.
    #[error("the controller answered {status} for file {sha256}")]
    Status {
        /// The file's hash.
        sha256: String,
        /// HTTP status.
        status: u16,
    },
    /// The request failed.
    #[error("fetching {sha256}: {message}")]
    Http {
        /// The file's hash.
        sha256: String,
        /// What failed.
        message: String,
    },
    /// The bytes received do not hash to the name asked for (or are larger than announced).
    #[error("file {expected} arrived corrupted (sha256 {actual})")]
    Mismatch {
        /// Hash asked for.
        expected: String,
        /// Hash of what came.
        actual: String,
    },
    /// A cache operation failed.
    #[error("cache {path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// The cache and the client that fills it.
#[derive(Clone)]
pub struct FileCache {
    dir: PathBuf,
    base_url: String,
    token: Token,
    http: reqwest::Client,
}

impl std::fmt::Debug for FileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCache")
            .field("dir", &self.dir)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn normalize(sha256: &str) -> Result<String, FetchError> {
    let s = sha256.trim().to_ascii_lowercase();
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s)
    } else {
        Err(FetchError::BadHash(sha256.to_string()))
    }
}

impl FileCache {
    /// A cache in `dir` fed from the controller at `base_url` (http or https, no trailing slash).
    pub fn new(dir: PathBuf, base_url: &str, token: Token) -> FileCache {
        FileCache::with_trust(dir, base_url, token, &TrustRoots::public())
    }

    /// Like [`FileCache::new`], trusting `trust`'s roots for an https:// controller.
    pub fn with_trust(dir: PathBuf, base_url: &str, token: Token, trust: &TrustRoots) -> FileCache {
        let builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(600));
        let http = trust.apply(builder).build().unwrap_or_default();
        FileCache {
            dir,
            base_url: base_url.trim_end_matches('/').to_string(),
            token,
            http,
        }
    }

    /// Where a file with this hash is cached.
    pub fn path_of(&self, sha256: &str) -> Result<PathBuf, FetchError> {
        Ok(self.dir.join(normalize(sha256)?))
    }

    /// The cached copy of `file`, fetched first unless a copy with the right hash is already there.
    pub async fn get(&self, file: &FileRef) -> Result<PathBuf, FetchError> {
        let sha = normalize(&file.sha256)?;
        let path = self.dir.join(&sha);
        if let Ok(bytes) = tokio::fs::read(&path).await {
            if sha256_hex(&bytes) == sha {
                return Ok(path);
            }
            tracing::warn!(file = %file.path, sha256 = %sha, "cached copy is corrupted; fetching it again");
        }
        self.fetch(&sha, file.size, &path).await?;
        Ok(path)
    }

    async fn fetch(&self, sha: &str, size: u64, path: &Path) -> Result<(), FetchError> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| FetchError::Io { path: p, source }
        };
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(io(&self.dir))?;
        let http_err = |e: reqwest::Error| FetchError::Http {
            sha256: sha.to_string(),
            message: e.without_url().to_string(),
        };
        let url = format!("{}/api/v1/stations/files/{sha}", self.base_url);
        let resp = self
            .http
            .get(&url)
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(http_err)?;
        match resp.status().as_u16() {
            200..=299 => {}
            404 => return Err(FetchError::NotFound(sha.to_string())),
            status => {
                return Err(FetchError::Status {
                    sha256: sha.to_string(),
                    status,
                })
            }
        }
        let tmp = self.dir.join(format!("{sha}.tmp.{}", rand::random::<u32>()));
        let result = async {
            let mut out = tokio::fs::File::create(&tmp).await.map_err(io(&tmp))?;
            let mut hasher = Sha256::new();
            let mut got = 0u64;
            let mut body = resp.bytes_stream();
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(http_err)?;
                got += chunk.len() as u64;
                if size > 0 && got > size {
                    return Err(FetchError::Mismatch {
                        expected: sha.to_string(),
                        actual: format!("unknown: more than the {size} bytes announced"),
                    });
                }
                hasher.update(&chunk);
                out.write_all(&chunk).await.map_err(io(&tmp))?;
            }
            let actual = hex::encode(hasher.finalize());
            if actual != sha {
                return Err(FetchError::Mismatch {
                    expected: sha.to_string(),
                    actual,
                });
            }
            out.sync_all().await.map_err(io(&tmp))?;
            tokio::fs::rename(&tmp, path).await.map_err(io(path))
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(normalize("AB".repeat(32).as_str()).is_ok());
        assert!(normalize("zz").is_err());
        assert!(normalize(&"g".repeat(64)).is_err());
    }
}

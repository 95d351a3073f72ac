//! The test-source directory: browsing confined to its root, and publishing files to stations by content hash
//! (a copy under `<data_dir>/files/<sha256>`, so a test keeps the content it started with even if someone edits the
//! file meanwhile, and a restarted controller still serves what it handed out).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use twister_proto::link::FileRef;
use utoipa::ToSchema;

use super::project::check_relative_file;
use crate::api::error::ApiError;

/// Largest test file or library handed to stations.
pub const MAX_FILE: u64 = 64 * 1024 * 1024;

/// The test-source directory and the published-file store.
#[derive(Clone)]
pub struct Sources {
    root: PathBuf,
    files: PathBuf,
    builtins: Vec<FileRef>,
}

/// The helper libraries every test gets beside it: the original Twister names over the REST API (Python) or
/// the `twister` tool (Tcl).
const BUILTIN_LIBRARIES: [(&str, &[u8]); 2] = [
    ("twister.py", include_bytes!("helpers/twister.py")),
    ("twister.tcl", include_bytes!("helpers/twister.tcl")),
];

/// Stores `bytes` under their SHA-256 in `files` (once; written to a unique temporary name, synced, renamed, so
/// concurrent publishers never see a partial file) and returns the reference named `name`.
fn store_content(files: &Path, name: &str, bytes: &[u8]) -> std::io::Result<FileRef> {
    let sha = hex::encode(Sha256::digest(bytes));
    let dest = files.join(&sha);
    if !dest.exists() {
        let tmp = files.join(format!(".{sha}.{}", crate::store::new_id()));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &dest)?;
    }
    Ok(FileRef {
        path: name.to_string(),
        sha256: sha,
        size: bytes.len() as u64,
    })
}

/// One entry of a directory listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceEntry {
    /// Name.
    pub name: String,
    /// Path relative to the test-source directory.
    pub path: String,
    /// `file` or `dir`.
    pub kind: String,
    /// Size in bytes (files).
    pub size: u64,
}

/// A test file's text with what its leading comment says.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceFile {
    /// Path.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// First line of the leading comment.
    pub title: String,
    /// The rest of the leading comment.
    pub description: String,
    /// Content (UTF-8, lossily).
    pub content: String,
}

impl Sources {
    /// Over `root` (created if missing) and `files` (the published store, created if missing).
    pub fn new(root: &Path, files: &Path) -> std::io::Result<Sources> {
        std::fs::create_dir_all(root)?;
        std::fs::create_dir_all(files)?;
        let builtins = BUILTIN_LIBRARIES
            .iter()
            .map(|(name, content)| store_content(files, name, content))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Sources {
            root: root.canonicalize()?,
            files: files.to_path_buf(),
            builtins,
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves a relative path inside the root; symbolic links may not lead out of it.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, ApiError> {
        let rel = rel.trim_matches('/');
        if rel.is_empty() {
            return Ok(self.root.clone());
        }
        check_relative_file("path", rel)?;
        let joined = self.root.join(rel);
        let real = joined
            .canonicalize()
            .map_err(|_| ApiError::not_found(format!("no test source {rel}")))?;
        if !real.starts_with(&self.root) {
            return Err(ApiError::forbidden(format!(
                "{rel} leads outside the test-source directory"
            )));
        }
        Ok(real)
    }

    /// Lists a directory (sorted, directories first).
    pub fn list(&self, rel: &str) -> Result<Vec<SourceEntry>, ApiError> {
        let dir = self.resolve(rel)?;
        let rd = std::fs::read_dir(&dir).map_err(|e| ApiError::bad_request(format!("{rel}: {e}")))?;
        let mut out = Vec::new();
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            let Ok(meta) = std::fs::metadata(entry.path()) else {
                continue;
            };
            let path = if rel.trim_matches('/').is_empty() {
                name.clone()
            } else {
                format!("{}/{name}", rel.trim_matches('/'))
            };
            out.push(SourceEntry {
                name,
                path,
                kind: if meta.is_dir() { "dir" } else { "file" }.into(),
                size: if meta.is_dir() { 0 } else { meta.len() },
            });
        }
        out.sort_by(|a, b| (a.kind != "dir", &a.name).cmp(&(b.kind != "dir", &b.name)));
        Ok(out)
    }

    /// Reads a test file (at most 1 MiB of it) with its title and description.
    pub fn read(&self, rel: &str) -> Result<SourceFile, ApiError> {
        let path = self.resolve(rel)?;
        let meta = std::fs::metadata(&path).map_err(|e| ApiError::not_found(format!("{rel}: {e}")))?;
        if meta.is_dir() {
            return Err(ApiError::bad_request(format!("{rel} is a directory")));
        }
        let bytes =
            read_limited(&path, 1024 * 1024).map_err(|e| ApiError::bad_request(format!("{rel}: {e}")))?;
        let content = String::from_utf8_lossy(&bytes).into_owned();
        let (title, description) = leading_comment(&content);
        Ok(SourceFile {
            path: rel.trim_matches('/').to_string(),
            size: meta.len(),
            title,
            description,
            content,
        })
    }

    /// Publishes a file for stations: copies it into the store under its SHA-256 and returns the reference.
    pub fn publish(&self, rel: &str) -> Result<FileRef, ApiError> {
        let path = self.resolve(rel)?;
        let meta = std::fs::metadata(&path).map_err(|e| ApiError::not_found(format!("{rel}: {e}")))?;
        if !meta.is_file() {
            return Err(ApiError::bad_request(format!("{rel} is not a file")));
        }
        if meta.len() > MAX_FILE {
            return Err(ApiError::invalid(format!(
                "{rel} is larger than {MAX_FILE} bytes"
            )));
        }
        let bytes = std::fs::read(&path).map_err(|e| ApiError::bad_request(format!("{rel}: {e}")))?;
        store_content(&self.files, rel.trim_matches('/'), &bytes).map_err(ApiError::internal)
    }

    /// The helper libraries shipped with the controller, published once when the sources are opened.
    pub fn builtin_libraries(&self) -> &[FileRef] {
        &self.builtins
    }

    /// The content of a published file.
    pub fn fetch(&self, sha256: &str) -> Result<Vec<u8>, ApiError> {
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(ApiError::bad_request("expected a SHA-256 in lowercase hex"));
        }
        std::fs::read(self.files.join(sha256))
            .map_err(|_| ApiError::not_found(format!("no published file {sha256}")))
    }
}

fn read_limited(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path)?.take(limit).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The leading comment block of a script (`#`, `//`, `;`, `--` comments; a shebang is skipped).
pub fn leading_comment(content: &str) -> (String, String) {
    let mut lines = Vec::new();
    for (i, line) in content.lines().enumerate() {
        let t = line.trim();
        if i == 0 && t.starts_with("#!") {
            continue;
        }
        let body = ["#", "//", ";", "--"]
            .iter()
            .find_map(|p| t.strip_prefix(p))
            .map(|b| b.trim_start_matches(['#', '/', ';', '-']).trim());
        match body {
            Some(b) => lines.push(b.to_string()),
            None if t.is_empty() && lines.is_empty() => continue,
            None => break,
        }
    }
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
    let title = lines.first().cloned().unwrap_or_default();
    let description = lines
        .iter()
        .skip(1)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string();
    (title, description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tests");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(
            root.join("a/t.sh"),
            "#!/bin/sh\n# Ping the DUT\n# Sends three pings.\necho hi\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("a/escape")).unwrap();
        let s = Sources::new(&root, &dir.path().join("files")).unwrap();
        assert!(s.resolve("a/t.sh").is_ok());
        for bad in ["../secret", "a/../../secret", "/etc/passwd", "a/escape"] {
            assert!(s.resolve(bad).is_err(), "{bad}");
        }
        let f = s.read("a/t.sh").unwrap();
        assert_eq!(f.title, "Ping the DUT");
        assert_eq!(f.description, "Sends three pings.");
        let r = s.publish("a/t.sh").unwrap();
        assert_eq!(
            s.fetch(&r.sha256).unwrap(),
            std::fs::read(root.join("a/t.sh")).unwrap()
        );
        assert!(s.fetch("../../etc/passwd").is_err());
        let listing = s.list("").unwrap();
        assert_eq!(listing[0].kind, "dir");
    }
}

//! The station's small persistent state, `data_dir/state.json` (replaced atomically): the last command
//! executed and the tests running, so that a restart neither re-executes a command nor forgets a test.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::fsutil::write_atomic;

/// A state-file failure.
#[derive(Debug, Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("state {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The file is not JSON of the expected shape.
    #[error("state {path}: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
}

/// A test instance: run id and test id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TestKey {
    /// Run id.
    pub run: String,
    /// Test instance id.
    pub test: String,
}

impl TestKey {
    /// Builds a key.
    pub fn new(run: impl Into<String>, test: impl Into<String>) -> TestKey {
        TestKey {
            run: run.into(),
            test: test.into(),
        }
    }
}

impl std::fmt::Display for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.run, self.test)
    }
}

/// What `state.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Highest command number executed.
    #[serde(default)]
    pub last_command_seq: u64,
    /// Tests started whose end is not spooled yet.
    #[serde(default)]
    pub running: BTreeSet<TestKey>,
}

/// `state.json` and its current contents.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    state: State,
}

impl StateFile {
    /// Opens `data_dir/state.json` (empty state when missing).
    pub fn open(data_dir: &Path) -> Result<StateFile, StateError> {
        fs::create_dir_all(data_dir).map_err(|source| StateError::Io {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join("state.json");
        let state = match fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|source| StateError::Corrupt {
                path: path.clone(),
                source,
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => State::default(),
            Err(source) => return Err(StateError::Io { path, source }),
        };
        Ok(StateFile { path, state })
    }

    /// The current state.
    pub fn get(&self) -> &State {
        &self.state
    }

    /// Changes the state and saves it durably; on failure the in-memory state is left unchanged.
    pub fn update(&mut self, change: impl FnOnce(&mut State)) -> Result<(), StateError> {
        let mut next = self.state.clone();
        change(&mut next);
        if next == self.state {
            return Ok(());
        }
        let bytes = serde_json::to_vec_pretty(&next).map_err(|source| StateError::Corrupt {
            path: self.path.clone(),
            source,
        })?;
        write_atomic(&self.path, &bytes).map_err(|source| StateError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.state = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = StateFile::open(dir.path()).unwrap();
        assert_eq!(f.get(), &State::default());
        f.update(|s| {
            s.last_command_seq = 7;
            s.running.insert(TestKey::new("r", "t"));
        })
        .unwrap();
        let f = StateFile::open(dir.path()).unwrap();
        assert_eq!(f.get().last_command_seq, 7);
        assert!(f.get().running.contains(&TestKey::new("r", "t")));
        assert!(!dir.path().join("state.json.tmp").exists());
    }

    #[test]
    fn corrupt_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("state.json"), "{nope").unwrap();
        assert!(matches!(
            StateFile::open(dir.path()),
            Err(StateError::Corrupt { .. })
        ));
    }
}

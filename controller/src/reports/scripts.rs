//! The scripts of UserScript suite fields: a field's value is what its script prints (for instance the build
//! number the lab's build server reports). Scripts live under one directory of the controller (`[reports]
//! scripts_dir`); a field names its script relative to it (an absolute path inside it is accepted too), and a
//! path leading anywhere else, by `..` or a symbolic link, is refused. A script runs without a shell (its `#!`
//! line or the interpreter its extension names), in that directory, with a time limit and bounded output; its
//! trimmed standard output is the value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::config::Config;
use crate::services::definition::relative_path;

/// Report settings (`[reports]` in controller.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportsSettings {
    /// Directory of the UserScript fields' scripts (default `<data_dir>/report-scripts`).
    pub scripts_dir: Option<PathBuf>,
    /// Time limit of one script, seconds.
    pub script_timeout_s: u64,
    /// The most a script may print on its standard output, bytes.
    pub script_output_max: usize,
}

impl Default for ReportsSettings {
    fn default() -> Self {
        ReportsSettings {
            scripts_dir: None,
            script_timeout_s: 10,
            script_output_max: 64 * 1024,
        }
    }
}

/// Where UserScript scripts may live and how they run.
#[derive(Debug, Clone)]
pub struct UserScripts {
    root: PathBuf,
    timeout: Duration,
    max_output: usize,
}

impl UserScripts {
    /// Scripts under `root`, each given `timeout` and at most `max_output` bytes of output.
    pub fn new(root: PathBuf, timeout: Duration, max_output: usize) -> UserScripts {
        UserScripts {
            root,
            timeout,
            max_output,
        }
    }

    /// The controller's configured scripts directory and limits.
    pub fn from_config(config: &Config) -> UserScripts {
        let r = &config.reports;
        UserScripts::new(
            r.scripts_dir
                .clone()
                .unwrap_or_else(|| config.data_dir.join("report-scripts")),
            Duration::from_secs(r.script_timeout_s),
            r.script_output_max,
        )
    }

    /// The scripts directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `script` relative to the scripts directory, or why it is refused (checked without touching the disk, so
    /// a configuration can name a script that is installed later).
    pub fn relative(&self, script: &str) -> Result<PathBuf, String> {
        let script = script.trim();
        let outside = || {
            format!(
                "must be a path inside the report scripts directory {} (relative, without '..')",
                self.root.display()
            )
        };
        if script.is_empty() {
            return Err("no script named (a UserScript field's SQLQuery is its script's path)".into());
        }
        let rel = if Path::new(script).is_absolute() {
            let roots = [Some(self.root.clone()), self.root.canonicalize().ok()];
            roots
                .iter()
                .flatten()
                .find_map(|root| Path::new(script).strip_prefix(root).ok())
                .and_then(|rest| rest.to_str())
                .ok_or_else(outside)?
                .to_string()
        } else {
            script.to_string()
        };
        relative_path(&rel).ok_or_else(outside)
    }

    /// The script's real path, which must be a file inside the scripts directory once symbolic links are
    /// followed.
    fn resolve(&self, script: &str) -> Result<PathBuf, String> {
        let rel = self.relative(script)?;
        let root = self
            .root
            .canonicalize()
            .map_err(|e| format!("report scripts directory {}: {e}", self.root.display()))?;
        let real = root
            .join(&rel)
            .canonicalize()
            .map_err(|_| format!("no script {} in {}", rel.display(), root.display()))?;
        if !real.starts_with(&root) {
            return Err(format!("{} leads outside {}", rel.display(), root.display()));
        }
        if !real.is_file() {
            return Err(format!("{} is not a file", rel.display()));
        }
        Ok(real)
    }

    /// Runs `script` with `env` added to its environment; its trimmed standard output, or why there is none.
    pub async fn value(&self, script: &str, env: &BTreeMap<String, String>) -> Result<String, String> {
        let path = self.resolve(script)?;
        let cwd = path.parent().unwrap_or(&self.root).to_path_buf();
        crate::execution::scripts::stdout_of(&path, &cwd, env, self.timeout, self.max_output)
            .await
            .map(|out| out.trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confines_script_paths() {
        let dir = tempfile::tempdir().unwrap();
        let s = UserScripts::new(dir.path().to_path_buf(), Duration::from_secs(1), 100);
        assert_eq!(
            s.relative("bin/./build.sh").unwrap(),
            PathBuf::from("bin/build.sh")
        );
        let inside = dir.path().join("build.sh").display().to_string();
        assert_eq!(s.relative(&inside).unwrap(), PathBuf::from("build.sh"));
        for bad in ["", "../x.sh", "a/../../x.sh", "/etc/passwd", "/bin/sh", "."] {
            assert!(s.relative(bad).is_err(), "{bad}");
        }
        let outside = format!("{}/../x.sh", dir.path().display());
        assert!(s.relative(&outside).is_err());
    }

    #[tokio::test]
    async fn runs_a_script_and_refuses_a_link_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("scripts");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("build.sh"), "echo \"  b-$TWISTER_FIELD  \"\n").unwrap();
        std::fs::write(dir.path().join("secret.sh"), "echo leaked\n").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.sh"), root.join("link.sh")).unwrap();
        let s = UserScripts::new(root, Duration::from_secs(10), 100);
        let env = BTreeMap::from([("TWISTER_FIELD".to_string(), "build".to_string())]);
        assert_eq!(s.value("build.sh", &env).await.unwrap(), "b-build");
        assert!(s
            .value("link.sh", &env)
            .await
            .unwrap_err()
            .contains("leads outside"));
        assert!(s
            .value("missing.sh", &env)
            .await
            .unwrap_err()
            .contains("no script"));
    }
}

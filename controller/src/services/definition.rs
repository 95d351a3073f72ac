//! What a service is: its definition (command, arguments, files, autostart, restart policy), its checks, and the
//! original Twister `services.ini` import.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// When a service that exited on its own is started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Never.
    Never,
    /// When it exited with a non-zero code or was killed by a signal.
    #[default]
    OnFailure,
    /// Whenever it exits.
    Always,
}

/// A service definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceDef {
    /// Unique name (letters, digits, `_`, `-`, `.`).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Program to run (a path, or a name looked up in `PATH`).
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its configuration file, relative to the services directory (editable through the API).
    pub config_file: Option<String>,
    /// Working directory, relative to the services directory (default: the services directory).
    pub working_dir: Option<String>,
    /// Where its output goes, relative to the services directory (default `logs/<name>.log`).
    pub log_file: Option<String>,
    /// Start it when the controller starts.
    pub autostart: bool,
    /// Restart policy.
    pub restart: RestartPolicy,
    /// First back-off delay before a restart, milliseconds (doubles per quick failure, up to 60 s).
    pub backoff_ms: u64,
    /// Log file size bound, bytes: the file is rotated to `<log>.1` past it.
    pub max_log_bytes: u64,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
}

impl Default for ServiceDef {
    fn default() -> Self {
        ServiceDef {
            name: String::new(),
            description: String::new(),
            command: String::new(),
            args: Vec::new(),
            config_file: None,
            working_dir: None,
            log_file: None,
            autostart: false,
            restart: RestartPolicy::OnFailure,
            backoff_ms: 500,
            max_log_bytes: 1024 * 1024,
            env: BTreeMap::new(),
        }
    }
}

/// A definition problem, naming the field.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    /// A field is invalid.
    #[error("service {name:?}: {field}: {message}")]
    Invalid {
        /// Service.
        name: String,
        /// Field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// `services.ini` cannot be read.
    #[error("services.ini line {line}: {message}")]
    Ini {
        /// Line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl ServiceDef {
    fn bad(&self, field: &'static str, message: impl Into<String>) -> DefinitionError {
        DefinitionError::Invalid {
            name: self.name.clone(),
            field,
            message: message.into(),
        }
    }

    /// Checks the definition.
    pub fn validate(&self) -> Result<(), DefinitionError> {
        if self.name.is_empty()
            || self.name.len() > 64
            || self.name.starts_with('.')
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(self.bad(
                "name",
                "1-64 letters, digits, '_', '-' or '.', not starting with '.'",
            ));
        }
        if self.command.trim().is_empty() || self.command.len() > 4096 || self.command.contains('\0') {
            return Err(self.bad("command", "required"));
        }
        if self.args.len() > 256 || self.args.iter().any(|a| a.len() > 4096 || a.contains('\0')) {
            return Err(self.bad("args", "at most 256 arguments of 4 KiB, no NUL"));
        }
        if self.description.len() > 1024 {
            return Err(self.bad("description", "at most 1 KiB"));
        }
        for (field, p) in [
            ("config_file", &self.config_file),
            ("working_dir", &self.working_dir),
            ("log_file", &self.log_file),
        ] {
            if let Some(p) = p {
                relative_path(p).ok_or_else(|| {
                    self.bad(
                        field,
                        format!("{p:?}: a relative path inside the services directory"),
                    )
                })?;
            }
        }
        if self.backoff_ms == 0 || self.backoff_ms > 60_000 {
            return Err(self.bad("backoff_ms", "between 1 and 60000"));
        }
        if self.max_log_bytes < 1024 {
            return Err(self.bad("max_log_bytes", "at least 1024"));
        }
        if self.env.len() > 256
            || self
                .env
                .iter()
                .any(|(k, v)| k.is_empty() || k.contains(['=', '\0']) || v.contains('\0'))
        {
            return Err(self.bad("env", "names without '=' or NUL, values without NUL"));
        }
        Ok(())
    }

    /// The log file, relative to the services directory.
    pub fn log_rel(&self) -> String {
        self.log_file
            .clone()
            .unwrap_or_else(|| format!("logs/{}.log", self.name))
    }
}

/// A path confined below a root: relative, no `..`, not empty.
pub fn relative_path(p: &str) -> Option<PathBuf> {
    let path = Path::new(p);
    if p.is_empty() || p.len() > 1024 || p.contains('\0') || path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Splits a command line into words: whitespace separates, single and double quotes group, `\` escapes.
pub fn split_command_line(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (Some('\''), c) => cur.push(c),
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Reads the original `services.ini`: one `[Name]` section per service with `cmdline` (or `command` and
/// `args`), `config`, `logfile`, `workdir`, `description`, `autostart` (or `enabled`) and `restart`
/// (`never`, `on-failure`, `always`). Keys are case-insensitive; `;` and `#` start comments.
pub fn from_services_ini(text: &str) -> Result<Vec<ServiceDef>, DefinitionError> {
    let mut out: Vec<ServiceDef> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let ini = |message: &str| DefinitionError::Ini {
            line: i + 1,
            message: message.to_string(),
        };
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let name = name
                .strip_suffix(']')
                .ok_or_else(|| ini("a section header ends with ']'"))?;
            out.push(ServiceDef {
                name: name.trim().to_string(),
                ..Default::default()
            });
            continue;
        }
        let (key, value) = line
            .split_once(['=', ':'])
            .ok_or_else(|| ini("expected key = value"))?;
        let svc = out.last_mut().ok_or_else(|| ini("a key before any [section]"))?;
        let value = value.trim().to_string();
        let yes = matches!(value.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on");
        match key.trim().to_ascii_lowercase().as_str() {
            "cmdline" | "command" | "cmd" => {
                let mut words = split_command_line(&value);
                if words.is_empty() {
                    return Err(ini("an empty command"));
                }
                svc.command = words.remove(0);
                svc.args.extend(words);
            }
            "args" | "arguments" => svc.args.extend(split_command_line(&value)),
            "config" | "config_file" | "configfile" => svc.config_file = Some(value),
            "logfile" | "log_file" | "log" => svc.log_file = Some(value),
            "workdir" | "working_dir" | "cwd" => svc.working_dir = Some(value),
            "description" | "desc" => svc.description = value,
            "autostart" | "enabled" => svc.autostart = yes,
            "restart" => {
                svc.restart = match value.to_ascii_lowercase().as_str() {
                    "never" | "no" | "0" => RestartPolicy::Never,
                    "on-failure" | "on_failure" | "onfailure" => RestartPolicy::OnFailure,
                    "always" | "yes" | "1" => RestartPolicy::Always,
                    _ => return Err(ini("restart is never, on-failure or always")),
                }
            }
            _ => {}
        }
    }
    for s in &mut out {
        // The original wrote absolute paths of the machine it ran on; keep only the file name.
        for p in [&mut s.config_file, &mut s.log_file] {
            if let Some(v) = p.as_mut() {
                if Path::new(v).is_absolute() {
                    *v = Path::new(v)
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default();
                }
            }
        }
        if s.working_dir
            .as_deref()
            .is_some_and(|w| Path::new(w).is_absolute())
        {
            s.working_dir = None;
        }
        s.validate()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_command_lines() {
        assert_eq!(
            split_command_line(r#"python3 -u 'a b' "c\"d" e\ f"#),
            vec!["python3", "-u", "a b", "c\"d", "e f"]
        );
        assert!(split_command_line("   ").is_empty());
        assert_eq!(split_command_line("x ''"), vec!["x", ""]);
    }

    #[test]
    fn confines_paths() {
        assert_eq!(relative_path("a/./b.conf"), Some(PathBuf::from("a/b.conf")));
        for bad in ["/etc/passwd", "../x", "a/../../x", "", "."] {
            assert!(relative_path(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn reads_services_ini() {
        let ini = "; services\n[ofcontroller]\ncmdline = /usr/bin/python3 -u ofc.py --port 6653\n\
                   config = /opt/twister/config/ofc.ini\nlogfile = ofc.log\nautostart = 1\n\n\
                   [sniffer]\nCommand = tcpdump\nArgs = -i any\nrestart = always\n";
        let s = from_services_ini(ini).expect("parse");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "ofcontroller");
        assert_eq!(s[0].command, "/usr/bin/python3");
        assert_eq!(s[0].args, vec!["-u", "ofc.py", "--port", "6653"]);
        assert_eq!(s[0].config_file.as_deref(), Some("ofc.ini"));
        assert!(s[0].autostart);
        assert_eq!(s[1].restart, RestartPolicy::Always);
        assert_eq!(s[1].args, vec!["-i", "any"]);
        assert!(from_services_ini("x = 1").is_err());
        assert!(from_services_ini("[bad name]\ncmdline = x").is_err());
    }
}

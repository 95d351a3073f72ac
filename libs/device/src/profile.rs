//! Device profiles: how to recognise a device's prompts, move between its modes, and spot failures.
//!
//! Profiles are TOML files; the built-in ones live in `config/devices/` at the top of the repository and are compiled in.

use std::collections::VecDeque;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::pattern::Pattern;

/// A command-line mode of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Unprivileged (IOS `>`; Junos operational mode; a user shell).
    User,
    /// Privileged (IOS `#` after `enable`; a root shell).
    Privileged,
    /// Configuration (IOS `(config)#`; Junos `#`).
    Config,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::Config, Mode::Privileged, Mode::User];
}

/// A profile as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    /// Short name (`cisco-ios`).
    pub name: String,
    /// What the profile is for.
    #[serde(default)]
    pub description: String,
    /// Line ending sent after commands (`"\r"` or `"\n"`).
    #[serde(default = "default_newline")]
    pub newline: String,
    /// Commands run once the session is open (disable paging, widen the terminal).
    #[serde(default)]
    pub on_open: Vec<String>,
    /// Regexes whose match in a command's output means the command failed.
    #[serde(default)]
    pub failures: Vec<String>,
    /// Regex of the paging prompt (`--More--`), answered with `paging_answer`.
    #[serde(default)]
    pub paging: Option<String>,
    /// Answer to the paging prompt.
    #[serde(default = "default_paging_answer")]
    pub paging_answer: String,
    /// Regexes of confirmation prompts (`[confirm]`) answered with `confirm_answer`.
    #[serde(default)]
    pub confirm: Vec<String>,
    /// Answer to confirmation prompts.
    #[serde(default)]
    pub confirm_answer: String,
    /// Command that leaves the session.
    #[serde(default)]
    pub exit_command: Option<String>,
    /// Login prompts (for transports without their own authentication: Telnet, consoles).
    #[serde(default)]
    pub login: LoginSpec,
    /// Prompt regex per mode.
    pub prompts: PromptSpec,
    /// How to move between modes.
    #[serde(default)]
    pub transitions: Vec<TransitionSpec>,
}

fn default_newline() -> String {
    "\n".into()
}

fn default_paging_answer() -> String {
    " ".into()
}

/// Login prompts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSpec {
    /// Username prompt regex.
    pub username: Option<String>,
    /// Password prompt regex.
    pub password: Option<String>,
    /// Regexes meaning the login was refused.
    #[serde(default)]
    pub failures: Vec<String>,
}

/// Prompt regexes per mode (a mode without a prompt does not exist on the device).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptSpec {
    /// Unprivileged prompt.
    pub user: Option<String>,
    /// Privileged prompt.
    pub privileged: Option<String>,
    /// Configuration prompt.
    pub config: Option<String>,
}

/// One step between modes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionSpec {
    /// Mode the command is given in.
    pub from: Mode,
    /// Mode reached.
    pub to: Mode,
    /// The command.
    pub command: String,
    /// Prompt for a password (answered with the enable secret, or the login password).
    #[serde(default)]
    pub password_prompt: Option<String>,
}

/// A compiled profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The profile as written.
    pub spec: ProfileSpec,
    pub(crate) prompts: Vec<(Mode, Pattern)>,
    pub(crate) failures: Vec<Pattern>,
    pub(crate) paging: Option<Pattern>,
    pub(crate) confirm: Vec<Pattern>,
    pub(crate) login_username: Option<Pattern>,
    pub(crate) login_password: Option<Pattern>,
    pub(crate) login_failures: Vec<Pattern>,
    pub(crate) transitions: Vec<(TransitionSpec, Option<Pattern>)>,
}

/// The built-in profiles: (name, TOML text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "cisco-ios",
        include_str!("../../../config/devices/cisco-ios.toml"),
    ),
    (
        "arista-eos",
        include_str!("../../../config/devices/arista-eos.toml"),
    ),
    (
        "juniper-junos",
        include_str!("../../../config/devices/juniper-junos.toml"),
    ),
    (
        "linux-shell",
        include_str!("../../../config/devices/linux-shell.toml"),
    ),
];

fn compile(list: &[String]) -> Result<Vec<Pattern>> {
    list.iter().map(|s| Pattern::regex(s)).collect()
}

fn compile_opt(s: &Option<String>) -> Result<Option<Pattern>> {
    s.as_deref().map(Pattern::regex).transpose()
}

impl Profile {
    /// Parse and compile a profile from TOML text.
    pub fn from_toml(text: &str) -> Result<Self> {
        let spec: ProfileSpec = toml::from_str(text).map_err(|e| Error::Profile(e.to_string()))?;
        Self::from_spec(spec)
    }

    /// Read a profile file.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Profile(format!("reading {}: {e}", path.display())))?;
        Self::from_toml(&text)
    }

    /// A built-in profile by name.
    pub fn builtin(name: &str) -> Result<Self> {
        let (_, text) = BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| Error::Profile(format!("no built-in profile {name:?}")))?;
        Self::from_toml(text)
    }

    /// Compile a profile.
    pub fn from_spec(spec: ProfileSpec) -> Result<Self> {
        let mut prompts = Vec::new();
        // Most specific first: config prompts often also look like privileged ones.
        for mode in Mode::ALL {
            let re = match mode {
                Mode::User => &spec.prompts.user,
                Mode::Privileged => &spec.prompts.privileged,
                Mode::Config => &spec.prompts.config,
            };
            if let Some(p) = compile_opt(re)? {
                prompts.push((mode, p));
            }
        }
        if prompts.is_empty() {
            return Err(Error::Profile(format!("profile {} has no prompts", spec.name)));
        }
        let mut transitions = Vec::new();
        for t in &spec.transitions {
            for m in [t.from, t.to] {
                if !prompts.iter().any(|(pm, _)| *pm == m) {
                    return Err(Error::Profile(format!(
                        "profile {}: transition {:?} uses mode {m:?} which has no prompt",
                        spec.name, t.command
                    )));
                }
            }
            transitions.push((t.clone(), compile_opt(&t.password_prompt)?));
        }
        Ok(Profile {
            prompts,
            failures: compile(&spec.failures)?,
            paging: compile_opt(&spec.paging)?,
            confirm: compile(&spec.confirm)?,
            login_username: compile_opt(&spec.login.username)?,
            login_password: compile_opt(&spec.login.password)?,
            login_failures: compile(&spec.login.failures)?,
            transitions,
            spec,
        })
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The modes the device has.
    pub fn modes(&self) -> Vec<Mode> {
        self.prompts.iter().map(|(m, _)| *m).collect()
    }

    /// The transitions leading from `from` to `to` (shortest path), or an error when `to` is unreachable.
    pub fn path(&self, from: Mode, to: Mode) -> Result<Vec<&TransitionSpec>> {
        let mut queue = VecDeque::from([(from, Vec::<usize>::new())]);
        let mut seen = vec![from];
        while let Some((mode, steps)) = queue.pop_front() {
            if mode == to {
                return Ok(steps.iter().map(|&i| &self.transitions[i].0).collect());
            }
            for (i, (t, _)) in self.transitions.iter().enumerate() {
                if t.from == mode && !seen.contains(&t.to) {
                    seen.push(t.to);
                    let mut next = steps.clone();
                    next.push(i);
                    queue.push_back((t.to, next));
                }
            }
        }
        Err(Error::Profile(format!(
            "profile {}: no way from {from:?} to {to:?}",
            self.spec.name
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_compile() {
        for (name, _) in BUILTIN {
            let p = Profile::builtin(name).unwrap();
            assert_eq!(p.name(), *name);
        }
        assert!(Profile::builtin("nope").is_err());
    }

    #[test]
    fn ios_prompts_and_paths() {
        let p = Profile::builtin("cisco-ios").unwrap();
        let which = |s: &str| {
            p.prompts
                .iter()
                .find(|(_, pat)| pat.find(s, 0).is_some())
                .map(|(m, _)| *m)
        };
        assert_eq!(which("\nR1>"), Some(Mode::User));
        assert_eq!(which("\nR1#"), Some(Mode::Privileged));
        assert_eq!(which("\nR1(config)#"), Some(Mode::Config));
        assert_eq!(which("\nR1(config-if)# "), Some(Mode::Config));
        assert_eq!(which("R1#show run"), None);
        let path: Vec<_> = p
            .path(Mode::User, Mode::Config)
            .unwrap()
            .iter()
            .map(|t| t.command.clone())
            .collect();
        assert_eq!(path, ["enable", "configure terminal"]);
        assert!(p.path(Mode::Config, Mode::Config).unwrap().is_empty());
        let j = Profile::builtin("juniper-junos").unwrap();
        assert!(j.path(Mode::User, Mode::Privileged).is_err());
    }

    #[test]
    fn bad_profiles_rejected() {
        assert!(Profile::from_toml("name = 'x'\n[prompts]\n").is_err());
        assert!(Profile::from_toml("name = 'x'\n[prompts]\nuser = '('\n").is_err());
        let t = "name = 'x'\n[prompts]\nuser = '>'\n[[transitions]]\nfrom='user'\nto='config'\ncommand='c'\n";
        assert!(Profile::from_toml(t).is_err());
        assert!(Profile::from_toml("name = 'x'\nbogus = 1\n[prompts]\nuser = '>'\n").is_err());
    }
}

//! A command-line session with a device: log in, run commands, configure, change modes.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result};
use crate::expect::{Dialog, Expect, Match, Rule};
use crate::normalize::strip_echo;
use crate::pattern::Pattern;
use crate::profile::{Mode, Profile};

/// Any byte stream a session can run over (Telnet, SSH channel, TCP, pseudo-terminal).
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// Credentials for a device. `Debug` never shows the secrets.
#[derive(Clone, Default)]
pub struct Credentials {
    /// Login name (for login prompts; SSH takes it from its own settings).
    pub username: Option<String>,
    /// Login password.
    pub password: Option<String>,
    /// Secret for privileged mode (`enable`); the login password is used when absent.
    pub enable: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("enable", &self.enable.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// Session settings.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Time allowed for each command (and for login).
    pub timeout: Duration,
    /// Bound of the output buffer.
    pub max_buffer: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            timeout: Duration::from_secs(30),
            max_buffer: crate::expect::DEFAULT_MAX_BUFFER,
        }
    }
}

/// An open command-line session.
pub struct Session {
    expect: Expect<Box<dyn Transport>>,
    profile: Profile,
    creds: Credentials,
    mode: Mode,
    /// The last prompt seen (e.g. `R1#`).
    prompt: String,
    timeout: Duration,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("profile", &self.profile.name())
            .field("mode", &self.mode)
            .field("prompt", &self.prompt)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Open a session: answer login prompts if any, wait for a prompt, run the profile's on-open commands.
    pub async fn open(
        transport: impl Transport + 'static,
        profile: Profile,
        creds: Credentials,
        opts: SessionOptions,
    ) -> Result<Session> {
        let boxed: Box<dyn Transport> = Box::new(transport);
        let mut s = Session {
            expect: Expect::with_max_buffer(boxed, opts.max_buffer),
            profile,
            creds,
            mode: Mode::User,
            prompt: String::new(),
            timeout: opts.timeout,
        };
        s.login().await?;
        let on_open = s.profile.spec.on_open.clone();
        for cmd in on_open {
            s.run(&cmd).await?;
        }
        Ok(s)
    }

    async fn login(&mut self) -> Result<()> {
        let nl = self.profile.spec.newline.clone();
        let mut dialog = Dialog::new();
        if let (Some(p), Some(u)) = (&self.profile.login_username, &self.creds.username) {
            dialog = dialog.rule(Rule::new(p.clone(), format!("{u}{nl}")).times(1));
        }
        if let Some(p) = &self.profile.login_password {
            let pw = self.creds.password.clone().unwrap_or_default();
            dialog = dialog.rule(Rule::new(p.clone(), format!("{pw}{nl}")).times(1));
        }
        let mut targets: Vec<Pattern> = self.profile.prompts.iter().map(|(_, p)| p.clone()).collect();
        let n_prompts = targets.len();
        targets.extend(self.profile.login_failures.iter().cloned());
        // Some devices only print the prompt after a key press.
        let m = match self.expect.expect_dialog(&targets, &dialog, self.timeout).await {
            Ok(m) => m,
            Err(Error::DialogLoop { .. }) => return Err(Error::Auth("credentials rejected".into())),
            Err(e) => return Err(e),
        };
        if m.index >= n_prompts {
            return Err(Error::Auth(format!("device said {:?}", m.matched.trim())));
        }
        self.note_prompt(&m);
        Ok(())
    }

    fn note_prompt(&mut self, m: &Match) {
        self.mode = self.profile.prompts[m.index].0;
        self.prompt = m.matched.trim().to_string();
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The last prompt seen.
    pub fn prompt(&self) -> &str {
        &self.prompt
    }

    /// The profile in use.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Change the per-command timeout.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    fn dialog(&self) -> Dialog {
        let mut d = Dialog::new();
        if let Some(p) = &self.profile.paging {
            d = d.rule(Rule::new(p.clone(), self.profile.spec.paging_answer.clone()));
        }
        d
    }

    /// Send a command and wait for the next prompt, answering paging prompts; returns the output without the
    /// echoed command and the prompt. A failure indicator in the output gives [`Error::Command`].
    pub async fn run(&mut self, command: &str) -> Result<String> {
        let dialog = self.dialog();
        self.run_with(command, &dialog).await
    }

    /// Like [`Session::run`], also answering confirmation prompts (`[confirm]`) with the profile's answer.
    pub async fn run_confirm(&mut self, command: &str) -> Result<String> {
        let mut dialog = self.dialog();
        for p in &self.profile.confirm {
            dialog = dialog.rule(Rule::new(p.clone(), self.profile.spec.confirm_answer.clone()));
        }
        self.run_with(command, &dialog).await
    }

    /// Send a command and wait for a prompt, answering `dialog` meanwhile.
    pub async fn run_with(&mut self, command: &str, dialog: &Dialog) -> Result<String> {
        // Output that arrived since the last prompt (late echoes, spaces) is not part of this command's output.
        let _ = self.expect.take_buffered();
        self.send_line(command).await?;
        let prompts: Vec<Pattern> = self.profile.prompts.iter().map(|(_, p)| p.clone()).collect();
        let m = self.expect.expect_dialog(&prompts, dialog, self.timeout).await?;
        self.note_prompt(&m);
        let output = strip_echo(&m.before, command);
        for f in &self.profile.failures {
            if let Some(found) = f.find(&output, 0) {
                let line_end = output[found.start..]
                    .find('\n')
                    .map_or(output.len(), |i| found.start + i);
                return Err(Error::Command {
                    command: command.to_string(),
                    message: output[found.start..line_end].trim().to_string(),
                    output,
                });
            }
        }
        Ok(output)
    }

    /// Send one line (the profile's line ending is added).
    pub async fn send_line(&mut self, line: &str) -> Result<()> {
        let text = format!("{line}{}", self.profile.spec.newline);
        self.expect.send(&text).await
    }

    /// Wait for patterns in the output (for interactions the profile does not cover).
    pub async fn expect(&mut self, patterns: &[Pattern], timeout: Duration) -> Result<Match> {
        self.expect.expect(patterns, timeout).await
    }

    /// Move to `mode` through the profile's transitions (answering password prompts with the enable secret).
    pub async fn set_mode(&mut self, mode: Mode) -> Result<()> {
        let steps: Vec<_> = self
            .profile
            .path(self.mode, mode)?
            .into_iter()
            .map(|t| {
                let pw = self
                    .profile
                    .transitions
                    .iter()
                    .find(|(s, _)| s.command == t.command && s.from == t.from);
                (t.clone(), pw.and_then(|(_, p)| p.clone()))
            })
            .collect();
        for (t, password_prompt) in steps {
            let mut dialog = self.dialog();
            if let Some(p) = password_prompt {
                let secret = self
                    .creds
                    .enable
                    .clone()
                    .or_else(|| self.creds.password.clone())
                    .unwrap_or_default();
                let answer = format!("{secret}{}", self.profile.spec.newline);
                dialog = dialog.rule(Rule::new(p, answer).times(1));
            }
            match self.run_with(&t.command, &dialog).await {
                Ok(_) => {}
                Err(Error::DialogLoop { .. }) => {
                    return Err(Error::Auth(format!("secret for {:?} rejected", t.command)))
                }
                Err(Error::Command { message, .. }) if t.to == Mode::Privileged => {
                    return Err(Error::Auth(format!("{:?} refused: {message}", t.command)))
                }
                Err(e) => return Err(e),
            }
            if self.mode != t.to {
                return Err(Error::Auth(format!(
                    "{:?} left the device in {:?} mode (prompt {:?}), not {:?}",
                    t.command, self.mode, self.prompt, t.to
                )));
            }
        }
        Ok(())
    }

    /// Apply configuration lines: enter config mode, send each line (stopping at the first failure), and
    /// return to the mode the session was in. Returns the output of all lines.
    pub async fn config(&mut self, lines: &[&str]) -> Result<String> {
        let back = self.mode;
        self.set_mode(Mode::Config).await?;
        let mut all = String::new();
        let mut failure = None;
        for line in lines {
            match self.run(line).await {
                Ok(out) => all.push_str(&out),
                Err(e @ Error::Command { .. }) => {
                    failure = Some(e);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        // Sub-modes (interface...) share the config prompt family; the profile's exit path ends them all.
        self.set_mode(if back == Mode::Config {
            Mode::Privileged
        } else {
            back
        })
        .await?;
        if back == Mode::Config {
            self.set_mode(Mode::Config).await?;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(all),
        }
    }

    /// Hand the transport over (for an interactive console), with the output received but not consumed yet.
    pub fn into_transport(self) -> (Box<dyn Transport>, String) {
        let mut expect = self.expect;
        let pending = expect.take_buffered();
        (expect.into_inner(), pending)
    }

    /// Leave: send the profile's exit command(s) and close the transport.
    pub async fn close(mut self) -> Result<()> {
        if let Some(exit) = self.profile.spec.exit_command.clone() {
            // The device may close before we finish: errors here do not matter.
            let _ = self.send_line(&exit).await;
        }
        let _ = self.expect.get_mut().shutdown().await;
        Ok(())
    }
}

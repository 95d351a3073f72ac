//! Runs the real `twister` binary against a controller, each user with their own config file.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

/// The result of one `twister` invocation.
#[derive(Debug)]
pub struct Output {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Parses stdout as JSON; panics with the whole output when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

/// One person at a terminal: a config file of their own and a controller URL.
pub struct Cli {
    /// Controller URL given through `TWISTER_URL` (None: rely on the config file).
    pub url: Option<String>,
    /// Token given through `TWISTER_TOKEN`.
    pub token: Option<String>,
    /// The config file this user's invocations use.
    pub config: PathBuf,
    /// Holds the config file's directory until drop.
    pub dir: tempfile::TempDir,
}

impl Cli {
    /// A user with an empty config, pointed at `url` through the environment.
    pub fn new(url: &str) -> Cli {
        let dir = tempfile::tempdir().expect("temp dir");
        Cli {
            url: Some(url.to_string()),
            token: None,
            config: dir.path().join("twister").join("config.toml"),
            dir,
        }
    }

    /// Runs `twister ARGS`.
    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None).await
    }

    /// Runs `twister ARGS` with `stdin` fed to it.
    pub async fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let child = self.spawn(args, stdin.is_some());
        let mut child = child;
        if let Some(input) = stdin {
            let mut si = child.stdin.take().expect("stdin");
            si.write_all(input.as_bytes()).await.expect("write stdin");
            drop(si);
        }
        let out = child.wait_with_output().await.expect("twister runs");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Starts `twister ARGS` without waiting (for `reserve --wait`).
    pub fn spawn(&self, args: &[&str], piped_stdin: bool) -> tokio::process::Child {
        let mut cmd = tokio::process::Command::new(crate::binary("twister"));
        cmd.args(args)
            .env_remove("TWISTER_URL")
            .env_remove("TWISTER_TOKEN")
            .env("TWISTER_CLI_CONFIG", &self.config)
            .stdin(if piped_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(u) = &self.url {
            cmd.env("TWISTER_URL", u);
        }
        if let Some(t) = &self.token {
            cmd.env("TWISTER_TOKEN", t);
        }
        cmd.spawn().expect("start twister")
    }

    /// Logs in with `--password-stdin`; panics unless it succeeds.
    pub async fn login(&self, user: &str, password: &str) {
        let out = self
            .run_with_stdin(
                &["login", "--user", user, "--password-stdin"],
                Some(&format!("{password}\n")),
            )
            .await;
        assert_eq!(out.code, 0, "login {user}: {out:?}");
    }
}

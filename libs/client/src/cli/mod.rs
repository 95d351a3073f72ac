//! Command-line definition and dispatch of `twister`.

mod audit;
mod auth;
mod device;
mod mail;
mod openflow;
mod openflow_conform;
mod openflow_controller;
mod openflow_listen;
mod output;
mod projects;
mod report;
mod reservations;
mod resource;
mod run;
mod schedules;
mod services;
mod stations;
mod testing;
mod tokens;
mod users;
mod webhooks;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use twister_client::config::{self, CliConfig, DEFAULT_URL};
use twister_client::{exit, Client, ClientError};

/// Twister command-line tool: inventory, reservations, users and tokens of a Twister controller.
///
/// Exit codes: 0 ok, 1 failure, 2 usage or invalid input, 3 not found, 4 conflict (busy, stale version),
/// 5 not logged in or not allowed, 6 controller unreachable, 7 a run waited for did not pass.
#[derive(Debug, Parser)]
#[command(name = "twister", version, propagate_version = true)]
pub struct Args {
    /// Controller URL (default: the config file's, else http://127.0.0.1:8000).
    #[arg(long, global = true, env = "TWISTER_URL")]
    url: Option<String>,
    /// Bearer token (default: the one `twister login` saved).
    #[arg(long, global = true, env = "TWISTER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Configuration file (default: ~/.config/twister/config.toml).
    #[arg(long, global = true, env = "TWISTER_CLI_CONFIG")]
    config: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// PEM file of a CA to trust (besides the public roots) for an https:// controller.
    #[arg(long, global = true, env = "TWISTER_CA_FILE", value_name = "FILE")]
    ca_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Log in and save the session token in the config file.
    Login(auth::LoginArgs),
    /// End the session and forget its token.
    Logout,
    /// Show who the token belongs to and what it may do.
    Whoami,
    /// Manage users (admins).
    #[command(subcommand)]
    Users(users::UsersCmd),
    /// Manage API tokens for automation.
    #[command(subcommand)]
    Tokens(tokens::TokensCmd),
    /// Inventory: testbeds, devices and their properties.
    #[command(subcommand, alias = "res")]
    Resource(resource::ResourceCmd),
    /// Reserve a testbed or device.
    Reserve(reservations::ReserveArgs),
    /// Release a reservation (by id, or by path for your own).
    Release(reservations::ReleaseArgs),
    /// Extend a reservation's lease.
    Renew(reservations::RenewArgs),
    /// List live reservations (held and queued).
    Reservations(reservations::ListArgs),
    /// Reservation history: who held what, from when to when.
    History(reservations::ListArgs),
    /// Query the audit log.
    Audit(audit::AuditArgs),
    /// Runs: start, pause, resume, stop, status, details, logs, junit.
    #[command(subcommand)]
    Run(run::RunCmd),
    /// Projects: suites of tests and their settings.
    #[command(subcommand)]
    Project(projects::ProjectCmd),
    /// Manage stations (register, new token, delete).
    #[command(subcommand)]
    Station(stations::StationCmd),
    /// List stations and whether they are online.
    Stations,
    /// List the EPs stations offer.
    Eps,
    /// Inside a test: write a line to its log.
    Log {
        /// Run (default: $TWISTER_RUN).
        #[arg(long)]
        run: Option<String>,
        /// Which of the original logs: test, running, debug or summary.
        #[arg(long, default_value = "test")]
        kind: String,
        /// Text.
        #[arg(required = true)]
        text: Vec<String>,
    },
    /// Inside a test: set its result explicitly (pass, fail, skipped, aborted, error, timeout).
    Result {
        /// Status.
        status: String,
        /// Why.
        reason: Vec<String>,
    },
    /// Global parameters: your defaults, or (inside a run) the run's values.
    #[command(subcommand)]
    Global(testing::GlobalCmd),
    /// Panic-detect patterns.
    #[command(subcommand)]
    Panic(testing::PanicCmd),
    /// OpenFlow 1.0 / 1.3 messages: decode to JSON (hex, file, pcap) and encode from JSON.
    #[command(subcommand)]
    Openflow(openflow::OpenflowCmd),
    /// Devices of the inventory: run commands, configure, console, health check, SFTP.
    #[command(subcommand)]
    Device(device::DeviceCmd),
    /// Reports: built-in and configured (db.xml), and the reporting configuration.
    #[command(subcommand)]
    Report(report::ReportCmd),
    /// Run mails: SMTP settings, email.xml import, test mail.
    #[command(subcommand)]
    Mail(mail::MailCmd),
    /// Supervised services: ls, start, stop, restart, status, logs, config.
    #[command(subcommand)]
    Service(services::ServiceCmd),
    /// Scheduled runs: ls, add, rm, enable, disable, history.
    #[command(subcommand)]
    Schedule(schedules::ScheduleCmd),
    /// Outgoing webhooks: ls, add, rm, enable, disable, ping, deliveries.
    #[command(subcommand)]
    Webhook(webhooks::WebhookCmd),
}

/// What every command gets: the connection settings and the output mode.
pub struct Ctx {
    /// Client (with token when one is known).
    pub client: Client,
    /// JSON output.
    pub json: bool,
    /// Config file path, if one could be determined.
    pub config_path: Option<PathBuf>,
    /// Its contents.
    pub config: CliConfig,
    /// Whether the URL came from a flag or the environment (then login saves it).
    pub url_given: bool,
}

/// A command failure with its exit code.
#[derive(Debug)]
pub struct Failure {
    /// Exit code.
    pub code: i32,
    /// Message for stderr.
    pub message: String,
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Failure {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

impl Failure {
    /// A usage failure (exit 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: exit::USAGE,
            message: message.into(),
        }
    }

    /// A general failure (exit 1).
    pub fn other(message: impl Into<String>) -> Failure {
        Failure {
            code: exit::FAILURE,
            message: message.into(),
        }
    }
}

/// Command result.
pub type CmdResult = Result<(), Failure>;

/// Runs the tool; returns the process exit code.
pub fn main() -> i32 {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return code;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return exit::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => exit::OK,
        Err(f) => {
            eprintln!("error: {}", f.message);
            f.code
        }
    }
}

async fn run(args: Args) -> CmdResult {
    let config_path = args.config.clone().or_else(config::default_path);
    let config = match &config_path {
        Some(p) => CliConfig::load(p).map_err(|e| Failure::usage(e.to_string()))?,
        None => CliConfig::default(),
    };
    let url_given = args.url.is_some();
    let url = args
        .url
        .clone()
        .or_else(|| config.url.clone())
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    let token = args
        .token
        .clone()
        .filter(|t| !t.is_empty())
        .or_else(|| config.token.clone());
    let client = Client::with_ca_file(&url, token, args.ca_file.as_deref())?;
    let mut ctx = Ctx {
        client,
        json: args.json,
        config_path,
        config,
        url_given,
    };
    match args.command {
        Command::Login(a) => auth::login(&mut ctx, a).await,
        Command::Logout => auth::logout(&mut ctx).await,
        Command::Whoami => auth::whoami(&ctx).await,
        Command::Users(c) => users::run(&ctx, c).await,
        Command::Tokens(c) => tokens::run(&ctx, c).await,
        Command::Resource(c) => resource::run(&ctx, c).await,
        Command::Reserve(a) => reservations::reserve(&ctx, a).await,
        Command::Release(a) => reservations::release(&ctx, a).await,
        Command::Renew(a) => reservations::renew(&ctx, a).await,
        Command::Reservations(a) => reservations::list(&ctx, a, false).await,
        Command::History(a) => reservations::list(&ctx, a, true).await,
        Command::Audit(a) => audit::run(&ctx, a).await,
        Command::Run(c) => run::run(&ctx, c).await,
        Command::Project(c) => projects::run(&ctx, c).await,
        Command::Station(c) => stations::run(&ctx, c).await,
        Command::Stations => stations::list(&ctx).await,
        Command::Eps => stations::eps(&ctx).await,
        Command::Log { run, kind, text } => testing::log(&ctx, run, kind, text).await,
        Command::Result { status, reason } => testing::result(&status, reason),
        Command::Global(c) => testing::global(&ctx, c).await,
        Command::Panic(c) => testing::panic(&ctx, c).await,
        Command::Openflow(c) => openflow::run(ctx.json, c),
        Command::Device(c) => device::run(&ctx, c).await,
        Command::Report(c) => report::run(&ctx, c).await,
        Command::Mail(c) => mail::run(&ctx, c).await,
        Command::Service(c) => services::run(&ctx, c).await,
        Command::Schedule(c) => schedules::run(&ctx, c).await,
        Command::Webhook(c) => webhooks::run(&ctx, c).await,
    }
}

/// Reads one secret: the first line of stdin with `from_stdin`, else a hidden prompt on the terminal.
pub fn read_secret(prompt: &str, from_stdin: bool) -> Result<String, Failure> {
    let value = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| Failure::other(format!("cannot read stdin: {e}")))?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        rpassword::prompt_password(prompt).map_err(|e| {
            Failure::usage(format!(
                "cannot prompt for a password ({e}); use --password-stdin"
            ))
        })?
    };
    if value.is_empty() {
        return Err(Failure::usage("empty password"));
    }
    Ok(value)
}

/// Parses `--for`-style durations for clap.
pub fn duration_arg(s: &str) -> Result<u64, String> {
    twister_client::duration::parse_duration(s)
}

//! The conformance suite: a catalogue of cases in groups, each with an id, a title, the specification section
//! it checks, the ONF TS-026 test number where one is known and whether the behaviour is required; a runner
//! that gives each case a verdict (pass, fail, error, unsupported) under a settle-and-retry policy, reruns
//! failures and flags a case flaky only when its runs disagree; evidence (control channel and data plane as
//! pcapng) per case; reports as JSON and JUnit XML.
//!
//! Most cases are generated from tables: one per match field (and masked field) per version, one per action
//! or set-field, one per stats or multipart type. Cases that touch the data plane call its blocking
//! functions through `tokio::task::block_in_place`, so they need a multi-threaded Tokio runtime.
//!
//! ```no_run
//! # async fn f(sw: twister_openflow::channel::Switch, dp: twister_openflow::dataplane::DataPlane) {
//! use twister_openflow::conformance::{catalogue, Context, RunOptions, Runner};
//! let ctx = Context::new(&sw, &dp, vec![1, 2, 3]);
//! let cases = catalogue(sw.version());
//! let report = Runner::new(RunOptions::default()).run(&ctx, &cases, |_, _| {}).await;
//! println!("{} passed", report.count(twister_openflow::conformance::Verdict::Pass));
//! # }
//! ```

mod actions;
mod cases;
mod catalogue;
mod channel_failure;
mod channel_handshake;
mod codes;
mod evidence;
mod families;
mod families10;
mod fields;
mod flow_options;
mod flow_table;
mod match_action;
mod meters;
mod named10;
mod outage;
mod outcome;
mod pipeline;
mod probe;
mod report;
mod runner;
mod single_table;
mod single_table_errors;
mod single_table_info;
mod single_table_paths;
mod steps;
mod table_config;
mod ts026;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::channel::{ChannelError, ControlRecord, Switch, SwitchDirectory};
use crate::dataplane::{DataPlane, DataPlaneError};

pub use catalogue::{catalogue, groups};
pub use evidence::write_evidence;
pub use outage::FailMode;
pub use report::{CaseResult, Report};
pub use runner::{RunOptions, Runner};

/// One conformance case of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Stable identifier, e.g. `"of13.match.ipv4_src"`.
    pub id: String,
    /// The group it belongs to (`match`, `action`, `flow_mod`, ...).
    pub group: &'static str,
    /// What it checks.
    pub title: String,
    /// Section of the specification it rests on.
    pub section: &'static str,
    /// ONF TS-026 test number, where one is known.
    pub ts026: Option<&'static str>,
    /// True when the specification requires the behaviour (false: optional feature).
    pub required: bool,
    /// Wire version the case is for.
    pub version: u8,
    pub(crate) body: Body,
}

/// What a case does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// A hand-written case, by name.
    Named(&'static str),
    /// A flow matching one field: the frame carrying it is forwarded, a frame that differs is not; on the
    /// field's own probe, or on another carrier.
    Match {
        field: fields::Field,
        masked: bool,
        carrier: Option<fields::Carrier>,
        outcome: outcome::Outcome,
    },
    /// An action (or set-field) applied to a probe gives the expected frame, out of a data port or in a
    /// packet-in.
    Action {
        action: actions::ActionCase,
        carrier: Option<fields::Carrier>,
        outcome: outcome::Outcome,
    },
    /// A stats or multipart request of this kind is answered with a reply of the same kind.
    Stats(&'static str),
    /// A case of the generated families (prerequisites, bad values, packet-out per action, echo sizes).
    Family(families::Family),
    /// A group case (`group_all`, ...) on the frame of another carrier.
    Group {
        name: &'static str,
        carrier: fields::Carrier,
    },
    /// A meter case: a drop band's rate in packets or kilobits, with or without a burst, on a carrier.
    Meter(meters::MeterCase),
    /// A case of the 1.0 families (per field, prefix lengths, set-action values).
    Family10(families10::Family10),
}

/// The verdict of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The switch behaved as the specification says.
    Pass,
    /// The switch behaved against the specification.
    Fail,
    /// The harness could not run the case (socket, connection, ...); says nothing about the switch.
    Error,
    /// The switch declares the feature absent or rejects it with the error the specification allows.
    Unsupported,
}

impl Verdict {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
            Verdict::Unsupported => "unsupported",
        }
    }
}

/// Why a case did not pass.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// No case with this id.
    #[error("unknown case {0}")]
    Unknown(String),
    /// The switch speaks another version than the case needs.
    #[error("case needs version {needs}, the switch speaks {speaks}")]
    WrongVersion {
        /// Version of the case.
        needs: u8,
        /// Negotiated version.
        speaks: u8,
    },
    /// The channel failed.
    #[error("channel: {0}")]
    Channel(#[from] ChannelError),
    /// The data plane failed or saw the wrong thing.
    #[error("data plane: {0}")]
    DataPlane(#[from] DataPlaneError),
    /// The switch behaved against the specification.
    #[error("{0}")]
    Failed(String),
    /// The switch does not support the feature, in a way the specification allows.
    #[error("{0}")]
    Unsupported(String),
    /// The harness could not run the case (says nothing about the switch): the switch did not come back
    /// after an earlier case took its channel down, say.
    #[error("{0}")]
    Harness(String),
}

impl CaseError {
    /// The verdict this error stands for.
    pub fn verdict(&self) -> Verdict {
        match self {
            CaseError::Failed(_) => Verdict::Fail,
            CaseError::Unsupported(_) => Verdict::Unsupported,
            CaseError::DataPlane(DataPlaneError::Missing { .. } | DataPlaneError::Unexpected { .. }) => {
                Verdict::Fail
            }
            // The switch did not answer a request in time, or refused it: its fault, not the harness's.
            CaseError::Channel(ChannelError::Timeout(..) | ChannelError::Rejected(_)) => Verdict::Fail,
            CaseError::Channel(ChannelError::Unexpected { .. }) => Verdict::Fail,
            _ => Verdict::Error,
        }
    }
}

/// What a case runs against, and the timing policy.
#[derive(Debug)]
pub struct Context<'a> {
    /// The switch under test, connected in the case's version; replaced when the switch reconnects.
    switch: std::sync::Mutex<Switch>,
    /// The negotiated version (a reconnect keeps it).
    version: u8,
    /// Raw sockets on the switch's data ports.
    pub dataplane: &'a DataPlane,
    /// Data port numbers the cases may use (at least two; the first is the ingress; group cases use a third).
    pub ports: Vec<u32>,
    /// How long to wait for an asynchronous message or a counter to move.
    pub timeout: Duration,
    /// Pause after a barrier reply before the data plane is used (the fast path may lag the barrier).
    pub settle: Duration,
    /// How long one forwarding attempt waits for its frame.
    pub step: Duration,
    /// Forwarding attempts before a frame counts as not forwarded (the frame is re-sent each time).
    pub attempts: u32,
    /// How long "no frame" is watched for.
    pub quiet: Duration,
    /// The controller's switches: lets the control-channel cases close the channel, refuse the switch for
    /// a while and take its next connection. None: those cases are unsupported.
    pub directory: Option<SwitchDirectory>,
    /// The mode the switch is configured to enter when it loses its controller (1.3 §6.3.6): which of the
    /// fail-secure and fail-standalone cases apply.
    pub fail_mode: FailMode,
    /// How long the switch may take to notice a dead controller, or to fail over to standalone, and to
    /// come back once it is let in again.
    pub failover: Duration,
    /// When the switch last acknowledged a change to its tables (a barrier reply), for the settle time.
    changed: std::sync::Mutex<Option<tokio::time::Instant>>,
    /// While the control channel is recorded: what was recorded on connections that closed during the
    /// case, and the raw exchanges (None: not recording).
    carried: std::sync::Mutex<Option<Vec<ControlRecord>>>,
    /// Set when the switch did not come back after a case took its channel down.
    channel_lost: std::sync::atomic::AtomicBool,
}

impl<'a> Context<'a> {
    /// A context with the default timing: settle 40 ms, 4 forwarding attempts of 400 ms, 300 ms quiet
    /// time, 3 s for asynchronous messages, 60 s failover; the switch configured fail-secure and no
    /// directory (set [`Context::directory`] to run the control-channel cases).
    pub fn new(switch: &Switch, dataplane: &'a DataPlane, ports: Vec<u32>) -> Context<'a> {
        Context {
            switch: std::sync::Mutex::new(switch.clone()),
            version: switch.version(),
            dataplane,
            ports,
            timeout: Duration::from_secs(3),
            settle: Duration::from_millis(40),
            step: Duration::from_millis(400),
            attempts: 4,
            quiet: Duration::from_millis(300),
            directory: None,
            fail_mode: FailMode::Secure,
            failover: Duration::from_secs(60),
            changed: std::sync::Mutex::new(None),
            carried: std::sync::Mutex::new(None),
            channel_lost: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The negotiated OpenFlow version (wire number).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The switch under test (its current connection).
    pub fn switch(&self) -> Switch {
        self.switch.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Starts recording the control channel, the connections the switch makes during the case included.
    pub fn start_recording(&self) {
        *self.carried() = Some(Vec::new());
        if let Some(d) = &self.directory {
            d.record_new_connections(true);
        }
        self.switch().start_recording();
    }

    /// Stops recording and returns the control-channel messages of every connection since
    /// [`Context::start_recording`].
    pub fn take_recording(&self) -> Vec<ControlRecord> {
        if let Some(d) = &self.directory {
            d.record_new_connections(false);
        }
        let mut all = self.carried().take().unwrap_or_default();
        all.extend(self.switch().take_recording());
        // Several connections (and raw exchanges) in time order.
        all.sort_by_key(|r| r.at);
        all
    }

    /// Keeps bytes a case exchanged by hand on a raw connection, when the channel is being recorded.
    pub(crate) fn record_raw(&self, from_switch: bool, bytes: &[u8]) {
        if let Some(records) = self.carried().as_mut() {
            records.push(ControlRecord {
                at: std::time::SystemTime::now(),
                from_switch,
                bytes: bytes.to_vec(),
            });
        }
    }

    fn carried(&self) -> std::sync::MutexGuard<'_, Option<Vec<ControlRecord>>> {
        self.carried.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The data-plane filter for the suite: frames carrying the probe marker are always kept (IPv6 and ARP
/// probes included); other frames are kept unless they are background traffic.
pub fn keep_frame(frame: &[u8]) -> bool {
    probe::has_marker(frame) || !crate::dataplane::packet::is_background(frame)
}

/// Runs one case once.
pub async fn run_case(case: &Case, ctx: &Context<'_>) -> Result<(), CaseError> {
    // A case before this one may have left the switch refused or disconnected: take it back first.
    ctx.restore_channel().await?;
    if ctx.version() != case.version {
        return Err(CaseError::WrongVersion {
            needs: case.version,
            speaks: ctx.version(),
        });
    }
    if ctx.ports.len() < 2 {
        return Err(CaseError::Failed(
            "the suite needs at least two data ports".into(),
        ));
    }
    let result = cases::run(case, ctx).await;
    // A case that closed the channel or refused the switch lets it back in before its verdict stands.
    let restored = ctx.restore_channel().await;
    result.and(restored)
}

/// Runs the catalogue case with this id once.
pub async fn run(id: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let case = find(id).ok_or_else(|| CaseError::Unknown(id.to_string()))?;
    run_case(&case, ctx).await
}

/// The catalogue entry with this id.
pub fn find(id: &str) -> Option<Case> {
    [crate::OFP10_VERSION, crate::OFP13_VERSION]
        .into_iter()
        .flat_map(catalogue)
        .find(|c| c.id == id)
}

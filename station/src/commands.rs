//! Executing the controller's commands, once each and in order: a command numbered at or below the persisted
//! `last_command_seq` is not executed again but acknowledged again.

use tokio::sync::mpsc;
use twister_proto::link::{Command, EpInfo, StationEvent, Stream, TestJob};
use twister_proto::TestStatus;

use crate::outbox::Outbox;
use crate::runner::Runner;
use crate::state::TestKey;
use crate::time::now_ms;

/// A numbered command from the controller.
#[derive(Debug, Clone, PartialEq)]
pub struct Numbered {
    /// Sequence number.
    pub seq: u64,
    /// The command.
    pub command: Command,
}

/// Executes commands with a [`Runner`] for the EPs this station offers.
#[derive(Debug, Clone)]
pub struct Executor {
    runner: Runner,
    eps: Vec<EpInfo>,
}

impl Executor {
    /// An executor for `eps`.
    pub fn new(runner: Runner, eps: Vec<EpInfo>) -> Executor {
        Executor { runner, eps }
    }

    fn outbox(&self) -> &Outbox {
        self.runner.outbox()
    }

    /// Executes commands from `commands` one after the other, sending the number of each one done (or
    /// already done before) to `acks`, until `commands` closes.
    pub async fn run(
        self,
        mut commands: mpsc::UnboundedReceiver<Numbered>,
        acks: mpsc::UnboundedSender<u64>,
    ) {
        while let Some(n) = commands.recv().await {
            if let Some(seq) = self.handle(n).await {
                let _ = acks.send(seq);
            }
        }
    }

    /// Executes one command unless it was executed before; returns the number to acknowledge (none when the
    /// execution could not be recorded: the controller then sends the command again).
    pub async fn handle(&self, n: Numbered) -> Option<u64> {
        if n.seq <= self.outbox().last_command_seq() {
            tracing::debug!(seq = n.seq, "command already executed; acknowledging again");
            return Some(n.seq);
        }
        match n.command {
            Command::StartTest(job) => self.start(*job).await,
            Command::StopTest {
                run,
                test,
                status,
                reason,
            } => {
                let key = TestKey::new(run, test);
                if self.runner.stop(&key, status, reason) {
                    tracing::info!(test = %key, %status, "stopping test");
                } else {
                    tracing::info!(test = %key, "stop for a test that is not running; nothing to do");
                }
            }
        }
        match self.outbox().set_last_command_seq(n.seq) {
            Ok(()) => Some(n.seq),
            Err(e) => {
                tracing::error!(seq = n.seq, error = %e, "cannot record an executed command");
                None
            }
        }
    }

    async fn start(&self, job: TestJob) {
        let refusal = match self.eps.iter().find(|e| e.name == job.ep) {
            None => Some(format!("cannot start: EP {:?} is not on this station", job.ep)),
            Some(ep) if !ep.enabled => Some(format!("cannot start: EP {:?} is disabled", job.ep)),
            Some(_) => None,
        };
        let Some(reason) = refusal else {
            let key = TestKey::new(&job.run, &job.test);
            let started = self.runner.start(job).await;
            tracing::info!(test = %key, ?started, "start test");
            return;
        };
        tracing::warn!(run = %job.run, test = %job.test, %reason, "refusing a test");
        let push = |e| {
            if let Err(err) = self.outbox().push(e) {
                tracing::error!(error = %err, "cannot spool an event");
            }
        };
        push(StationEvent::Output {
            run: job.run.clone(),
            test: job.test.clone(),
            stream: Stream::Station,
            at_ms: now_ms(),
            text: format!("{reason}\n"),
        });
        push(StationEvent::TestFinished {
            run: job.run,
            test: job.test,
            status: TestStatus::Error,
            reason: Some(reason),
            exit_code: None,
            at_ms: now_ms(),
            duration_ms: 0,
        });
    }
}

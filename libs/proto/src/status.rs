//! Test statuses, how a suite or a run rolls them up, how they map to JUnit, and what a test process's exit
//! code means.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The status of a test, a suite or a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    /// Not started yet.
    Pending,
    /// Waiting for a dependency or a testbed.
    Waiting,
    /// Running now.
    Running,
    /// Passed.
    Pass,
    /// Failed (the test said so, or exited non-zero).
    Fail,
    /// Crashed or could not run (signal, missing interpreter, station lost).
    Error,
    /// Skipped on purpose (unmet dependency, test chose to skip, not runnable).
    Skipped,
    /// Stopped by a user or by panic detect.
    Aborted,
    /// Never run because the run or suite stopped before it.
    NotExecuted,
    /// Killed after its time limit.
    Timeout,
}

impl TestStatus {
    /// Every status.
    pub const ALL: [TestStatus; 10] = [
        TestStatus::Pending,
        TestStatus::Waiting,
        TestStatus::Running,
        TestStatus::Pass,
        TestStatus::Fail,
        TestStatus::Error,
        TestStatus::Skipped,
        TestStatus::Aborted,
        TestStatus::NotExecuted,
        TestStatus::Timeout,
    ];

    /// The snake_case name used in JSON, the database and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            TestStatus::Pending => "pending",
            TestStatus::Waiting => "waiting",
            TestStatus::Running => "running",
            TestStatus::Pass => "pass",
            TestStatus::Fail => "fail",
            TestStatus::Error => "error",
            TestStatus::Skipped => "skipped",
            TestStatus::Aborted => "aborted",
            TestStatus::NotExecuted => "not_executed",
            TestStatus::Timeout => "timeout",
        }
    }

    /// Whether the status may still change (pending, waiting, running).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            TestStatus::Pending | TestStatus::Waiting | TestStatus::Running
        )
    }

    /// Whether this is a final outcome.
    pub fn is_final(self) -> bool {
        !self.is_live()
    }

    /// Whether the outcome counts as a failure for stop-on-fail and for exit codes of `twister run`.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            TestStatus::Fail | TestStatus::Error | TestStatus::Aborted | TestStatus::Timeout
        )
    }

    /// Rank of a final status in the roll-up, worst first: error > aborted > timeout > fail > not_executed >
    /// pass > skipped.
    fn severity(self) -> u8 {
        match self {
            TestStatus::Error => 7,
            TestStatus::Aborted => 6,
            TestStatus::Timeout => 5,
            TestStatus::Fail => 4,
            TestStatus::NotExecuted => 3,
            TestStatus::Pass => 2,
            TestStatus::Skipped => 1,
            TestStatus::Pending | TestStatus::Waiting | TestStatus::Running => 0,
        }
    }

    /// Rolls the statuses of a suite's (or a run's) members up into one.
    ///
    /// While anything is live the result is live: `running` if anything runs or some members have finished
    /// while others wait, `waiting` if everything left waits, `pending` if nothing has started. Once everything
    /// is final, the worst outcome wins by the precedence error > aborted > timeout > fail > not_executed > pass >
    /// skipped. An empty set rolls up to `skipped` (nothing to do is not a failure).
    ///
    /// ```
    /// use twister_proto::TestStatus::*;
    /// assert_eq!(twister_proto::TestStatus::roll_up([Pass, Fail, Skipped]), Fail);
    /// assert_eq!(twister_proto::TestStatus::roll_up([Pass, Pending]), Running);
    /// ```
    pub fn roll_up(members: impl IntoIterator<Item = TestStatus>) -> TestStatus {
        let (mut any, mut running, mut waiting, mut pending, mut finished) =
            (false, false, false, false, false);
        let mut worst: Option<TestStatus> = None;
        for s in members {
            any = true;
            match s {
                TestStatus::Running => running = true,
                TestStatus::Waiting => waiting = true,
                TestStatus::Pending => pending = true,
                f => {
                    finished = true;
                    if worst.is_none_or(|w| f.severity() > w.severity()) {
                        worst = Some(f);
                    }
                }
            }
        }
        if !any {
            return TestStatus::Skipped;
        }
        if running || ((waiting || pending) && finished) {
            return TestStatus::Running;
        }
        if waiting {
            return TestStatus::Waiting;
        }
        if pending {
            return TestStatus::Pending;
        }
        worst.unwrap_or(TestStatus::Skipped)
    }

    /// The JUnit element for this outcome: fail → `failure`; error, aborted, timeout → `error`; skipped and
    /// not_executed → `skipped`; pass → none.
    pub fn junit(self) -> JunitOutcome {
        match self {
            TestStatus::Pass => JunitOutcome::Passed,
            TestStatus::Fail => JunitOutcome::Failure,
            TestStatus::Error | TestStatus::Aborted | TestStatus::Timeout => JunitOutcome::Error,
            TestStatus::Skipped | TestStatus::NotExecuted => JunitOutcome::Skipped,
            TestStatus::Pending | TestStatus::Waiting | TestStatus::Running => JunitOutcome::Skipped,
        }
    }
}

/// How a test appears in a JUnit report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JunitOutcome {
    /// No child element.
    Passed,
    /// `<failure>`.
    Failure,
    /// `<error>`.
    Error,
    /// `<skipped>`.
    Skipped,
}

impl fmt::Display for TestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStatus(pub String);

impl fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown test status {:?}", self.0)
    }
}

impl std::error::Error for UnknownStatus {}

impl FromStr for TestStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TestStatus::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// What a test process's exit code means, in any language (the convention of automake's test harness, plus a
/// code for abort).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitCode;

impl ExitCode {
    /// The test passed.
    pub const PASS: i32 = 0;
    /// The test failed.
    pub const FAIL: i32 = 1;
    /// The test decided to skip itself.
    pub const SKIP: i32 = 77;
    /// The test asks the run to abort it (and, with stop-on-fail, the run).
    pub const ABORT: i32 = 78;
    /// The test hit an error that is not the device's fault (set-up broken, tool missing).
    pub const ERROR: i32 = 99;
    /// The test timed out by its own measure (as `timeout(1)` reports).
    pub const TIMEOUT: i32 = 124;

    /// The status for a process that exited with `code`, or was killed by a signal (`None`).
    pub fn status(code: Option<i32>) -> TestStatus {
        match code {
            Some(Self::PASS) => TestStatus::Pass,
            Some(Self::SKIP) => TestStatus::Skipped,
            Some(Self::ABORT) => TestStatus::Aborted,
            Some(Self::ERROR) => TestStatus::Error,
            Some(Self::TIMEOUT) => TestStatus::Timeout,
            Some(_) => TestStatus::Fail,
            None => TestStatus::Error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TestStatus::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn precedence() {
        assert_eq!(TestStatus::roll_up([Pass, Skipped]), Pass);
        assert_eq!(TestStatus::roll_up([Skipped, Skipped]), Skipped);
        assert_eq!(TestStatus::roll_up([Pass, NotExecuted]), NotExecuted);
        assert_eq!(TestStatus::roll_up([Fail, NotExecuted]), Fail);
        assert_eq!(TestStatus::roll_up([Fail, Timeout]), Timeout);
        assert_eq!(TestStatus::roll_up([Timeout, Aborted]), Aborted);
        assert_eq!(TestStatus::roll_up([Aborted, Error, Pass]), Error);
        assert_eq!(TestStatus::roll_up([]), Skipped);
    }

    #[test]
    fn live_states() {
        assert_eq!(TestStatus::roll_up([Pending, Pending]), Pending);
        assert_eq!(TestStatus::roll_up([Waiting, Pending]), Waiting);
        assert_eq!(TestStatus::roll_up([Pass, Waiting]), Running);
        assert_eq!(TestStatus::roll_up([Running, Fail]), Running);
        assert_eq!(TestStatus::roll_up([Error, Pending]), Running);
    }

    #[test]
    fn names_round_trip() {
        for s in TestStatus::ALL {
            assert_eq!(s.as_str().parse::<TestStatus>(), Ok(s));
            assert_eq!(
                serde_json::to_string(&s).expect("json"),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!("passed".parse::<TestStatus>().is_err());
    }

    #[test]
    fn exit_codes() {
        assert_eq!(ExitCode::status(Some(0)), Pass);
        assert_eq!(ExitCode::status(Some(1)), Fail);
        assert_eq!(ExitCode::status(Some(3)), Fail);
        assert_eq!(ExitCode::status(Some(77)), Skipped);
        assert_eq!(ExitCode::status(Some(78)), Aborted);
        assert_eq!(ExitCode::status(Some(99)), Error);
        assert_eq!(ExitCode::status(Some(124)), Timeout);
        assert_eq!(ExitCode::status(None), Error);
    }

    #[test]
    fn junit_mapping() {
        assert_eq!(Fail.junit(), JunitOutcome::Failure);
        for s in [Error, Aborted, Timeout] {
            assert_eq!(s.junit(), JunitOutcome::Error);
        }
        for s in [Skipped, NotExecuted] {
            assert_eq!(s.junit(), JunitOutcome::Skipped);
        }
        assert_eq!(Pass.junit(), JunitOutcome::Passed);
    }

    fn arb_status() -> impl Strategy<Value = TestStatus> {
        prop::sample::select(TestStatus::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn roll_up_is_order_independent_and_worst_wins(v in prop::collection::vec(arb_status(), 0..12)) {
            let a = TestStatus::roll_up(v.iter().copied());
            let mut r = v.clone();
            r.reverse();
            prop_assert_eq!(a, TestStatus::roll_up(r));
            if v.iter().all(|s| s.is_final()) && !v.is_empty() {
                prop_assert!(v.contains(&a));
                prop_assert!(v.iter().all(|s| s.severity() <= a.severity()));
            }
            prop_assert_eq!(a.is_live(), v.iter().any(|s| s.is_live()));
        }

        #[test]
        fn nesting_is_consistent(
            v in prop::collection::vec(arb_status().prop_filter("final", |s| s.is_final()), 1..12),
            split in 0usize..12,
        ) {
            // A run rolled up from suites equals the roll-up of all tests, for final outcomes.
            let k = split.min(v.len());
            let (a, b) = v.split_at(k);
            let parts: Vec<TestStatus> = [a, b].iter().filter(|p| !p.is_empty()).map(|p| TestStatus::roll_up(p.iter().copied())).collect();
            prop_assert_eq!(TestStatus::roll_up(parts), TestStatus::roll_up(v.iter().copied()));
        }
    }
}

//! The suite runner: each case once, failures and errors rerun, verdict by majority, flaky when the runs
//! disagree, evidence per case.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use super::report::{CaseResult, Report};
use super::{run_case, Case, Context, Verdict};

/// How the suite runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Extra runs of a case whose first run failed or erred (0: none).
    pub reruns: u32,
    /// Where to write one pcapng per case (`<id>.pcapng`); none: no evidence.
    pub evidence_dir: Option<PathBuf>,
    /// Run each case that failed or erred once more after the last case. A pass then makes its verdict
    /// pass, flagged flaky (its runs disagree), with the earlier failure kept in the message: a switch
    /// that stalled for some seconds on one flow (Open vSwitch's fast path does, rarely) is told apart
    /// from one that fails the case.
    pub late_rerun: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            reruns: 2,
            evidence_dir: None,
            late_rerun: true,
        }
    }
}

/// Runs cases against one switch.
#[derive(Debug, Clone, Default)]
pub struct Runner {
    options: RunOptions,
}

/// The verdict most runs gave; a tie goes to the earliest run among the tied verdicts.
fn majority(runs: &[Verdict]) -> Verdict {
    let mut counts: BTreeMap<Verdict, usize> = BTreeMap::new();
    for v in runs {
        *counts.entry(*v).or_default() += 1;
    }
    let best = counts.values().copied().max().unwrap_or(0);
    runs.iter()
        .copied()
        .find(|v| counts.get(v) == Some(&best))
        .unwrap_or(Verdict::Error)
}

impl Runner {
    /// A runner with these options.
    pub fn new(options: RunOptions) -> Runner {
        Runner { options }
    }

    /// Runs the cases in order; `progress` is called after each with its index and result.
    pub async fn run(
        &self,
        ctx: &Context<'_>,
        cases: &[Case],
        mut progress: impl FnMut(usize, &CaseResult),
    ) -> Report {
        let started = Instant::now();
        if let Some(dir) = &self.options.evidence_dir {
            let _ = std::fs::create_dir_all(dir);
        }
        let mut results = Vec::with_capacity(cases.len());
        for (i, case) in cases.iter().enumerate() {
            let t0 = Instant::now();
            let recording = self.options.evidence_dir.is_some();
            if recording {
                ctx.start_recording();
                ctx.dataplane.start_recording();
            }
            let mut runs = Vec::new();
            let mut first_message = String::new();
            let mut messages = Vec::new();
            for attempt in 0..=self.options.reruns {
                let (verdict, message) = match run_case(case, ctx).await {
                    Ok(()) => (Verdict::Pass, String::new()),
                    Err(e) => (e.verdict(), e.to_string()),
                };
                if attempt == 0 {
                    first_message = message.clone();
                }
                runs.push(verdict);
                messages.push(message);
                if attempt == 0 && matches!(verdict, Verdict::Pass | Verdict::Unsupported) {
                    break;
                }
            }
            let verdict = majority(&runs);
            let message = runs
                .iter()
                .zip(&messages)
                .find(|(v, _)| **v == verdict)
                .map(|(_, m)| m.clone())
                .unwrap_or(first_message);
            let mut result = CaseResult::new(case, verdict, message);
            result.flaky = runs.iter().any(|v| *v != runs[0]);
            result.runs = runs;
            if let (true, Some(dir)) = (recording, &self.options.evidence_dir) {
                let control = ctx.take_recording();
                let frames = ctx.dataplane.take_recording();
                let name = format!("{}.pcapng", case.id);
                match super::write_evidence(&dir.join(&name), &control, &frames) {
                    Ok(()) => result.evidence = Some(name),
                    Err(e) => {
                        if !result.message.is_empty() {
                            result.message.push_str("; ");
                        }
                        result.message.push_str(&format!("evidence not written: {e}"));
                    }
                }
            }
            result.duration_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
            progress(i, &result);
            results.push(result);
        }
        if self.options.late_rerun {
            for (case, result) in cases.iter().zip(results.iter_mut()) {
                if !matches!(result.verdict, Verdict::Fail | Verdict::Error) {
                    continue;
                }
                let t0 = Instant::now();
                let late = run_case(case, ctx).await;
                let verdict = match &late {
                    Ok(()) => Verdict::Pass,
                    Err(e) => e.verdict(),
                };
                result.runs.push(verdict);
                result.duration_ms = result
                    .duration_ms
                    .saturating_add(u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX));
                if verdict == Verdict::Pass {
                    result.verdict = Verdict::Pass;
                    result.flaky = true;
                    result.message = format!(
                        "passed when run again after the last case; earlier: {}",
                        result.message
                    );
                }
            }
        }
        Report {
            version: ctx.version(),
            datapath_id: format!("{:016x}", ctx.switch().datapath_id()),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            results,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_and_ties() {
        use Verdict::*;
        assert_eq!(majority(&[Fail, Pass, Pass]), Pass);
        assert_eq!(majority(&[Fail, Fail, Pass]), Fail);
        assert_eq!(majority(&[Fail, Error, Pass]), Fail);
        assert_eq!(majority(&[Pass]), Pass);
    }
}

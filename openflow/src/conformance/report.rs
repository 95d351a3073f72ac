//! Results and reports: one [`CaseResult`] per case, the [`Report`] of a run as JSON and as JUnit XML.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{Case, Verdict};

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// Group.
    pub group: String,
    /// Title.
    pub title: String,
    /// Specification section.
    pub section: String,
    /// ONF TS-026 test number, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts026: Option<String>,
    /// Whether the behaviour is required.
    pub required: bool,
    /// The verdict (the majority of the runs when a failure was rerun).
    pub verdict: Verdict,
    /// What went wrong (empty on pass).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Verdict of every run, first run first.
    pub runs: Vec<Verdict>,
    /// True when the runs disagree.
    pub flaky: bool,
    /// Wall time of all runs, in milliseconds.
    pub duration_ms: u64,
    /// Evidence file (pcapng), relative to the report directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

impl CaseResult {
    /// A result for this case.
    pub fn new(case: &Case, verdict: Verdict, message: String) -> CaseResult {
        CaseResult {
            id: case.id.clone(),
            group: case.group.to_string(),
            title: case.title.clone(),
            section: case.section.to_string(),
            ts026: case.ts026.map(str::to_string),
            required: case.required,
            verdict,
            message,
            runs: vec![verdict],
            flaky: false,
            duration_ms: 0,
            evidence: None,
        }
    }
}

/// The report of one suite run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Wire version of the run.
    pub version: u8,
    /// Datapath id of the switch, hex.
    pub datapath_id: String,
    /// Wall time of the run, in milliseconds.
    pub duration_ms: u64,
    /// One result per case, in catalogue order.
    pub results: Vec<CaseResult>,
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

impl Report {
    /// Number of results with this verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.results.iter().filter(|r| r.verdict == verdict).count()
    }

    /// Number of flaky results.
    pub fn flaky(&self) -> usize {
        self.results.iter().filter(|r| r.flaky).count()
    }

    /// One line: `212 cases: 180 pass, 3 fail, 0 error, 29 unsupported, 0 flaky`.
    pub fn summary(&self) -> String {
        format!(
            "{} cases: {} pass, {} fail, {} error, {} unsupported, {} flaky",
            self.results.len(),
            self.count(Verdict::Pass),
            self.count(Verdict::Fail),
            self.count(Verdict::Error),
            self.count(Verdict::Unsupported),
            self.flaky()
        )
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The report as JUnit XML: one test suite per group; fail is a failure, error an error, unsupported
    /// skipped (with its reason).
    pub fn to_junit(&self) -> String {
        let mut groups: Vec<&str> = Vec::new();
        for r in &self.results {
            if !groups.contains(&r.group.as_str()) {
                groups.push(&r.group);
            }
        }
        let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            s,
            "<testsuites name=\"openflow-{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            self.version,
            self.results.len(),
            self.count(Verdict::Fail),
            self.count(Verdict::Error),
            self.count(Verdict::Unsupported),
            self.duration_ms as f64 / 1000.0
        );
        for g in groups {
            let rs: Vec<&CaseResult> = self.results.iter().filter(|r| r.group == g).collect();
            let n = |v: Verdict| rs.iter().filter(|r| r.verdict == v).count();
            let _ = writeln!(
                s,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
                xml(g),
                rs.len(),
                n(Verdict::Fail),
                n(Verdict::Error),
                n(Verdict::Unsupported)
            );
            for r in rs {
                let _ = write!(
                    s,
                    "    <testcase classname=\"openflow.{}\" name=\"{}\" time=\"{:.3}\">",
                    xml(g),
                    xml(&r.id),
                    r.duration_ms as f64 / 1000.0
                );
                let msg = xml(&r.message);
                match r.verdict {
                    Verdict::Pass => {}
                    Verdict::Fail => {
                        let _ = write!(s, "<failure message=\"{msg}\">{}</failure>", xml(&r.section));
                    }
                    Verdict::Error => {
                        let _ = write!(s, "<error message=\"{msg}\"/>");
                    }
                    Verdict::Unsupported => {
                        let _ = write!(s, "<skipped message=\"unsupported: {msg}\"/>");
                    }
                }
                let mut props = Vec::new();
                if let Some(n) = &r.ts026 {
                    props.push(format!("ONF TS-026 test {n}"));
                }
                if r.flaky {
                    props.push(format!("flaky: runs {:?}", r.runs));
                }
                if let Some(e) = &r.evidence {
                    props.push(format!("evidence: {e}"));
                }
                if !props.is_empty() {
                    let _ = write!(s, "<system-out>{}</system-out>", xml(&props.join("\n")));
                }
                s.push_str("</testcase>\n");
            }
            s.push_str("  </testsuite>\n");
        }
        s.push_str("</testsuites>\n");
        s
    }
}

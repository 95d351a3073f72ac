//! Projects: settings and a tree of suites holding test cases, as users edit them (the native JSON document).
//! A run takes a snapshot of its project, so editing a project never changes a run in progress.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::error::ApiError;

/// Longest name of a project, suite or test title.
pub const MAX_NAME: usize = 200;
/// Most suites plus tests in one project.
pub const MAX_ITEMS: usize = 200_000;
/// Largest repeat count.
pub const MAX_REPEAT: u32 = 1000;
/// Deepest suite nesting.
pub const MAX_DEPTH: usize = 16;

/// A project: what to run, where, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Unique name.
    pub name: String,
    /// Run settings.
    #[serde(default)]
    pub settings: ProjectSettings,
    /// Top-level suites, run in order on their EPs.
    #[serde(default)]
    pub suites: Vec<Suite>,
}

/// How a project runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectSettings {
    /// Halt the run when a non-optional test fails (teardowns still run).
    pub stop_on_fail: bool,
    /// Save results to the reports database at the end of the run.
    pub db_autosave: bool,
    /// Pause between two tests on one EP, seconds.
    pub delay_s: f64,
    /// Script the controller runs before the run starts (relative to the test-source directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_script: Option<String>,
    /// Script the controller runs after the run ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_script: Option<String>,
    /// A failing pre-script stops the run before any test.
    pub scripts_mandatory: bool,
    /// Library files (relative to the test-source directory) copied beside every test.
    pub libraries: Vec<String>,
    /// User-defined fields, shown in reports.
    pub fields: BTreeMap<String, String>,
}

/// A suite: tests and nested suites, run on one or more EPs against a testbed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Name, unique among its siblings.
    pub name: String,
    /// Stable id for dependencies (default: the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// EPs to run on (each EP runs the whole suite); nested suites inherit when empty.
    #[serde(default)]
    pub eps: Vec<String>,
    /// Testbed (inventory path) reserved and locked while the suite runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub testbed: Option<String>,
    /// Stop the EP when a panic pattern matches the output.
    #[serde(default)]
    pub panic_detect: bool,
    /// Times to run the suite.
    #[serde(default = "one")]
    pub repeat: u32,
    /// Run only after this suite (id) has finished, and only if it passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<String>,
    /// User-defined fields.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Nested suites (run after this suite's tests).
    #[serde(default)]
    #[schema(no_recursion)]
    pub suites: Vec<Suite>,
    /// Test cases, in order.
    #[serde(default)]
    pub tests: Vec<TestCase>,
}

/// One test case: a file under the test-source directory and how to run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// File, relative to the test-source directory.
    pub file: String,
    /// Stable id for dependencies (default: the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Title (default: the file name).
    #[serde(default)]
    pub title: String,
    /// What it checks.
    #[serde(default)]
    pub summary: String,
    /// Run it; a non-runnable test is delivered to the EP but not run (reported skipped).
    #[serde(default = "yes")]
    pub runnable: bool,
    /// Its failure never halts the run.
    #[serde(default)]
    pub optional: bool,
    /// A set-up test: when it fails, the rest of its suite is not executed (teardowns still run).
    #[serde(default)]
    pub setup: bool,
    /// A tear-down test: runs even after a failed set-up or a stop on failure.
    #[serde(default)]
    pub teardown: bool,
    /// Arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Properties handed to the test (JSON in `TWISTER_PROPERTIES`).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Run only after the test with this id has ended with `depends_status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<String>,
    /// Status the dependency must end with (default pass).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_status: Option<String>,
    /// Times to run it.
    #[serde(default = "one")]
    pub repeat: u32,
    /// Time limit, seconds (0: none).
    #[serde(default)]
    pub timeout_s: u64,
}

fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}

impl TestCase {
    /// The id other tests name in `depends_on`.
    pub fn key(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.file)
    }

    /// The title, or the file name.
    pub fn display_title(&self) -> String {
        if self.title.is_empty() {
            self.file.rsplit('/').next().unwrap_or(&self.file).to_string()
        } else {
            self.title.clone()
        }
    }
}

impl Suite {
    /// The id other suites name in `depends_on`.
    pub fn key(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.name)
    }
}

fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.len() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "{what} {name:?}: 1-{MAX_NAME} characters, no control characters"
        )));
    }
    Ok(())
}

/// Checks a file reference: relative, no `..`, no empty segments.
pub fn check_relative_file(what: &str, file: &str) -> Result<(), ApiError> {
    let bad = file.is_empty()
        || file.len() > 1024
        || file.starts_with('/')
        || file.contains('\\')
        || file.chars().any(char::is_control)
        || file.split('/').any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        return Err(ApiError::invalid(format!(
            "{what} {file:?}: must be a relative path inside the test-source directory"
        )));
    }
    Ok(())
}

impl Project {
    /// Validates names, files, counts and dependencies; every problem is a 422 naming the place.
    pub fn validate(&self) -> Result<(), ApiError> {
        check_name("project", &self.name)?;
        if !(0.0..=3600.0).contains(&self.settings.delay_s) || self.settings.delay_s.is_nan() {
            return Err(ApiError::invalid("settings.delay_s: 0 to 3600 seconds"));
        }
        for s in [&self.settings.pre_script, &self.settings.post_script]
            .into_iter()
            .flatten()
        {
            check_relative_file("script", s)?;
        }
        for l in &self.settings.libraries {
            check_relative_file("library", l)?;
        }
        let mut count = 0usize;
        let mut test_keys = BTreeSet::new();
        let mut suite_keys = BTreeSet::new();
        fn walk(
            suites: &[Suite],
            depth: usize,
            count: &mut usize,
            test_keys: &mut BTreeSet<String>,
            suite_keys: &mut BTreeSet<String>,
        ) -> Result<(), ApiError> {
            if depth > MAX_DEPTH {
                return Err(ApiError::invalid(format!("suites nest deeper than {MAX_DEPTH}")));
            }
            let mut names = BTreeSet::new();
            for s in suites {
                check_name("suite", &s.name)?;
                if !names.insert(s.name.as_str()) {
                    return Err(ApiError::invalid(format!(
                        "two suites named {:?} side by side",
                        s.name
                    )));
                }
                suite_keys.insert(s.key().to_string());
                if s.repeat == 0 || s.repeat > MAX_REPEAT {
                    return Err(ApiError::invalid(format!(
                        "suite {:?}: repeat 1-{MAX_REPEAT}",
                        s.name
                    )));
                }
                for ep in &s.eps {
                    check_name("EP", ep)?;
                }
                if let Some(tb) = &s.testbed {
                    crate::inventory::NodePath::parse(tb)
                        .map_err(|e| ApiError::invalid(format!("suite {:?}: testbed: {e}", s.name)))?;
                }
                for t in &s.tests {
                    *count += 1;
                    check_relative_file("test file", &t.file)?;
                    if !t.title.is_empty() {
                        check_name("title", &t.title)?;
                    }
                    if t.repeat == 0 || t.repeat > MAX_REPEAT {
                        return Err(ApiError::invalid(format!(
                            "test {:?}: repeat 1-{MAX_REPEAT}",
                            t.file
                        )));
                    }
                    if t.timeout_s > 7 * 86_400 {
                        return Err(ApiError::invalid(format!(
                            "test {:?}: timeout at most a week",
                            t.file
                        )));
                    }
                    if t.setup && t.teardown {
                        return Err(ApiError::invalid(format!(
                            "test {:?} cannot be both set-up and tear-down",
                            t.file
                        )));
                    }
                    if let Some(st) = &t.depends_status {
                        st.parse::<twister_proto::TestStatus>().map_err(|_| {
                            ApiError::invalid(format!("test {:?}: depends_status {st:?}", t.file))
                        })?;
                    }
                    test_keys.insert(t.key().to_string());
                }
                *count += 1;
                if *count > MAX_ITEMS {
                    return Err(ApiError::invalid(format!(
                        "more than {MAX_ITEMS} suites and tests"
                    )));
                }
                walk(&s.suites, depth + 1, count, test_keys, suite_keys)?;
            }
            Ok(())
        }
        walk(&self.suites, 0, &mut count, &mut test_keys, &mut suite_keys)?;
        // Dependencies must name something in the project.
        fn deps(suites: &[Suite], tests: &BTreeSet<String>, sk: &BTreeSet<String>) -> Result<(), ApiError> {
            for s in suites {
                if let Some(d) = &s.depends_on {
                    if !sk.contains(d) || d == s.key() {
                        return Err(ApiError::invalid(format!(
                            "suite {:?} depends on {d:?}, which is not another suite of the project",
                            s.name
                        )));
                    }
                }
                for t in &s.tests {
                    if let Some(d) = &t.depends_on {
                        if !tests.contains(d) || d == t.key() {
                            return Err(ApiError::invalid(format!(
                                "test {:?} depends on {d:?}, which is not another test of the project",
                                t.file
                            )));
                        }
                    }
                }
                deps(&s.suites, tests, sk)?;
            }
            Ok(())
        }
        deps(&self.suites, &test_keys, &suite_keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: serde_json::Value) -> Result<Project, String> {
        let p: Project = serde_json::from_value(json).map_err(|e| e.to_string())?;
        p.validate().map_err(|e| e.message)?;
        Ok(p)
    }

    #[test]
    fn defaults_and_validation() {
        let ok = p(
            serde_json::json!({"name": "demo", "suites": [{"name": "s", "eps": ["EP-1"],
            "tests": [{"file": "a/b.sh"}, {"file": "c.py", "depends_on": "a/b.sh"}]}]}),
        )
        .unwrap();
        let t = &ok.suites[0].tests[0];
        assert!(t.runnable && !t.optional && t.repeat == 1);
        assert_eq!(t.display_title(), "b.sh");
        for bad in [
            serde_json::json!({"name": ""}),
            serde_json::json!({"name": "x", "suites": [{"name": "s", "tests": [{"file": "../etc/passwd"}]}]}),
            serde_json::json!({"name": "x", "suites": [{"name": "s", "tests": [{"file": "/abs"}]}]}),
            serde_json::json!({"name": "x", "suites": [{"name": "s"}, {"name": "s"}]}),
            serde_json::json!({"name": "x", "suites": [{"name": "s", "repeat": 0}]}),
            serde_json::json!({"name": "x", "suites": [{"name": "s", "tests": [{"file": "a", "depends_on": "b"}]}]}),
            serde_json::json!({"name": "x", "suites": [{"name": "s", "tests": [{"file": "a", "setup": true, "teardown": true}]}]}),
            serde_json::json!({"name": "x", "bogus": 1}),
        ] {
            assert!(p(bad.clone()).is_err(), "{bad}");
        }
    }
}

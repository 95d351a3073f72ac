//! Expanding a project into a run plan: suite and test instances (with repeats) grouped into lanes, one lane per
//! EP. A lane runs its suites one after another; lanes run in parallel. The plan is stored with the run, so a
//! restarted controller resumes exactly the same run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::project::{Project, Suite, TestCase};
use crate::api::error::ApiError;

/// A run's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The project as it was when the run started.
    pub project: Project,
    /// One lane per EP, in the order EPs first appear.
    pub lanes: Vec<Lane>,
}

/// The work of one EP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lane {
    /// EP name.
    pub ep: String,
    /// Suite instances in order.
    pub suites: Vec<SuiteInstance>,
}

/// One suite on one EP, one iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteInstance {
    /// Item id (`s1`, `s2`, …).
    pub id: String,
    /// Parent suite instance (nested suites).
    pub parent: Option<String>,
    /// Suite name.
    pub name: String,
    /// The suite's dependency key.
    pub key: String,
    /// Testbed to reserve and lock.
    pub testbed: Option<String>,
    /// Panic detect on.
    pub panic_detect: bool,
    /// Suite this one waits for (key).
    pub depends_on: Option<String>,
    /// Iteration (1-based).
    pub iteration: u32,
    /// Suite user fields.
    pub fields: BTreeMap<String, String>,
    /// Test instances in order.
    pub tests: Vec<TestInstance>,
}

/// One test instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestInstance {
    /// Item id (`s1.t1`, …).
    pub id: String,
    /// The test case.
    pub case: TestCase,
    /// Iteration (1-based).
    pub iteration: u32,
}

/// A row for the run's item table: suites and tests in display order.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedItem {
    /// Id.
    pub id: String,
    /// Parent suite instance.
    pub parent: Option<String>,
    /// `suite` or `test`.
    pub kind: &'static str,
    /// Name or title.
    pub name: String,
    /// EP.
    pub ep: String,
    /// File (tests).
    pub file: String,
}

impl Plan {
    /// Expands `project`; every suite must end up with at least one EP.
    pub fn expand(project: &Project) -> Result<Plan, ApiError> {
        let mut lanes: Vec<Lane> = Vec::new();
        let mut counter = 0usize;
        fn walk(
            suites: &[Suite],
            inherited_eps: &[String],
            parent_for_ep: &BTreeMap<String, Option<String>>,
            lanes: &mut Vec<Lane>,
            counter: &mut usize,
        ) -> Result<(), ApiError> {
            for s in suites {
                let eps: Vec<String> = if s.eps.is_empty() {
                    inherited_eps.to_vec()
                } else {
                    s.eps.clone()
                };
                if eps.is_empty() {
                    return Err(ApiError::invalid(format!(
                        "suite {:?} has no EP to run on: give it \"eps\"",
                        s.name
                    )));
                }
                for ep in &eps {
                    for iteration in 1..=s.repeat {
                        *counter += 1;
                        let id = format!("s{counter}");
                        let mut tests = Vec::new();
                        let mut n = 0;
                        for t in &s.tests {
                            for ti in 1..=t.repeat {
                                n += 1;
                                tests.push(TestInstance {
                                    id: format!("{id}.t{n}"),
                                    case: t.clone(),
                                    iteration: ti,
                                });
                            }
                        }
                        let inst = SuiteInstance {
                            id: id.clone(),
                            parent: parent_for_ep.get(ep).cloned().flatten(),
                            name: s.name.clone(),
                            key: s.key().to_string(),
                            testbed: s.testbed.clone(),
                            panic_detect: s.panic_detect,
                            depends_on: s.depends_on.clone(),
                            iteration,
                            fields: s.fields.clone(),
                            tests,
                        };
                        let lane = match lanes.iter_mut().position(|l| &l.ep == ep) {
                            Some(i) => &mut lanes[i],
                            None => {
                                lanes.push(Lane {
                                    ep: ep.clone(),
                                    suites: Vec::new(),
                                });
                                let last = lanes.len() - 1;
                                &mut lanes[last]
                            }
                        };
                        lane.suites.push(inst);
                        if !s.suites.is_empty() {
                            let mut parents = parent_for_ep.clone();
                            parents.insert(ep.clone(), Some(id.clone()));
                            walk(&s.suites, std::slice::from_ref(ep), &parents, lanes, counter)?;
                        }
                    }
                }
            }
            Ok(())
        }
        walk(&project.suites, &[], &BTreeMap::new(), &mut lanes, &mut counter)?;
        if lanes.is_empty() {
            return Err(ApiError::invalid(format!(
                "project {:?} has no suites to run",
                project.name
            )));
        }
        Ok(Plan {
            project: project.clone(),
            lanes,
        })
    }

    /// Items in display order: each suite instance followed by its tests (lane by lane).
    pub fn items(&self) -> Vec<PlannedItem> {
        let mut out = Vec::new();
        for lane in &self.lanes {
            for s in &lane.suites {
                out.push(PlannedItem {
                    id: s.id.clone(),
                    parent: s.parent.clone(),
                    kind: "suite",
                    name: s.name.clone(),
                    ep: lane.ep.clone(),
                    file: String::new(),
                });
                for t in &s.tests {
                    let mut name = t.case.display_title();
                    if t.case.repeat > 1 {
                        name.push_str(&format!(" #{}", t.iteration));
                    }
                    out.push(PlannedItem {
                        id: t.id.clone(),
                        parent: Some(s.id.clone()),
                        kind: "test",
                        name,
                        ep: lane.ep.clone(),
                        file: t.case.file.clone(),
                    });
                }
            }
        }
        out
    }

    /// Test instances whose case has dependency key `key`, preferring those on `ep`.
    pub fn tests_with_key(&self, key: &str, ep: &str) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = Vec::new();
        for l in &self.lanes {
            for s in &l.suites {
                for t in &s.tests {
                    if t.case.key() == key {
                        all.push((l.ep.clone(), t.id.clone()));
                    }
                }
            }
        }
        let same: Vec<(String, String)> = all.iter().filter(|(e, _)| e == ep).cloned().collect();
        if same.is_empty() {
            all
        } else {
            same
        }
    }

    /// Suite instances with dependency key `key`, preferring those on `ep`.
    pub fn suites_with_key(&self, key: &str, ep: &str) -> Vec<(String, String)> {
        let all: Vec<(String, String)> = self
            .lanes
            .iter()
            .flat_map(|l| {
                l.suites
                    .iter()
                    .filter(|s| s.key == key)
                    .map(move |s| (l.ep.clone(), s.id.clone()))
            })
            .collect();
        let same: Vec<(String, String)> = all.iter().filter(|(e, _)| e == ep).cloned().collect();
        if same.is_empty() {
            all
        } else {
            same
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_eps_repeats_and_nesting() {
        let p: Project = serde_json::from_value(serde_json::json!({
            "name": "p",
            "suites": [
                {"name": "a", "eps": ["EP1", "EP2"], "repeat": 2,
                 "tests": [{"file": "x.sh", "repeat": 2}, {"file": "y.sh"}],
                 "suites": [{"name": "inner", "tests": [{"file": "z.sh"}]}]},
                {"name": "b", "eps": ["EP2"], "tests": [{"file": "w.sh"}]}
            ]
        }))
        .unwrap();
        let plan = Plan::expand(&p).unwrap();
        assert_eq!(plan.lanes.len(), 2);
        let ep1 = &plan.lanes[0];
        assert_eq!(ep1.ep, "EP1");
        // a#1, inner (under a#1), a#2, inner (under a#2)
        let names: Vec<(&str, Option<&str>)> = ep1
            .suites
            .iter()
            .map(|s| (s.name.as_str(), s.parent.as_deref()))
            .collect();
        assert_eq!(names.len(), 4);
        assert_eq!(names[1], ("inner", Some(ep1.suites[0].id.as_str())));
        assert_eq!(ep1.suites[0].tests.len(), 3);
        assert_eq!(ep1.suites[0].tests[1].iteration, 2);
        let ep2 = &plan.lanes[1];
        assert_eq!(ep2.suites.last().unwrap().name, "b");
        // Ids are unique.
        let items = plan.items();
        let mut ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), items.len());
        assert_eq!(plan.tests_with_key("y.sh", "EP2").len(), 2);
    }

    #[test]
    fn a_suite_without_ep_is_refused() {
        let p: Project = serde_json::from_value(serde_json::json!({
            "name": "p", "suites": [{"name": "a", "tests": [{"file": "x.sh"}]}]
        }))
        .unwrap();
        assert!(Plan::expand(&p).is_err());
    }
}

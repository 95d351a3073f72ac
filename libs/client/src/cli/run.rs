//! `twister run start|pause|resume|stop|status|details|logs|ls|junit`: the original cli.py and more.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use serde_json::Value;
use twister_client::exit;

use super::output::{self, Table};
use super::{CmdResult, Ctx, Failure};

#[derive(Debug, Subcommand)]
pub enum RunCmd {
    /// Start a run of a project.
    Start {
        /// Project name.
        #[arg(long, short)]
        project: String,
        /// Wait until it finishes, with a progress line; exit 7 when it does not pass.
        #[arg(long)]
        wait: bool,
    },
    /// Pause a run after its running tests (default: your latest live run).
    Pause { run: Option<String> },
    /// Resume a paused run.
    Resume { run: Option<String> },
    /// Stop a run: running tests are killed (aborted), the rest not executed.
    Stop { run: Option<String> },
    /// Counts: planned, executed, pass, fail, …
    Status { run: Option<String> },
    /// Every suite and test with status, reason and time.
    Details {
        run: Option<String>,
        /// Which tests: running, finished, pending or all.
        #[arg(long, default_value = "all")]
        status_details: String,
    },
    /// Log lines (of the run, or one test with --item); --follow keeps printing until the run ends.
    Logs {
        run: Option<String>,
        #[arg(long)]
        item: Option<String>,
        /// Only lines containing this text.
        #[arg(long)]
        grep: Option<String>,
        /// Only these streams, comma-separated: stdout, stderr, station, controller, test, running, debug, summary.
        #[arg(long)]
        stream: Option<String>,
        #[arg(short, long)]
        follow: bool,
    },
    /// Queue a test at the end of a suite of a live run: SUITE:FILE (suite name or instance id).
    Queue {
        /// `SUITE:FILE`, e.g. `smoke:sh/extra.sh` or `s2:sh/extra.sh`.
        target: String,
        #[arg(long)]
        run: Option<String>,
        /// Arguments for the test.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Remove a test that has not started from a live run (its item id, from `details`).
    Dequeue {
        item: String,
        #[arg(long)]
        run: Option<String>,
    },
    /// Recent runs.
    Ls {
        /// Only unfinished runs.
        #[arg(long)]
        live: bool,
        /// Only yours.
        #[arg(long)]
        mine: bool,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Save a finished run's results to the reports database (when its project does not autosave).
    Save { run: Option<String> },
    /// Write a run's results as JUnit XML (for Jenkins and GitLab).
    Junit {
        run: String,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

async fn pick(ctx: &Ctx, run: Option<String>) -> Result<String, Failure> {
    if let Some(r) = run {
        return Ok(r);
    }
    let live = ctx.client.runs(Some("me"), true, 1).await?;
    let any = if live.is_empty() {
        ctx.client.runs(Some("me"), false, 1).await?
    } else {
        live
    };
    any.first()
        .and_then(|r| r["id"].as_str())
        .map(str::to_string)
        .ok_or_else(|| Failure {
            code: exit::NOT_FOUND,
            message: "you have no runs; give a run id".into(),
        })
}

fn counts_line(run: &Value) -> String {
    let c = &run["counts"];
    let mut parts = vec![format!(
        "{}/{} executed",
        c["executed"].as_u64().unwrap_or(0),
        c["planned"].as_u64().unwrap_or(0)
    )];
    for k in [
        "pass",
        "fail",
        "error",
        "timeout",
        "aborted",
        "skipped",
        "not_executed",
        "running",
        "waiting",
    ] {
        if let Some(n) = c[k].as_u64().filter(|n| *n > 0) {
            parts.push(format!("{k} {n}"));
        }
    }
    parts.join(", ")
}

fn done(run: &Value) -> usize {
    let c = &run["counts"];
    let planned = c["planned"].as_u64().unwrap_or(0);
    let pending = ["pending", "waiting", "running"]
        .iter()
        .map(|k| c[*k].as_u64().unwrap_or(0))
        .sum::<u64>();
    planned.saturating_sub(pending) as usize
}

pub async fn run(ctx: &Ctx, cmd: RunCmd) -> CmdResult {
    let c = &ctx.client;
    match cmd {
        RunCmd::Start { project, wait } => {
            let r = c.start_run(&project).await?;
            let id = r["id"].as_str().unwrap_or("").to_string();
            if !wait {
                if ctx.json {
                    output::json(&r);
                } else {
                    println!(
                        "Started run {id} of {project} ({} tests).",
                        r["counts"]["planned"]
                    );
                }
                return Ok(());
            }
            if !ctx.json {
                eprintln!("Started run {id} of {project}.");
            }
            let tty = std::io::stderr().is_terminal() && !ctx.json;
            let mut last_line = String::new();
            let final_run = loop {
                let r = c.run(&id).await?;
                let planned = r["counts"]["planned"].as_u64().unwrap_or(0) as usize;
                let line = format!(
                    "[{}] {} {}",
                    bar(done(&r), planned),
                    r["state"].as_str().unwrap_or(""),
                    counts_line(&r)
                );
                if !ctx.json && line != last_line {
                    if tty {
                        eprint!("\r\x1b[K{line}");
                    } else {
                        eprintln!("{line}");
                    }
                    last_line = line;
                }
                if r["state"] == "finished" {
                    if tty {
                        eprintln!();
                    }
                    break r;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            };
            let status = final_run["status"].as_str().unwrap_or("");
            if ctx.json {
                output::json(&final_run);
            } else {
                println!("Run {id}: {status} ({}).", counts_line(&final_run));
            }
            if !matches!(status, "pass" | "skipped") {
                return Err(Failure {
                    code: exit::RUN_FAILED,
                    message: format!("run {id} ended {status}"),
                });
            }
        }
        RunCmd::Pause { run } => control(ctx, run, "pause").await?,
        RunCmd::Resume { run } => control(ctx, run, "resume").await?,
        RunCmd::Stop { run } => control(ctx, run, "stop").await?,
        RunCmd::Status { run } => {
            let id = pick(ctx, run).await?;
            let r = c.run(&id).await?;
            if ctx.json {
                let mut out = r.clone();
                if let Some(o) = out.as_object_mut() {
                    o.remove("items");
                }
                output::json(&out);
            } else {
                println!("run:      {id} ({})", r["project"].as_str().unwrap_or(""));
                println!("user:     {}", r["user"].as_str().unwrap_or(""));
                println!("state:    {}", r["state"].as_str().unwrap_or(""));
                println!("status:   {}", r["status"].as_str().unwrap_or(""));
                println!("tests:    {}", counts_line(&r));
                if let Some(reason) = r["reason"].as_str() {
                    println!("reason:   {reason}");
                }
            }
        }
        RunCmd::Details { run, status_details } => {
            let id = pick(ctx, run).await?;
            let r = c.run(&id).await?;
            let keep = |st: &str| match status_details.as_str() {
                "running" => matches!(st, "running" | "waiting"),
                "pending" => st == "pending",
                "finished" => !matches!(st, "running" | "waiting" | "pending"),
                _ => true,
            };
            if !matches!(
                status_details.as_str(),
                "all" | "running" | "pending" | "finished"
            ) {
                return Err(Failure::usage(
                    "--status-details: running, finished, pending or all",
                ));
            }
            let items: Vec<&Value> = r["items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|i| i["kind"] == "suite" || keep(i["status"].as_str().unwrap_or("")))
                        .collect()
                })
                .unwrap_or_default();
            if ctx.json {
                output::json(&items);
                return Ok(());
            }
            let mut t = Table::new(&["ID", "EP", "NAME", "STATUS", "TIME", "REASON"]);
            for i in items {
                let indent = if i["kind"] == "test" { "  " } else { "" };
                t.row(vec![
                    i["id"].as_str().unwrap_or("").into(),
                    i["ep"].as_str().unwrap_or("").into(),
                    format!("{indent}{}", i["name"].as_str().unwrap_or("")),
                    i["status"].as_str().unwrap_or("").into(),
                    i["elapsed_ms"]
                        .as_i64()
                        .map(|ms| format!("{:.1}s", ms as f64 / 1000.0))
                        .unwrap_or_default(),
                    i["reason"].as_str().unwrap_or("").into(),
                ]);
            }
            t.print("No items.");
        }
        RunCmd::Logs {
            run,
            item,
            grep,
            stream,
            follow,
        } => {
            let id = pick(ctx, run).await?;
            let mut after = 0i64;
            loop {
                let lines = c
                    .run_logs(
                        &id,
                        after,
                        item.as_deref(),
                        grep.as_deref(),
                        stream.as_deref(),
                        5000,
                    )
                    .await?;
                for l in &lines {
                    after = after.max(l["id"].as_i64().unwrap_or(after));
                    if ctx.json {
                        println!("{}", serde_json::to_string(l).unwrap_or_default());
                    } else {
                        println!(
                            "{} {:<8} {:<8} {}",
                            output::time(l["at"].as_str().unwrap_or("")),
                            l["ep"].as_str().unwrap_or(""),
                            l["item"].as_str().unwrap_or(""),
                            l["line"].as_str().unwrap_or("")
                        );
                    }
                }
                if !follow {
                    break;
                }
                if lines.is_empty() {
                    if c.run(&id).await?["state"] == "finished" {
                        let rest = c
                            .run_logs(
                                &id,
                                after,
                                item.as_deref(),
                                grep.as_deref(),
                                stream.as_deref(),
                                5000,
                            )
                            .await?;
                        if rest.is_empty() {
                            break;
                        }
                        continue;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        RunCmd::Queue { target, run, args } => {
            let id = pick(ctx, run).await?;
            let (suite, file) = target
                .split_once(':')
                .ok_or_else(|| Failure::usage("give SUITE:FILE, e.g. smoke:sh/extra.sh"))?;
            let r = c.run(&id).await?;
            let items = r["items"].as_array().cloned().unwrap_or_default();
            let live = |i: &&Value| matches!(i["status"].as_str(), Some("pending" | "waiting" | "running"));
            let instance = items
                .iter()
                .filter(|i| i["kind"] == "suite")
                .filter(|i| i["id"] == suite || i["name"] == suite)
                .find(live)
                .and_then(|i| i["id"].as_str())
                .ok_or_else(|| Failure {
                    code: exit::NOT_FOUND,
                    message: format!("run {id} has no unfinished suite {suite}"),
                })?
                .to_string();
            let item = c
                .queue_test(&id, &instance, &serde_json::json!({"file": file, "args": args}))
                .await?;
            if ctx.json {
                output::json(&item);
            } else {
                println!(
                    "Queued {file} as {} in suite {instance} of run {id}.",
                    item["id"].as_str().unwrap_or("")
                );
            }
        }
        RunCmd::Dequeue { item, run } => {
            let id = pick(ctx, run).await?;
            c.dequeue_test(&id, &item).await?;
            if !ctx.json {
                println!("Removed {item} from run {id}.");
            }
        }
        RunCmd::Save { run } => {
            let id = pick(ctx, run).await?;
            let r: Value = c
                .call(
                    reqwest::Method::POST,
                    &format!("/runs/{}/save", twister_client::client::encode_path(&id)),
                    &serde_json::json!({}),
                )
                .await?;
            if ctx.json {
                output::json(&r);
            } else {
                println!(
                    "Saved {} results of run {id} ({} insert statements).",
                    r["saved"], r["inserts"]
                );
            }
        }
        RunCmd::Ls { live, mine, limit } => {
            let runs = c.runs(mine.then_some("me"), live, limit).await?;
            if ctx.json {
                output::json(&runs);
                return Ok(());
            }
            let mut t = Table::new(&["RUN", "PROJECT", "USER", "STATE", "STATUS", "STARTED", "TESTS"]);
            for r in &runs {
                t.row(vec![
                    r["id"].as_str().unwrap_or("").into(),
                    r["project"].as_str().unwrap_or("").into(),
                    r["user"].as_str().unwrap_or("").into(),
                    r["state"].as_str().unwrap_or("").into(),
                    r["status"].as_str().unwrap_or("").into(),
                    r["started_at"]
                        .as_str()
                        .map(output::time)
                        .unwrap_or_else(|| "-".into()),
                    counts_line(r),
                ]);
            }
            t.print("No runs.");
        }
        RunCmd::Junit { run, output: out } => {
            let r = c.run(&run).await?;
            let xml = junit(&r);
            match out {
                Some(p) => std::fs::write(&p, xml)
                    .map_err(|e| Failure::other(format!("cannot write {}: {e}", p.display())))?,
                None => print!("{xml}"),
            }
        }
    }
    Ok(())
}

async fn control(ctx: &Ctx, run: Option<String>, action: &str) -> CmdResult {
    let id = pick(ctx, run).await?;
    let r = ctx.client.control_run(&id, action).await?;
    if ctx.json {
        output::json(&r);
    } else {
        println!(
            "Run {id}: {} ({}).",
            r["state"].as_str().unwrap_or(""),
            counts_line(&r)
        );
    }
    Ok(())
}

fn bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 24;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH).min(WIDTH);
    format!("{}{}", "#".repeat(filled), ".".repeat(WIDTH - filled))
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// A run as JUnit XML: one `<testsuite>` per suite instance, one `<testcase>` per test instance.
pub fn junit(run: &Value) -> String {
    let items = run["items"].as_array().cloned().unwrap_or_default();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let project = run["project"].as_str().unwrap_or("");
    let mut suites_xml = String::new();
    let (mut total, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    for s in items.iter().filter(|i| i["kind"] == "suite") {
        let sid = s["id"].as_str().unwrap_or("");
        let tests: Vec<&Value> = items
            .iter()
            .filter(|i| i["parent"].as_str() == Some(sid) && i["kind"] == "test")
            .collect();
        let (mut f, mut e, mut sk, mut time) = (0, 0, 0, 0.0);
        let mut cases = String::new();
        for t in &tests {
            let status = t["status"].as_str().unwrap_or("");
            let secs = t["elapsed_ms"].as_f64().unwrap_or(0.0) / 1000.0;
            time += secs;
            let reason = xml_escape(t["reason"].as_str().unwrap_or(status));
            let name = xml_escape(t["name"].as_str().unwrap_or(""));
            let class = xml_escape(&format!("{project}.{}", s["name"].as_str().unwrap_or("")));
            cases.push_str(&format!(
                "    <testcase classname=\"{class}\" name=\"{name}\" file=\"{}\" time=\"{secs:.3}\"",
                xml_escape(t["file"].as_str().unwrap_or(""))
            ));
            match status {
                "pass" => cases.push_str("/>\n"),
                "fail" | "timeout" => {
                    f += 1;
                    cases.push_str(&format!(
                        ">\n      <failure type=\"{status}\" message=\"{reason}\"/>\n    </testcase>\n"
                    ));
                }
                "error" | "aborted" => {
                    e += 1;
                    cases.push_str(&format!(
                        ">\n      <error type=\"{status}\" message=\"{reason}\"/>\n    </testcase>\n"
                    ));
                }
                _ => {
                    sk += 1;
                    cases.push_str(&format!(
                        ">\n      <skipped message=\"{status}: {reason}\"/>\n    </testcase>\n"
                    ));
                }
            }
        }
        total += tests.len();
        failures += f;
        errors += e;
        skipped += sk;
        suites_xml.push_str(&format!(
            "  <testsuite name=\"{}\" id=\"{}\" hostname=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"{e}\" skipped=\"{sk}\" time=\"{time:.3}\">\n{cases}  </testsuite>\n",
            xml_escape(s["name"].as_str().unwrap_or("")),
            xml_escape(sid),
            xml_escape(s["ep"].as_str().unwrap_or("")),
            tests.len()
        ));
    }
    out.push_str(&format!(
        "<testsuites name=\"{}\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n",
        xml_escape(&format!("{project} run {}", run["id"].as_str().unwrap_or("")))
    ));
    out.push_str(&suites_xml);
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_counts_and_escapes() {
        let run = serde_json::json!({"id": "r1", "project": "p<1>", "items": [
            {"id": "s1", "kind": "suite", "name": "smoke", "ep": "EP1"},
            {"id": "s1.t1", "parent": "s1", "kind": "test", "name": "a", "file": "a.sh", "status": "pass", "elapsed_ms": 1500},
            {"id": "s1.t2", "parent": "s1", "kind": "test", "name": "b & c", "file": "b.sh", "status": "fail", "reason": "exit \"1\""},
            {"id": "s1.t3", "parent": "s1", "kind": "test", "name": "d", "file": "d.sh", "status": "not_executed"}
        ]});
        let x = junit(&run);
        assert!(
            x.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""),
            "{x}"
        );
        assert!(
            x.contains("name=\"b &amp; c\"") && x.contains("message=\"exit &quot;1&quot;\""),
            "{x}"
        );
        assert!(x.contains("time=\"1.500\""));
        assert!(x.contains("p&lt;1&gt;"));
    }

    #[test]
    fn progress_bar() {
        assert_eq!(bar(0, 4).matches('#').count(), 0);
        assert_eq!(bar(2, 4).matches('#').count(), 12);
        assert_eq!(bar(0, 0).matches('#').count(), 24);
    }
}

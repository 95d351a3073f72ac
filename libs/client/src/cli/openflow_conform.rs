//! `twister openflow conform`: the OpenFlow conformance suite against a switch that connects to us, with a
//! live progress line, reports (JSON, JUnit) and per-case evidence (pcapng) in a report directory.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use twister_openflow::conformance::{
    self, catalogue, Case, Context, FailMode, Report, RunOptions, Runner, Verdict,
};
use twister_openflow::dataplane::DataPlane;
use twister_openflow::{OFP10_VERSION, OFP13_VERSION};

use super::openflow_listen::ListenArgs;
use super::{output, CmdResult, Failure};

/// Flags of `twister openflow conform`.
#[derive(Debug, Args)]
pub struct ConformArgs {
    /// OpenFlow version: 1.0 or 1.3.
    #[arg(long = "of", default_value = "1.3")]
    pub of: String,
    /// Where the switch connects (addresses, TLS).
    #[command(flatten)]
    pub listen: ListenArgs,
    /// Data ports as OFPORT@INTERFACE, comma separated (at least two; groups use a third).
    #[arg(long, value_delimiter = ',')]
    pub ports: Vec<String>,
    /// Run the cases of this group (repeatable; with --case, both sets run).
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// Run this case (repeatable).
    #[arg(long = "case")]
    pub cases: Vec<String>,
    /// Write report.json, junit.xml and evidence/<case>.pcapng here.
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Extra runs of a failing case.
    #[arg(long, default_value_t = 2)]
    pub reruns: u32,
    /// Seconds to wait for the switch to connect.
    #[arg(long, default_value_t = 30)]
    pub wait: u64,
    /// List the selected cases and exit.
    #[arg(long)]
    pub list: bool,
    /// What the switch is configured to do without a controller (secure or standalone): the
    /// control-channel group runs the cases of this failure mode.
    #[arg(long, default_value = "secure")]
    pub fail_mode: FailMode,
    /// Seconds the switch may take to notice a silent controller, to fail over to standalone, and to
    /// connect again (the control-channel group).
    #[arg(long, default_value_t = 60)]
    pub failover: u64,
}

fn version(of: &str) -> Result<u8, Failure> {
    match of {
        "1.0" | "10" | "1" => Ok(OFP10_VERSION),
        "1.3" | "13" | "4" => Ok(OFP13_VERSION),
        other => Err(Failure::usage(format!("--of {other}: give 1.0 or 1.3"))),
    }
}

fn parse_ports(specs: &[String]) -> Result<Vec<(u32, String)>, Failure> {
    let mut out = Vec::new();
    for s in specs {
        let (n, ifname) = s
            .split_once('@')
            .ok_or_else(|| Failure::usage(format!("--ports {s}: expected OFPORT@INTERFACE")))?;
        let n: u32 = n
            .parse()
            .map_err(|_| Failure::usage(format!("--ports {s}: {n} is not a port number")))?;
        if ifname.is_empty() {
            return Err(Failure::usage(format!("--ports {s}: no interface")));
        }
        out.push((n, ifname.to_string()));
    }
    if out.len() < 2 {
        return Err(Failure::usage("--ports: give at least two, e.g. 1@veth1,2@veth3"));
    }
    Ok(out)
}

fn select(version: u8, groups: &[String], ids: &[String]) -> Result<Vec<Case>, Failure> {
    let all = catalogue(version);
    for g in groups {
        if !all.iter().any(|c| c.group == g.as_str()) {
            return Err(Failure::usage(format!(
                "--group {g}: no such group (groups: {})",
                conformance::groups().join(", ")
            )));
        }
    }
    for id in ids {
        if !all.iter().any(|c| &c.id == id) {
            return Err(Failure::usage(format!(
                "--case {id}: no such case in this version"
            )));
        }
    }
    // Groups and ids add up: the cases of the groups plus the cases named.
    let everything = groups.is_empty() && ids.is_empty();
    Ok(all
        .into_iter()
        .filter(|c| everything || groups.iter().any(|g| g == c.group) || ids.contains(&c.id))
        .collect())
}

async fn conform(args: &ConformArgs, version: u8, cases: &[Case]) -> Result<Report, Failure> {
    let ports = parse_ports(&args.ports)?;
    let controller = args.listen.bind(&[version]).await?;
    eprintln!(
        "waiting for a switch on {} ...",
        args.listen.describe(&controller)
    );
    let switch = controller
        .wait_for_switch(None, Duration::from_secs(args.wait))
        .await
        .map_err(|e| Failure::other(format!("no switch connected: {e}")))?;
    eprintln!(
        "switch {:016x} connected from {}",
        switch.datapath_id(),
        switch.peer_addr()
    );
    let mut dp = DataPlane::open(ports.iter().map(|(n, i)| (*n, i.as_str())))
        .map_err(|e| Failure::other(format!("data plane: {e}")))?;
    dp.set_filter(conformance::keep_frame);
    let mut ctx = Context::new(&switch, &dp, ports.iter().map(|(n, _)| *n).collect());
    // The control-channel cases close the channel and take the switch's next connection.
    ctx.directory = Some(controller.directory());
    ctx.fail_mode = args.fail_mode;
    ctx.failover = Duration::from_secs(args.failover);
    let evidence_dir = args.report_dir.as_ref().map(|d| d.join("evidence"));
    let runner = Runner::new(RunOptions {
        reruns: args.reruns,
        evidence_dir,
        ..RunOptions::default()
    });
    let tty = std::io::stderr().is_terminal();
    let total = cases.len();
    let mut tally = [0usize; 4];
    // The cases shown as not passing: a later run after the last case may still pass them.
    let mut shown = Vec::new();
    let report = runner
        .run(&ctx, cases, |i, r| {
            let slot = match r.verdict {
                Verdict::Pass => 0,
                Verdict::Fail => 1,
                Verdict::Error => 2,
                Verdict::Unsupported => 3,
            };
            tally[slot] += 1;
            let mut err = std::io::stderr().lock();
            if r.verdict != Verdict::Pass {
                shown.push(i);
            }
            if r.verdict != Verdict::Pass || r.flaky {
                let flaky = if r.flaky { " (flaky)" } else { "" };
                let clear = if tty { "\r\x1b[K" } else { "" };
                let _ = writeln!(
                    err,
                    "{clear}{} {}{flaky}: {}",
                    r.verdict.as_str(),
                    r.id,
                    r.message
                );
            }
            let line = format!(
                "[{:>3}/{total}] pass {} fail {} error {} unsupported {}  {}",
                i + 1,
                tally[0],
                tally[1],
                tally[2],
                tally[3],
                r.id
            );
            if tty {
                let _ = write!(err, "\r\x1b[K{line}");
                let _ = err.flush();
            } else if (i + 1) % 25 == 0 || i + 1 == total {
                let _ = writeln!(err, "{line}");
            }
        })
        .await;
    if tty {
        eprintln!();
    }
    // Cases shown above as not passing that passed when run again after the last case.
    for r in shown
        .iter()
        .filter_map(|i| report.results.get(*i))
        .filter(|r| r.verdict == Verdict::Pass)
    {
        eprintln!("pass {} (flaky, runs {:?}): {}", r.id, r.runs, r.message);
    }
    Ok(report)
}

/// Runs `twister openflow conform`.
pub fn run(json_out: bool, args: ConformArgs) -> CmdResult {
    let version = version(&args.of)?;
    let cases = select(version, &args.groups, &args.cases)?;
    if args.list {
        for c in &cases {
            let need = if c.required { "required" } else { "optional" };
            // Columns: id, group, specification section, ONF TS-026 test number (or -), required, title.
            let ts026 = c.ts026.unwrap_or("-");
            println!(
                "{}\t{}\t{}\t{ts026}\t{need}\t{}",
                c.id, c.group, c.section, c.title
            );
        }
        return Ok(());
    }
    parse_ports(&args.ports)?;
    if let Some(dir) = &args.report_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::other(format!("cannot create {}: {e}", dir.display())))?;
    }
    // The data plane blocks in place, which needs a multi-threaded runtime of its own.
    let report = std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| Failure::other(format!("cannot start the runtime: {e}")))?;
            rt.block_on(conform(&args, version, &cases))
        })
        .join()
        .unwrap_or_else(|_| Err(Failure::other("the suite panicked")))
    })?;
    if let Some(dir) = &args.report_dir {
        let write = |name: &str, text: String| {
            std::fs::write(dir.join(name), text)
                .map_err(|e| Failure::other(format!("cannot write {}: {e}", dir.join(name).display())))
        };
        write("report.json", report.to_json())?;
        write("junit.xml", report.to_junit())?;
    }
    if json_out {
        output::json(&serde_json::to_value(&report).unwrap_or_default());
    } else {
        println!(
            "{} in {:.1} s",
            report.summary(),
            report.duration_ms as f64 / 1000.0
        );
    }
    if report.count(Verdict::Fail) + report.count(Verdict::Error) > 0 {
        return Err(Failure::other("some cases failed or erred"));
    }
    Ok(())
}

//! Commands for tests and for run settings: `twister log`, `twister result`, `twister global …`,
//! `twister panic …`. Inside a test, the station's environment (TWISTER_URL, TWISTER_TOKEN, TWISTER_RUN,
//! TWISTER_RESULT_FILE) makes them act on the running test.

use clap::Subcommand;

use super::output::{self, Table};
use super::{CmdResult, Ctx, Failure};

const STATUSES: [&str; 6] = ["pass", "fail", "skipped", "aborted", "error", "timeout"];

fn current_run(explicit: Option<String>) -> Option<String> {
    explicit.or_else(|| std::env::var("TWISTER_RUN").ok().filter(|r| !r.is_empty()))
}

/// `twister log TEXT…`: a line in the running test's log.
pub async fn log(ctx: &Ctx, run: Option<String>, kind: String, text: Vec<String>) -> CmdResult {
    let run = current_run(run).ok_or_else(|| Failure::usage("not inside a test run: give --run RUN"))?;
    ctx.client.log_line(&run, &text.join(" "), &kind).await?;
    Ok(())
}

/// `twister result STATUS [REASON…]`: sets the running test's result explicitly.
pub fn result(status: &str, reason: Vec<String>) -> CmdResult {
    let status = status.to_ascii_lowercase();
    if !STATUSES.contains(&status.as_str()) {
        return Err(Failure::usage(format!(
            "status must be one of {}",
            STATUSES.join(", ")
        )));
    }
    let file = std::env::var("TWISTER_RESULT_FILE")
        .map_err(|_| Failure::usage("not inside a test (TWISTER_RESULT_FILE is not set)"))?;
    let line = format!("{status} {}", reason.join(" "));
    std::fs::write(&file, format!("{}\n", line.trim()))
        .map_err(|e| Failure::other(format!("cannot write {file}: {e}")))
}

#[derive(Debug, Subcommand)]
pub enum GlobalCmd {
    /// Every global (inside a run: as the run sees them).
    Ls {
        #[arg(long)]
        run: Option<String>,
    },
    /// One value, nothing else (exit 3 when it does not exist).
    Get {
        path: String,
        #[arg(long)]
        run: Option<String>,
    },
    /// Sets a value: inside a run for the rest of the run, else your default.
    Set {
        path: String,
        value: String,
        #[arg(long)]
        run: Option<String>,
        /// Change your default even inside a run.
        #[arg(long)]
        default: bool,
    },
    /// Deletes a default (or a whole folder).
    Rm { path: String },
    /// Sets your defaults from an original Twister globals.xml.
    Import { file: std::path::PathBuf },
    /// Writes your defaults as an original Twister globals.xml.
    Export {
        #[arg(short, long)]
        output: Option<std::path::PathBuf>,
    },
}

pub async fn global(ctx: &Ctx, cmd: GlobalCmd) -> CmdResult {
    let c = &ctx.client;
    match cmd {
        GlobalCmd::Ls { run } => {
            let run = current_run(run);
            let all = c.globals(run.as_deref()).await?;
            if ctx.json {
                output::json(&all);
                return Ok(());
            }
            let mut t = Table::new(&["PATH", "VALUE"]);
            for g in &all {
                t.row(vec![
                    g["path"].as_str().unwrap_or("").into(),
                    g["value"].as_str().unwrap_or("").into(),
                ]);
            }
            t.print("No globals.");
        }
        GlobalCmd::Get { path, run } => {
            let g = c.global(current_run(run).as_deref(), &path).await?;
            if ctx.json {
                output::json(&g);
            } else {
                println!("{}", g["value"].as_str().unwrap_or(""));
            }
        }
        GlobalCmd::Set {
            path,
            value,
            run,
            default,
        } => {
            let run = if default { None } else { current_run(run) };
            let g = c.set_global(run.as_deref(), &path, &value).await?;
            if ctx.json {
                output::json(&g);
            }
        }
        GlobalCmd::Import { file } => {
            let xml = std::fs::read_to_string(&file)
                .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?;
            let all: Vec<serde_json::Value> = c.put_raw("/globals.xml", "application/xml", xml).await?;
            if ctx.json {
                output::json(&all);
            } else {
                println!("Imported {}; you now have {} globals.", file.display(), all.len());
            }
        }
        GlobalCmd::Export { output: out } => {
            let xml = c.get_text("/globals.xml").await?;
            match out {
                Some(p) => std::fs::write(&p, xml)
                    .map_err(|e| Failure::other(format!("cannot write {}: {e}", p.display())))?,
                None => print!("{xml}"),
            }
        }
        GlobalCmd::Rm { path } => {
            c.delete_global(&path).await?;
            if !ctx.json {
                println!("Deleted {path}.");
            }
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum PanicCmd {
    /// Your panic-detect patterns.
    Ls,
    /// Adds a pattern (a regular expression matched against every output line).
    Add {
        pattern: String,
        /// Add it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// Enables a pattern.
    Enable { id: i64 },
    /// Disables a pattern.
    Disable { id: i64 },
    /// Deletes a pattern.
    Rm { id: i64 },
}

pub async fn panic(ctx: &Ctx, cmd: PanicCmd) -> CmdResult {
    let c = &ctx.client;
    let list = match cmd {
        PanicCmd::Ls => c.panic_patterns().await?,
        PanicCmd::Add { pattern, disabled } => c.add_panic_pattern(&pattern, !disabled).await?,
        PanicCmd::Enable { id } => c.set_panic_pattern(id, true).await?,
        PanicCmd::Disable { id } => c.set_panic_pattern(id, false).await?,
        PanicCmd::Rm { id } => {
            c.delete_panic_pattern(id).await?;
            c.panic_patterns().await?
        }
    };
    if ctx.json {
        output::json(&list);
        return Ok(());
    }
    let mut t = Table::new(&["ID", "ENABLED", "PATTERN"]);
    for p in &list {
        t.row(vec![
            p["id"].to_string(),
            if p["enabled"].as_bool() == Some(true) {
                "yes"
            } else {
                "no"
            }
            .into(),
            p["pattern"].as_str().unwrap_or("").into(),
        ]);
    }
    t.print("No panic-detect patterns.");
    Ok(())
}

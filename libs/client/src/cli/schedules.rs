//! `twister schedule …`: runs started on a cron schedule.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use super::output::{self, Table};
use super::{CmdResult, Ctx};

#[derive(Debug, Subcommand)]
pub enum ScheduleCmd {
    /// List schedules with their next slot.
    Ls,
    /// Add a schedule.
    Add {
        /// Unique name.
        name: String,
        /// Cron expression: 5 fields, or 6 with seconds first (quote it).
        cron: String,
        /// Project to run.
        project: String,
        /// IANA time zone.
        #[arg(long, default_value = "UTC")]
        tz: String,
        /// Run as this user (admins; default: you).
        #[arg(long)]
        user: Option<String>,
        /// What slots missed while the controller was down do: skip or run_once.
        #[arg(long, default_value = "skip")]
        missed: String,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// Delete a schedule and its history.
    Rm {
        /// Name or id.
        name: String,
    },
    /// Enable a schedule.
    Enable {
        /// Name or id.
        name: String,
    },
    /// Disable a schedule.
    Disable {
        /// Name or id.
        name: String,
    },
    /// What fired, newest first (one schedule, or all).
    History {
        /// Name or id.
        name: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

fn seg(s: &str) -> String {
    s.replace('/', "%2F")
}

fn s(v: &Value, k: &str) -> String {
    output::cell(&v[k])
}

/// Runs a `twister schedule` command.
pub async fn run(ctx: &Ctx, cmd: ScheduleCmd) -> CmdResult {
    let c = &ctx.client;
    match cmd {
        ScheduleCmd::Ls => {
            let list: Vec<Value> = c.get("/schedules").await?;
            if ctx.json {
                output::json(&list);
                return Ok(());
            }
            let mut t = Table::new(&[
                "NAME", "CRON", "ZONE", "PROJECT", "USER", "ENABLED", "MISSED", "NEXT",
            ]);
            for v in list {
                t.row(vec![
                    s(&v, "name"),
                    s(&v, "cron"),
                    s(&v, "timezone"),
                    s(&v, "project"),
                    s(&v, "user"),
                    s(&v, "enabled"),
                    s(&v, "missed"),
                    output::time(&s(&v, "next")),
                ]);
            }
            t.print("No schedules.");
        }
        ScheduleCmd::Add {
            name,
            cron,
            project,
            tz,
            user,
            missed,
            disabled,
        } => {
            let body = json!({"name": name, "cron": cron, "project": project, "timezone": tz, "user": user,
                "missed": missed, "enabled": !disabled});
            let v: Value = c.call(Method::POST, "/schedules", &body).await?;
            if ctx.json {
                output::json(&v);
            } else {
                println!("Schedule {} added; next run {}", s(&v, "name"), s(&v, "next"));
            }
        }
        ScheduleCmd::Rm { name } => {
            let r: Result<Value, _> = c
                .call(Method::DELETE, &format!("/schedules/{}", seg(&name)), &json!({}))
                .await;
            match r {
                Ok(_) | Err(twister_client::ClientError::Decode(_)) => {}
                Err(e) => return Err(e.into()),
            }
            if !ctx.json {
                println!("Schedule {name} deleted.");
            }
        }
        ScheduleCmd::Enable { name } => toggle(ctx, &name, "enable").await?,
        ScheduleCmd::Disable { name } => toggle(ctx, &name, "disable").await?,
        ScheduleCmd::History { name, limit } => {
            let path = match &name {
                Some(n) => format!("/schedules/{}/history?limit={limit}", seg(n)),
                None => format!("/schedules/history?limit={limit}"),
            };
            let list: Vec<Value> = c.get(&path).await?;
            if ctx.json {
                output::json(&list);
                return Ok(());
            }
            let mut t = Table::new(&["SLOT", "FIRED", "OUTCOME", "RUN", "DETAIL"]);
            for v in list {
                t.row(vec![
                    output::time(&s(&v, "slot")),
                    output::time(&s(&v, "fired_at")),
                    s(&v, "outcome"),
                    s(&v, "run_id"),
                    s(&v, "detail"),
                ]);
            }
            t.print("Nothing fired yet.");
        }
    }
    Ok(())
}

async fn toggle(ctx: &Ctx, name: &str, action: &str) -> CmdResult {
    let v: Value = ctx
        .client
        .call(
            Method::POST,
            &format!("/schedules/{}/{action}", seg(name)),
            &json!({}),
        )
        .await?;
    if ctx.json {
        output::json(&v);
    } else {
        println!("Schedule {} {}d.", s(&v, "name"), action);
    }
    Ok(())
}

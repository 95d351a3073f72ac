//! `twister audit`.

use clap::Args as ClapArgs;
use twister_client::types::AuditFilter;

use super::output::{self, Table};
use super::{CmdResult, Ctx};

#[derive(Debug, ClapArgs)]
pub struct AuditArgs {
    /// Only changes by this user.
    #[arg(long)]
    actor: Option<String>,
    /// Only actions starting with this (e.g. `reservation.`, `resource.update`).
    #[arg(long)]
    action: Option<String>,
    /// Only this object (inventory path, reservation id, user).
    #[arg(long)]
    target: Option<String>,
    /// With --target PATH, include everything below it.
    #[arg(short, long)]
    recursive: bool,
    /// From this time (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// At most this many (newest first).
    #[arg(long, default_value_t = 50)]
    limit: i64,
}

pub async fn run(ctx: &Ctx, a: AuditArgs) -> CmdResult {
    let entries = ctx
        .client
        .audit(&AuditFilter {
            actor: a.actor,
            action: a.action,
            target: a.target,
            recursive: a.recursive,
            since: a.since,
            limit: Some(a.limit),
        })
        .await?;
    if ctx.json {
        output::json(&entries);
        return Ok(());
    }
    let mut t = Table::new(&["#", "TIME", "ACTOR", "ACTION", "TARGET"]);
    for e in entries {
        t.row(vec![
            e.id.to_string(),
            output::time(&e.at),
            e.actor,
            e.action,
            e.target,
        ]);
    }
    t.print("No audit records match.");
    Ok(())
}

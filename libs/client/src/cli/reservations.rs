//! `twister reserve`, `release`, `renew`, `reservations`, `history`.

use std::time::{Duration, Instant};

use clap::Args as ClapArgs;
use twister_client::types::{Reservation, ReservationFilter, ReserveRequest};
use twister_client::{exit, ClientError};

use super::output::{self, Table};
use super::{duration_arg, CmdResult, Ctx, Failure};

#[derive(Debug, ClapArgs)]
pub struct ReserveArgs {
    /// Testbed or device: a path (`/tb1`) or `~id`.
    path: String,
    /// Lease length, e.g. 30m, 2h (default: the controller's).
    #[arg(long = "for", value_parser = duration_arg, value_name = "DURATION")]
    duration: Option<u64>,
    /// When busy, queue and wait until granted instead of failing.
    #[arg(long)]
    wait: bool,
    /// Queue priority, higher first (-1000..1000).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    priority: i64,
    /// With --wait: give up after this long (default: the controller's limit).
    #[arg(long, value_parser = duration_arg, value_name = "DURATION")]
    wait_timeout: Option<u64>,
    /// Note shown to others (why, which job).
    #[arg(long, default_value = "")]
    note: String,
}

#[derive(Debug, ClapArgs)]
pub struct ReleaseArgs {
    /// Reservation id, or the reserved path (your reservation on it).
    target: String,
    /// Release only if this user holds it (CI clean-up); with a path, looks at whoever holds it.
    #[arg(long)]
    only_if_holder: Option<String>,
    /// Release someone else's reservation (admins).
    #[arg(long)]
    force: bool,
}

#[derive(Debug, ClapArgs)]
pub struct RenewArgs {
    /// Reservation id, or the reserved path (your reservation on it).
    target: String,
    /// New lease from now (default: the original length).
    #[arg(long = "for", value_parser = duration_arg, value_name = "DURATION")]
    duration: Option<u64>,
}

#[derive(Debug, ClapArgs)]
pub struct ListArgs {
    /// Only this holder (`me` for yourself).
    #[arg(long)]
    user: Option<String>,
    /// Only your own (same as --user me).
    #[arg(long, conflicts_with = "user")]
    mine: bool,
    /// Only this node.
    #[arg(long)]
    path: Option<String>,
    /// Comma-separated states: waiting, active, released, expired, cancelled, revoked.
    #[arg(long)]
    state: Option<String>,
    /// From this time (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Until this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// At most this many.
    #[arg(long)]
    limit: Option<i64>,
}

pub async fn reserve(ctx: &Ctx, a: ReserveArgs) -> CmdResult {
    let c = &ctx.client;
    let req = ReserveRequest {
        path: a.path.clone(),
        duration_s: a.duration,
        wait: a.wait,
        priority: a.priority,
        wait_timeout_s: a.wait_timeout,
        note: a.note,
    };
    let mut r = c.reserve(&req).await?;
    if r.state == "waiting" {
        if !ctx.json {
            eprintln!(
                "{} is busy; queued as {} (position {}). Waiting… (Ctrl-C leaves the queue)",
                r.path,
                r.id,
                r.position.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
            );
        }
        r = wait_for_grant(ctx, r, a.wait_timeout).await?;
    }
    if r.state != "active" {
        return Err(Failure {
            code: exit::CONFLICT,
            message: format!(
                "reservation {} of {} ended without being granted: {}",
                r.id,
                r.path,
                r.end_reason.clone().unwrap_or_else(|| r.state.clone())
            ),
        });
    }
    if ctx.json {
        output::json(&r);
    } else {
        println!(
            "Reserved {} as {} until {}.",
            r.path,
            r.id,
            output::opt_time(&r.expires_at)
        );
    }
    Ok(())
}

async fn wait_for_grant(ctx: &Ctx, mut r: Reservation, limit: Option<u64>) -> Result<Reservation, Failure> {
    let c = &ctx.client;
    let start = Instant::now();
    let mut last_position = r.position;
    loop {
        let poll = c.wait_reservation(&r.id, 60);
        let next = tokio::select! {
            res = poll => res,
            _ = tokio::signal::ctrl_c() => {
                let _ = c.release(&r.id, None, false).await;
                return Err(Failure { code: 130, message: format!("interrupted; left the queue ({})", r.id) });
            }
        };
        match next {
            Ok(n) => r = n,
            // A dropped long poll is retried; the queue entry lives on the controller.
            Err(ClientError::Unreachable { .. }) => tokio::time::sleep(Duration::from_secs(1)).await,
            Err(e) => return Err(e.into()),
        }
        if r.state != "waiting" {
            return Ok(r);
        }
        if !ctx.json && r.position != last_position {
            eprintln!(
                "… now at position {}",
                r.position.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
            );
            last_position = r.position;
        }
        if let Some(l) = limit {
            // The controller enforces wait_timeout_s too; this guards against a controller that does not.
            if start.elapsed() > Duration::from_secs(l + 30) {
                let _ = c.release(&r.id, None, false).await;
                return Err(Failure {
                    code: exit::CONFLICT,
                    message: format!("gave up waiting for {} after {}s", r.path, l),
                });
            }
        }
    }
}

/// Resolves a release/renew target: an id as is, or a path to the live reservation on it.
async fn resolve(ctx: &Ctx, target: &str, holder: Option<&str>) -> Result<String, Failure> {
    if !(target.starts_with('/') || target.contains('/')) {
        return Ok(target.to_string());
    }
    let filter = ReservationFilter {
        state: Some("active,waiting".into()),
        user: Some(holder.unwrap_or("me").to_string()),
        path: Some(target.to_string()),
        ..Default::default()
    };
    let live = ctx.client.reservations(&filter).await?;
    let pick = live.iter().find(|r| r.state == "active").or_else(|| live.first());
    match pick {
        Some(r) => Ok(r.id.clone()),
        None => Err(Failure {
            code: if holder.is_some() {
                exit::CONFLICT
            } else {
                exit::NOT_FOUND
            },
            message: match holder {
                Some(h) => format!("{target} is not held by {h}; nothing released"),
                None => format!("you hold no reservation on {target}"),
            },
        }),
    }
}

pub async fn release(ctx: &Ctx, a: ReleaseArgs) -> CmdResult {
    let id = resolve(ctx, &a.target, a.only_if_holder.as_deref()).await?;
    let r = ctx
        .client
        .release(&id, a.only_if_holder.as_deref(), a.force)
        .await?;
    if ctx.json {
        output::json(&r);
    } else {
        println!("Released {} ({}).", r.path, r.id);
    }
    Ok(())
}

pub async fn renew(ctx: &Ctx, a: RenewArgs) -> CmdResult {
    let id = resolve(ctx, &a.target, None).await?;
    let r = ctx.client.renew(&id, a.duration).await?;
    if ctx.json {
        output::json(&r);
    } else {
        println!(
            "Renewed {} ({}) until {}.",
            r.path,
            r.id,
            output::opt_time(&r.expires_at)
        );
    }
    Ok(())
}

pub async fn list(ctx: &Ctx, a: ListArgs, history: bool) -> CmdResult {
    let filter = ReservationFilter {
        state: a.state,
        user: if a.mine { Some("me".into()) } else { a.user },
        path: a.path,
        since: a.since,
        until: a.until,
        limit: a.limit,
    };
    let rs = if history {
        ctx.client.history(&filter).await?
    } else {
        ctx.client.reservations(&filter).await?
    };
    if ctx.json {
        output::json(&rs);
        return Ok(());
    }
    if history {
        let mut t = Table::new(&["ID", "PATH", "USER", "STATE", "FROM", "TO", "WHY"]);
        for r in rs {
            t.row(vec![
                r.id,
                r.path,
                r.user,
                r.state,
                output::opt_time(&r.granted_at),
                output::opt_time(&r.ended_at),
                r.end_reason.unwrap_or_else(|| "-".into()),
            ]);
        }
        t.print("No reservations in that range.");
    } else {
        let mut t = Table::new(&["ID", "PATH", "USER", "STATE", "PRIO", "UNTIL", "NOTE"]);
        for r in rs {
            let state = match (r.state.as_str(), r.position) {
                ("waiting", Some(p)) => format!("waiting #{p}"),
                _ if r.locked_by.is_some() => "locked".into(),
                _ => r.state.clone(),
            };
            t.row(vec![
                r.id,
                r.path,
                r.user,
                state,
                r.priority.to_string(),
                output::opt_time(&r.expires_at),
                r.note,
            ]);
        }
        t.print("No live reservations.");
    }
    Ok(())
}

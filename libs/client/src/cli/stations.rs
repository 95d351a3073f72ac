//! `twister stations`, `twister eps`, `twister station add|token|rm`.

use clap::Subcommand;

use super::output::{self, Table};
use super::{CmdResult, Ctx};

#[derive(Debug, Subcommand)]
pub enum StationCmd {
    /// List stations with their EPs and whether they are online.
    Ls,
    /// Register a station; prints its token once (put it in the station's token_file).
    Add { name: String },
    /// Issue a new token for a station (the old one stops working).
    Token { name: String },
    /// Delete a station and revoke its token.
    Rm { name: String },
}

pub async fn run(ctx: &Ctx, cmd: StationCmd) -> CmdResult {
    let c = &ctx.client;
    match cmd {
        StationCmd::Ls => list(ctx).await?,
        StationCmd::Add { name } => {
            let r = c.create_station(&name).await?;
            print_token(ctx, &r);
        }
        StationCmd::Token { name } => {
            let r = c.rotate_station_token(&name).await?;
            print_token(ctx, &r);
        }
        StationCmd::Rm { name } => {
            c.delete_station(&name).await?;
            if ctx.json {
                output::json(&serde_json::json!({"deleted": name}));
            } else {
                println!("Deleted station {name}.");
            }
        }
    }
    Ok(())
}

fn print_token(ctx: &Ctx, r: &serde_json::Value) {
    if ctx.json {
        output::json(r);
    } else {
        println!(
            "Token for station {} (shown only now):",
            r["station"]["name"].as_str().unwrap_or("?")
        );
        println!("{}", r["token"].as_str().unwrap_or(""));
    }
}

pub async fn list(ctx: &Ctx) -> CmdResult {
    let stations = ctx.client.stations().await?;
    if ctx.json {
        output::json(&stations);
        return Ok(());
    }
    let mut t = Table::new(&["STATION", "STATE", "HOST", "EPS", "LAST SEEN", "VERSION"]);
    for s in &stations {
        let eps: Vec<&str> = s["eps"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["name"].as_str()).collect())
            .unwrap_or_default();
        t.row(vec![
            s["name"].as_str().unwrap_or("").into(),
            if s["online"].as_bool() == Some(true) {
                "online"
            } else {
                "offline"
            }
            .into(),
            s["facts"]["hostname"].as_str().unwrap_or("-").into(),
            if eps.is_empty() { "-".into() } else { eps.join(",") },
            s["last_seen_at"]
                .as_str()
                .map(output::time)
                .unwrap_or_else(|| "-".into()),
            s["version"]
                .as_str()
                .filter(|v| !v.is_empty())
                .unwrap_or("-")
                .into(),
        ]);
    }
    t.print("No stations registered (twister station add NAME).");
    Ok(())
}

pub async fn eps(ctx: &Ctx) -> CmdResult {
    let eps = ctx.client.eps().await?;
    if ctx.json {
        output::json(&eps);
        return Ok(());
    }
    let mut t = Table::new(&["EP", "STATION", "STATE"]);
    for e in &eps {
        t.row(vec![
            e["name"].as_str().unwrap_or("").into(),
            e["station"].as_str().unwrap_or("").into(),
            if e["online"].as_bool() == Some(true) {
                "online"
            } else {
                "offline"
            }
            .into(),
        ]);
    }
    t.print("No EPs: no station has connected yet.");
    Ok(())
}

//! `twister report ls|show|config`: built-in and configured reports, and the reporting configuration (JSON
//! or an original db.xml).

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::Value;
use twister_client::client::encode_path;

use super::output::{self, cell, Table};
use super::{CmdResult, Ctx, Failure};

#[derive(Debug, Subcommand)]
pub enum ReportCmd {
    /// Every report (built-in and configured) and redirect.
    Ls,
    /// Run a report and print its table (or --json / --csv).
    Show {
        /// Report name (`twister report ls`).
        name: String,
        /// A field value, `Field=value` (repeatable); `cmp.Field=value` for the comparison query.
        #[arg(long = "field", short = 'f')]
        fields: Vec<String>,
        /// Print CSV.
        #[arg(long)]
        csv: bool,
    },
    /// The reporting configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print it (JSON; the database password hidden).
    Get,
    /// Replace it with a JSON file.
    Set { file: PathBuf },
    /// Replace it with an original db.xml (the database URL is kept).
    ImportDbxml { file: PathBuf },
}

fn enc(s: &str) -> String {
    encode_path(s).replace('/', "%2F").replace(':', "%3A")
}

fn print_table(t: &Value) {
    let cols: Vec<String> = t["columns"]
        .as_array()
        .map(|a| a.iter().map(cell).collect())
        .unwrap_or_default();
    let header: Vec<&str> = cols.iter().map(String::as_str).collect();
    let mut table = Table::new(&header);
    for r in t["rows"].as_array().into_iter().flatten() {
        table.row(
            r.as_array()
                .map(|a| a.iter().map(cell).collect())
                .unwrap_or_default(),
        );
    }
    table.print("(no rows)");
}

fn read(file: &PathBuf) -> Result<String, Failure> {
    std::fs::read_to_string(file).map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))
}

pub async fn run(ctx: &Ctx, cmd: ReportCmd) -> CmdResult {
    let c = &ctx.client;
    match cmd {
        ReportCmd::Ls => {
            let r: Value = c.get("/reports").await?;
            if ctx.json {
                output::json(&r);
                return Ok(());
            }
            let mut t = Table::new(&["NAME", "TYPE", "FIELDS", "DESCRIPTION"]);
            for rep in r["reports"].as_array().into_iter().flatten() {
                let fields: Vec<String> = rep["fields"]
                    .as_array()
                    .map(|a| a.iter().map(cell).collect())
                    .unwrap_or_default();
                t.row(vec![
                    cell(&rep["id"]),
                    cell(&rep["kind"]),
                    fields.join(","),
                    cell(&rep["description"]),
                ]);
            }
            for red in r["redirects"].as_array().into_iter().flatten() {
                t.row(vec![
                    cell(&red["id"]),
                    "Redirect".into(),
                    String::new(),
                    cell(&red["path"]),
                ]);
            }
            t.print("no reports");
            Ok(())
        }
        ReportCmd::Show { name, fields, csv } => {
            let mut query = Vec::new();
            for f in &fields {
                let (k, v) = f
                    .split_once('=')
                    .ok_or_else(|| Failure::usage(format!("--field {f:?}: expected Field=value")))?;
                query.push(format!("{}={}", enc(k), enc(v)));
            }
            if csv {
                query.push("format=csv".into());
            }
            let path = format!("/reports/{}/data?{}", enc(&name), query.join("&"));
            if csv {
                print!("{}", c.get_text(&path).await?);
                return Ok(());
            }
            let r: Value = c.get(&path).await?;
            if ctx.json {
                output::json(&r);
                return Ok(());
            }
            print_table(&r["table"]);
            if r["percent"].is_object() {
                println!("\nAs a percentage of the totals:");
                print_table(&r["percent"]);
            }
            if r["compare"].is_object() {
                println!("\nCompared with:");
                print_table(&r["compare"]);
            }
            Ok(())
        }
        ReportCmd::Config(ConfigCmd::Get) => {
            let r: Value = c.get("/reports/config").await?;
            output::json(&r["config"]);
            Ok(())
        }
        ReportCmd::Config(ConfigCmd::Set { file }) => {
            let text = read(&file)?;
            let doc: Value = serde_json::from_str(&text)
                .map_err(|e| Failure::usage(format!("{}: {e}", file.display())))?;
            let r: Value = c.call(reqwest::Method::PUT, "/reports/config", &doc).await?;
            if ctx.json {
                output::json(&r);
            } else {
                println!("Reporting configuration saved (version {}).", r["version"]);
            }
            Ok(())
        }
        ReportCmd::Config(ConfigCmd::ImportDbxml { file }) => {
            let text = read(&file)?;
            let r: Value = c
                .put_raw("/reports/config/dbxml", "application/xml", text)
                .await?;
            if ctx.json {
                output::json(&r);
            } else {
                let cfg = &r["config"];
                let n = |k: &str| cfg[k].as_array().map_or(0, Vec::len);
                println!(
                    "Imported {}: {} fields, {} insert statements, {} report fields, {} reports, {} redirects \
                     (version {}).",
                    file.display(),
                    n("fields"),
                    n("inserts"),
                    n("report_fields"),
                    n("reports"),
                    n("redirects"),
                    r["version"]
                );
                for note in r["notes"].as_array().into_iter().flatten() {
                    println!("note: {}", cell(note));
                }
            }
            Ok(())
        }
    }
}

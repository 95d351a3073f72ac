//! `twister service …`: the controller's supervised services (admins).

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use super::output::{self, Table};
use super::{CmdResult, Ctx, Failure};

#[derive(Debug, Subcommand)]
pub enum ServiceCmd {
    /// List services with their state.
    Ls,
    /// Start a service.
    Start {
        /// Service name.
        name: String,
    },
    /// Stop a service (its whole process group).
    Stop {
        /// Service name.
        name: String,
    },
    /// Stop and start a service.
    Restart {
        /// Service name.
        name: String,
    },
    /// A service's definition and state.
    Status {
        /// Service name.
        name: String,
    },
    /// The end of a service's log.
    Logs {
        /// Service name.
        name: String,
        /// Bytes from the end.
        #[arg(long, default_value_t = 65536)]
        bytes: u64,
    },
    /// Print a service's configuration file, or replace it with --set FILE (`-` for stdin).
    Config {
        /// Service name.
        name: String,
        /// New content from this file.
        #[arg(long)]
        set: Option<String>,
    },
    /// Create or replace a service from a JSON definition file (`-` for stdin).
    Put {
        /// The file.
        file: String,
    },
    /// Delete a service (it is stopped first).
    Rm {
        /// Service name.
        name: String,
    },
    /// Import the original Twister services.ini.
    Import {
        /// The file.
        file: String,
    },
}

fn read_input(file: &str) -> Result<String, Failure> {
    if file == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| Failure::other(format!("cannot read stdin: {e}")))
    } else {
        std::fs::read_to_string(file).map_err(|e| Failure::usage(format!("cannot read {file}: {e}")))
    }
}

fn show(ctx: &Ctx, v: &Value) {
    if ctx.json {
        output::json(v);
        return;
    }
    let st = &v["status"];
    println!(
        "{}: {}",
        v["name"].as_str().unwrap_or(""),
        st["state"].as_str().unwrap_or("")
    );
    if let Some(pid) = st["pid"].as_u64() {
        println!("  pid       {pid}");
    }
    println!("  restarts  {}", st["restarts"]);
    if let Some(e) = st["last_exit"].as_str() {
        println!("  last exit {e}");
    }
    let args: Vec<&str> = v["args"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    println!(
        "  command   {} {}",
        v["command"].as_str().unwrap_or(""),
        args.join(" ")
    );
    println!("  restart   {}", v["restart"].as_str().unwrap_or(""));
}

fn seg(name: &str) -> String {
    name.replace('/', "%2F")
}

/// Runs a `twister service` command.
pub async fn run(ctx: &Ctx, cmd: ServiceCmd) -> CmdResult {
    let c = &ctx.client;
    match cmd {
        ServiceCmd::Ls => {
            let list: Vec<Value> = c.get("/services").await?;
            if ctx.json {
                output::json(&list);
                return Ok(());
            }
            let mut t = Table::new(&["NAME", "STATE", "PID", "RESTARTS", "AUTOSTART", "DESCRIPTION"]);
            for s in list {
                t.row(vec![
                    s["name"].as_str().unwrap_or("").to_string(),
                    s["status"]["state"].as_str().unwrap_or("").to_string(),
                    s["status"]["pid"]
                        .as_u64()
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                    s["status"]["restarts"].to_string(),
                    s["autostart"].to_string(),
                    s["description"].as_str().unwrap_or("").to_string(),
                ]);
            }
            t.print("No services.");
        }
        ServiceCmd::Start { name } => {
            let v: Value = c
                .call(
                    Method::POST,
                    &format!("/services/{}/start", seg(&name)),
                    &json!({}),
                )
                .await?;
            show(ctx, &v);
        }
        ServiceCmd::Stop { name } => {
            let v: Value = c
                .call(
                    Method::POST,
                    &format!("/services/{}/stop", seg(&name)),
                    &json!({}),
                )
                .await?;
            show(ctx, &v);
        }
        ServiceCmd::Restart { name } => {
            let v: Value = c
                .call(
                    Method::POST,
                    &format!("/services/{}/restart", seg(&name)),
                    &json!({}),
                )
                .await?;
            show(ctx, &v);
        }
        ServiceCmd::Status { name } => {
            let v: Value = c.get(&format!("/services/{}", seg(&name))).await?;
            show(ctx, &v);
        }
        ServiceCmd::Logs { name, bytes } => {
            let v: Value = c
                .get(&format!("/services/{}/logs?bytes={bytes}", seg(&name)))
                .await?;
            if ctx.json {
                output::json(&v);
            } else {
                print!("{}", v["text"].as_str().unwrap_or(""));
            }
        }
        ServiceCmd::Config { name, set } => {
            let path = format!("/services/{}/config", seg(&name));
            let v: Value = match set {
                Some(file) => {
                    let text = read_input(&file)?;
                    c.call(Method::PUT, &path, &json!({ "text": text })).await?
                }
                None => c.get(&path).await?,
            };
            if ctx.json {
                output::json(&v);
            } else {
                print!("{}", v["text"].as_str().unwrap_or(""));
            }
        }
        ServiceCmd::Put { file } => {
            let def: Value = serde_json::from_str(&read_input(&file)?)
                .map_err(|e| Failure::usage(format!("{file}: not JSON: {e}")))?;
            let name = def["name"]
                .as_str()
                .ok_or_else(|| Failure::usage("the definition needs a \"name\""))?
                .to_string();
            let v: Value = c
                .call(Method::PUT, &format!("/services/{}", seg(&name)), &def)
                .await?;
            show(ctx, &v);
        }
        ServiceCmd::Rm { name } => {
            let _: Value = c
                .call(Method::DELETE, &format!("/services/{}", seg(&name)), &json!({}))
                .await
                .or_else(|e| match e {
                    twister_client::ClientError::Decode(_) => Ok(Value::Null),
                    e => Err(e),
                })?;
            if !ctx.json {
                println!("Service {name} deleted.");
            }
        }
        ServiceCmd::Import { file } => {
            let list: Vec<Value> = c
                .put_raw("/services.ini", "text/plain", read_input(&file)?)
                .await?;
            if ctx.json {
                output::json(&list);
            } else {
                for s in list {
                    println!("imported {}", s["name"].as_str().unwrap_or(""));
                }
            }
        }
    }
    Ok(())
}

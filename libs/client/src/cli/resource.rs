//! `twister resource ls|get|set|mv|rm|import|export`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use clap::Subcommand;
use serde_json::Value;
use twister_client::types::{Node, NodeUpdate};

use super::output::{self, Table};
use super::{CmdResult, Ctx, Failure};

#[derive(Debug, Subcommand)]
pub enum ResourceCmd {
    /// List the children of a node (default: the top level), or a whole subtree with -r.
    Ls {
        /// Node path or ~id.
        path: Option<String>,
        /// The whole subtree.
        #[arg(short, long)]
        recursive: bool,
    },
    /// Show a node, or print one property's value with PATH:key.
    Get {
        /// `/tb1/dev1`, `~id`, or `/tb1/dev1:ip`.
        address: String,
        /// Show secret values (needs the right; audited).
        #[arg(long)]
        reveal: bool,
    },
    /// Create a node (with missing parents) or change its properties: `set /tb1/dev1 ip=10.0.0.1 port=23`.
    Set {
        /// Node path.
        path: String,
        /// `key=value` pairs to set.
        assignments: Vec<String>,
        /// `key=value` stored as a secret (repeatable); prefer `--secret key` to be prompted.
        #[arg(long = "secret", value_name = "KEY[=VALUE]")]
        secrets: Vec<String>,
        /// Remove a property (repeatable).
        #[arg(long = "unset", value_name = "KEY")]
        unset: Vec<String>,
        /// Replace the whole property set instead of merging.
        #[arg(long)]
        replace: bool,
        /// Only if the node is still at this version (from `get`).
        #[arg(long)]
        if_version: Option<i64>,
    },
    /// Rename a node (`mv /tb1/dev1 dev9`) or move it (`mv /tb1/dev1 /tb2/dev1`).
    Mv {
        path: String,
        to: String,
        #[arg(long)]
        if_version: Option<i64>,
    },
    /// Delete a node and everything below it.
    Rm {
        path: String,
        #[arg(long)]
        if_version: Option<i64>,
    },
    /// Import an inventory document (a file, or - for stdin).
    Import {
        file: PathBuf,
        /// native, twister-v3, twister-v2, or auto (guess from the document).
        #[arg(long, default_value = "auto")]
        format: String,
        /// Delete nodes the document does not name.
        #[arg(long)]
        replace: bool,
    },
    /// Export the inventory.
    Export {
        /// native, twister-v3 or twister-v2.
        #[arg(long, default_value = "native")]
        format: String,
        /// Include secret values (needs the right; audited).
        #[arg(long)]
        reveal: bool,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

pub async fn run(ctx: &Ctx, cmd: ResourceCmd) -> CmdResult {
    let c = &ctx.client;
    match cmd {
        ResourceCmd::Ls { path, recursive } => {
            let root = path.as_deref().filter(|p| *p != "/");
            let mut nodes = c.tree(root).await?;
            if !recursive {
                let base_depth = match root {
                    None => 0,
                    Some(_) => nodes.first().map(|n| depth(&n.path)).unwrap_or(0),
                };
                nodes.retain(|n| depth(&n.path) == base_depth + 1);
            }
            if ctx.json {
                output::json(&nodes);
                return Ok(());
            }
            let mut t = Table::new(&["PATH", "ID", "STATUS", "HOLDER", "UNTIL", "PROPERTIES"]);
            for n in nodes {
                t.row(vec![
                    n.path.clone(),
                    n.id.clone(),
                    status_text(&n),
                    n.reserved_by.clone().unwrap_or_else(|| "-".into()),
                    output::opt_time(&n.reserved_until),
                    n.properties.len().to_string(),
                ]);
            }
            t.print("No resources.");
        }
        ResourceCmd::Get { address, reveal } => {
            if is_property(&address) {
                let p = c.property(&address, reveal).await?;
                if ctx.json {
                    output::json(&p);
                } else {
                    match p.value {
                        Some(v) => println!("{v}"),
                        None => {
                            return Err(Failure {
                                code: twister_client::exit::AUTH,
                                message: format!(
                                    "{address} is secret; add --reveal (needs the reveal_secrets right)"
                                ),
                            })
                        }
                    }
                }
            } else {
                let n = c.node(&address, reveal).await?;
                show(ctx, &n);
            }
        }
        ResourceCmd::Set {
            path,
            assignments,
            secrets,
            unset,
            replace,
            if_version,
        } => {
            if is_property(&path) {
                return Err(Failure::usage(
                    "give the node path and key=value pairs: `twister resource set /tb1/dev1 ip=10.0.0.1`",
                ));
            }
            let mut update = NodeUpdate {
                properties: BTreeMap::new(),
                secret_keys: Vec::new(),
                replace,
            };
            for a in &assignments {
                let (k, v) = split_assignment(a)?;
                update.properties.insert(k, Some(v));
            }
            for s in &secrets {
                let (k, v) = match s.split_once('=') {
                    Some((k, v)) => (k.trim().to_string(), v.to_string()),
                    None => {
                        let k = s.trim().to_string();
                        let v = super::read_secret(&format!("Value of {k}: "), false)?;
                        (k, v)
                    }
                };
                if k.is_empty() {
                    return Err(Failure::usage(format!("--secret {s:?}: empty key")));
                }
                update.properties.insert(k.clone(), Some(v));
                update.secret_keys.push(k);
            }
            for k in unset {
                update.properties.insert(k, None);
            }
            let n = c.put_node(&path, &update, if_version).await?;
            show(ctx, &n);
        }
        ResourceCmd::Mv { path, to, if_version } => {
            let n = c.rename_node(&path, &to, if_version).await?;
            if ctx.json {
                output::json(&n);
            } else {
                println!("Moved {path} to {}.", n.path);
            }
        }
        ResourceCmd::Rm { path, if_version } => {
            let d = c.delete_node(&path, if_version).await?;
            if ctx.json {
                output::json(&d);
            } else {
                println!(
                    "Deleted {} ({} node{}).",
                    d.path,
                    d.nodes,
                    if d.nodes == 1 { "" } else { "s" }
                );
            }
        }
        ResourceCmd::Import {
            file,
            format,
            replace,
        } => {
            let text = if file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .map_err(|e| Failure::other(format!("cannot read stdin: {e}")))?;
                s
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?
            };
            let doc: Value = serde_json::from_str(&text)
                .map_err(|e| Failure::usage(format!("{} is not JSON: {e}", file.display())))?;
            let format = if format == "auto" {
                guess_format(&doc).to_string()
            } else {
                format
            };
            let r = c.import(&doc, &format, replace).await?;
            if ctx.json {
                output::json(&r);
            } else {
                println!(
                    "Imported ({format}): {} created, {} updated, {} deleted{}.",
                    r.created,
                    r.updated,
                    r.deleted,
                    if r.reassigned_ids > 0 {
                        format!(", {} ids reassigned (already in use)", r.reassigned_ids)
                    } else {
                        String::new()
                    }
                );
            }
        }
        ResourceCmd::Export {
            format,
            reveal,
            output: out,
        } => {
            let doc = c.export(&format, reveal).await?;
            let text = serde_json::to_string_pretty(&doc)
                .map_err(|e| Failure::other(format!("cannot encode the export: {e}")))?;
            match out {
                Some(p) => {
                    write_private(&p, &text, reveal)?;
                    if !ctx.json {
                        eprintln!("Wrote {}.", p.display());
                    }
                }
                None => println!("{text}"),
            }
        }
    }
    Ok(())
}

fn write_private(p: &std::path::Path, text: &str, reveal: bool) -> Result<(), Failure> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if reveal {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let _ = reveal;
    let mut f = opts
        .open(p)
        .map_err(|e| Failure::other(format!("cannot write {}: {e}", p.display())))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.write_all(b"\n"))
        .map_err(|e| Failure::other(format!("cannot write {}: {e}", p.display())))
}

/// Which exchange format a document looks like.
pub fn guess_format(doc: &Value) -> &'static str {
    if doc.get("format").and_then(Value::as_str) == Some("twister-inventory") {
        return "native";
    }
    if doc.get("children").is_some_and(Value::is_object) {
        // The later tree carries a version and path arrays; the 2013 tree has neither.
        let has_paths = doc.get("version").is_some()
            || doc
                .get("children")
                .and_then(Value::as_object)
                .and_then(|m| m.values().next())
                .is_some_and(|n| n.get("path").is_some_and(Value::is_array));
        return if has_paths { "twister-v3" } else { "twister-v2" };
    }
    "twister-v2"
}

fn depth(path: &str) -> usize {
    path.split('/').filter(|s| !s.is_empty()).count()
}

fn is_property(addr: &str) -> bool {
    addr.rsplit('/').next().is_some_and(|last| last.contains(':'))
}

fn split_assignment(a: &str) -> Result<(String, String), Failure> {
    let (k, v) = a
        .split_once('=')
        .ok_or_else(|| Failure::usage(format!("{a:?}: expected key=value")))?;
    let k = k.trim();
    if k.is_empty() {
        return Err(Failure::usage(format!("{a:?}: empty key")));
    }
    Ok((k.to_string(), v.to_string()))
}

fn status_text(n: &Node) -> String {
    let mut s = n.status.clone();
    if n.status == "free" && n.descendants_reserved {
        s.push_str(" (part reserved)");
    }
    if n.waiting > 0 {
        s.push_str(&format!(" +{} queued", n.waiting));
    }
    s
}

fn show(ctx: &Ctx, n: &Node) {
    if ctx.json {
        output::json(n);
        return;
    }
    println!("path:      {}", n.path);
    println!("id:        {}", n.id);
    println!("status:    {}", status_text(n));
    if let Some(by) = &n.reserved_by {
        println!(
            "held by:   {by} (reservation {}, on {}, until {})",
            n.reservation_id.as_deref().unwrap_or("-"),
            n.reserved_at.as_deref().unwrap_or("-"),
            output::opt_time(&n.reserved_until)
        );
    }
    println!("version:   {}", n.version);
    if !n.children.is_empty() {
        println!("children:  {}", n.children.join(", "));
    }
    if n.properties.is_empty() && n.secrets.is_empty() {
        println!("properties: none");
        return;
    }
    println!("properties:");
    let width = n
        .properties
        .keys()
        .chain(n.secrets.iter())
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0);
    for (k, v) in &n.properties {
        let mark = if n.secrets.contains(k) { "  (secret)" } else { "" };
        println!("  {k:width$}  {v}{mark}");
    }
    for k in &n.secrets {
        if !n.properties.contains_key(k) {
            println!("  {k:width$}  ********  (secret)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn property_addresses() {
        assert!(is_property("/tb1/dev1:ip"));
        assert!(is_property("~abc:ip"));
        assert!(!is_property("/tb1/dev1"));
    }

    #[test]
    fn formats_are_guessed() {
        assert_eq!(
            guess_format(&json!({"format": "twister-inventory", "nodes": []})),
            "native"
        );
        assert_eq!(
            guess_format(&json!({"version": 4, "name": "/", "children": {"tb1": {"path": ["tb1"]}}})),
            "twister-v3"
        );
        assert_eq!(
            guess_format(&json!({"name": "/", "meta": {}, "children": {"tb1": {"id": "ab", "status": 1}}})),
            "twister-v2"
        );
    }

    #[test]
    fn assignments_split_on_the_first_equals() {
        let (k, v) = split_assignment("url=http://x/?a=b").unwrap();
        assert_eq!((k.as_str(), v.as_str()), ("url", "http://x/?a=b"));
        assert!(split_assignment("novalue").is_err());
        assert!(split_assignment("=v").is_err());
    }
}

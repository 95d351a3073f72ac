//! `twister project ls|get|put|rm`.

use std::path::PathBuf;

use clap::Subcommand;

use super::output::{self, Table};
use super::{CmdResult, Ctx, Failure};

#[derive(Debug, Subcommand)]
pub enum ProjectCmd {
    /// List projects.
    Ls,
    /// Print a project document (JSON), or write it to a file.
    Get {
        name: String,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Create or replace a project from a JSON file (or - for stdin); its "name" names it.
    Put { file: PathBuf },
    /// Delete a project.
    Rm { name: String },
    /// Save one suite of a project as a predefined suite (JSON).
    SuiteExport {
        project: String,
        /// Suite name (`outer/inner` for a nested one).
        suite: String,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Add a predefined suite (JSON file) at the end of a project.
    SuiteImport { project: String, file: PathBuf },
    /// Create or replace a project from an original Twister project file or testsuites.xml.
    ImportXml {
        file: PathBuf,
        /// Project name (default: the file name without extension).
        #[arg(long)]
        name: Option<String>,
    },
    /// Write a project in the original Twister XML format.
    ExportXml {
        name: String,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

pub async fn run(ctx: &Ctx, cmd: ProjectCmd) -> CmdResult {
    let c = &ctx.client;
    match cmd {
        ProjectCmd::Ls => {
            let ps = c.projects().await?;
            if ctx.json {
                output::json(&ps);
                return Ok(());
            }
            let mut t = Table::new(&["PROJECT", "SUITES", "TESTS", "VERSION", "OWNER", "UPDATED"]);
            for p in &ps {
                t.row(vec![
                    p["name"].as_str().unwrap_or("").into(),
                    p["suites"].to_string(),
                    p["tests"].to_string(),
                    p["version"].to_string(),
                    p["owner"].as_str().unwrap_or("").into(),
                    p["updated_at"].as_str().map(output::time).unwrap_or_default(),
                ]);
            }
            t.print("No projects (twister project put FILE).");
        }
        ProjectCmd::Get { name, output: out } => {
            let p = c.project(&name).await?;
            let text = serde_json::to_string_pretty(&p).map_err(|e| Failure::other(e.to_string()))?;
            match out {
                Some(path) => std::fs::write(&path, text + "\n")
                    .map_err(|e| Failure::other(format!("cannot write {}: {e}", path.display())))?,
                None => println!("{text}"),
            }
        }
        ProjectCmd::Put { file } => {
            let text = if file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                    .map_err(|e| Failure::other(format!("cannot read stdin: {e}")))?;
                s
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?
            };
            let doc: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Failure::usage(format!("{} is not JSON: {e}", file.display())))?;
            let name = doc["name"]
                .as_str()
                .ok_or_else(|| Failure::usage("the project document needs a \"name\""))?
                .to_string();
            let saved = c.put_project(&name, &doc).await?;
            if ctx.json {
                output::json(&saved);
            } else {
                println!("Saved project {name} (version {}).", saved["version"]);
            }
        }
        ProjectCmd::SuiteExport {
            project,
            suite,
            output: out,
        } => {
            let s = c.export_suite(&project, &suite).await?;
            let text = serde_json::to_string_pretty(&s).map_err(|e| Failure::other(e.to_string()))?;
            match out {
                Some(path) => std::fs::write(&path, text + "\n")
                    .map_err(|e| Failure::other(format!("cannot write {}: {e}", path.display())))?,
                None => println!("{text}"),
            }
        }
        ProjectCmd::SuiteImport { project, file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?;
            let suite: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Failure::usage(format!("{} is not JSON: {e}", file.display())))?;
            let saved = c.import_suite(&project, &suite).await?;
            if ctx.json {
                output::json(&saved);
            } else {
                println!(
                    "Added suite {} to {project} (version {}).",
                    suite["name"].as_str().unwrap_or("?"),
                    saved["version"]
                );
            }
        }
        ProjectCmd::ImportXml { file, name } => {
            let xml = std::fs::read_to_string(&file)
                .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?;
            let name = name
                .or_else(|| file.file_stem().map(|s| s.to_string_lossy().to_string()))
                .ok_or_else(|| Failure::usage("give --name"))?;
            let route = format!("/projects/{}/xml", twister_client::client::encode_path(&name));
            let saved: serde_json::Value = c.put_raw(&route, "application/xml", xml).await?;
            if ctx.json {
                output::json(&saved);
            } else {
                println!(
                    "Imported {} as project {name} (version {}, {} suites).",
                    file.display(),
                    saved["version"],
                    saved["suites"].as_array().map(Vec::len).unwrap_or(0)
                );
            }
        }
        ProjectCmd::ExportXml { name, output: out } => {
            let xml = c
                .get_text(&format!(
                    "/projects/{}/xml",
                    twister_client::client::encode_path(&name)
                ))
                .await?;
            match out {
                Some(path) => std::fs::write(&path, xml)
                    .map_err(|e| Failure::other(format!("cannot write {}: {e}", path.display())))?,
                None => print!("{xml}"),
            }
        }
        ProjectCmd::Rm { name } => {
            c.delete_project(&name).await?;
            if ctx.json {
                output::json(&serde_json::json!({"deleted": name}));
            } else {
                println!("Deleted project {name}.");
            }
        }
    }
    Ok(())
}

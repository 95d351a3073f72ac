//! `twister tokens …`.

use clap::Subcommand;
use twister_client::types::NewToken;

use super::output::{self, Table};
use super::{duration_arg, CmdResult, Ctx};

#[derive(Debug, Subcommand)]
pub enum TokensCmd {
    /// List your API tokens (or everybody's with --all).
    Ls {
        #[arg(long)]
        all: bool,
        /// Include login sessions.
        #[arg(long)]
        sessions: bool,
    },
    /// Create an API token; its secret is shown once.
    Create {
        /// Label: what the token is for.
        name: String,
        /// Limit to this permission (repeatable), e.g. `reserve`, `view_inventory`.
        #[arg(long = "perm")]
        permissions: Vec<String>,
        /// Limit inventory access to this subtree (repeatable).
        #[arg(long = "path")]
        paths: Vec<String>,
        /// Lifetime, e.g. 30d (default: until revoked).
        #[arg(long, value_parser = duration_arg)]
        expires: Option<u64>,
    },
    /// Revoke a token by id.
    Revoke { id: String },
}

pub async fn run(ctx: &Ctx, cmd: TokensCmd) -> CmdResult {
    let c = &ctx.client;
    match cmd {
        TokensCmd::Ls { all, sessions } => {
            let tokens = c.tokens(all, sessions).await?;
            if ctx.json {
                output::json(&tokens);
                return Ok(());
            }
            let mut t = Table::new(&["ID", "USER", "NAME", "KIND", "CREATED", "EXPIRES", "LAST USED"]);
            for k in tokens {
                t.row(vec![
                    k.id,
                    k.user,
                    k.name,
                    k.kind,
                    output::time(&k.created_at),
                    output::opt_time(&k.expires_at),
                    output::opt_time(&k.last_used_at),
                ]);
            }
            t.print("No tokens.");
        }
        TokensCmd::Create {
            name,
            permissions,
            paths,
            expires,
        } => {
            let req = NewToken {
                name,
                permissions: (!permissions.is_empty()).then_some(permissions),
                paths: (!paths.is_empty()).then_some(paths),
                expires_in_s: expires,
            };
            let tok = c.create_token(&req).await?;
            if ctx.json {
                output::json(&tok);
            } else {
                println!(
                    "Token {} ({}) created. Its secret, shown only now:",
                    tok.id, tok.name
                );
                println!("{}", tok.token.unwrap_or_default());
            }
        }
        TokensCmd::Revoke { id } => {
            c.revoke_token(&id).await?;
            if ctx.json {
                output::json(&serde_json::json!({"revoked": id}));
            } else {
                println!("Revoked token {id}.");
            }
        }
    }
    Ok(())
}

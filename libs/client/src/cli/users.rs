//! `twister users …`.

use clap::Subcommand;
use twister_client::types::UserUpdate;

use super::output::{self, Table};
use super::{read_secret, CmdResult, Ctx, Failure};

#[derive(Debug, Subcommand)]
pub enum UsersCmd {
    /// List users.
    Ls,
    /// Show one user.
    Show { name: String },
    /// Create a user; the password is prompted for, or read from stdin.
    Add {
        name: String,
        /// admin, engineer or viewer.
        #[arg(long, default_value = "engineer")]
        role: String,
        #[arg(long, default_value = "")]
        display_name: String,
        #[arg(long, default_value = "")]
        email: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role, name, e-mail, or disable/enable the account.
    Set {
        name: String,
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
    },
    /// Delete a user.
    Rm { name: String },
    /// Change a password (your own when no name is given).
    Passwd {
        name: Option<String>,
        /// Read the current (own account) then the new password, one per line, from stdin.
        #[arg(long)]
        password_stdin: bool,
    },
}

pub async fn run(ctx: &Ctx, cmd: UsersCmd) -> CmdResult {
    let c = &ctx.client;
    match cmd {
        UsersCmd::Ls => {
            let users = c.users().await?;
            if ctx.json {
                output::json(&users);
                return Ok(());
            }
            let mut t = Table::new(&["USER", "ROLE", "NAME", "E-MAIL", "STATE"]);
            for u in users {
                let state = if u.disabled { "disabled" } else { "active" };
                t.row(vec![u.username, u.role, u.display_name, u.email, state.into()]);
            }
            t.print("No users.");
        }
        UsersCmd::Show { name } => show(ctx, c.user(&name).await?),
        UsersCmd::Add {
            name,
            role,
            display_name,
            email,
            password_stdin,
        } => {
            let pw = read_secret(&format!("Password for {name}: "), password_stdin)?;
            let u = c.create_user(&name, &pw, &role, &display_name, &email).await?;
            show(ctx, u);
        }
        UsersCmd::Set {
            name,
            role,
            display_name,
            email,
            disable,
            enable,
        } => {
            let update = UserUpdate {
                role,
                display_name,
                email,
                disabled: if disable {
                    Some(true)
                } else if enable {
                    Some(false)
                } else {
                    None
                },
            };
            if update.role.is_none()
                && update.display_name.is_none()
                && update.email.is_none()
                && update.disabled.is_none()
            {
                return Err(Failure::usage(
                    "nothing to change: give --role, --display-name, --email, --disable or --enable",
                ));
            }
            show(ctx, c.update_user(&name, &update).await?);
        }
        UsersCmd::Rm { name } => {
            c.delete_user(&name).await?;
            if ctx.json {
                output::json(&serde_json::json!({"deleted": name}));
            } else {
                println!("Deleted user {name}.");
            }
        }
        UsersCmd::Passwd { name, password_stdin } => {
            let me = c.whoami().await?;
            let name = name.unwrap_or_else(|| me.username.clone());
            let current = if name == me.username {
                Some(read_secret("Current password: ", password_stdin)?)
            } else {
                None
            };
            let new = read_secret(&format!("New password for {name}: "), password_stdin)?;
            c.set_password(&name, current.as_deref(), &new).await?;
            if ctx.json {
                output::json(&serde_json::json!({"password_changed": name}));
            } else {
                println!("Password of {name} changed.");
            }
        }
    }
    Ok(())
}

fn show(ctx: &Ctx, u: twister_client::types::User) {
    if ctx.json {
        output::json(&u);
        return;
    }
    println!("user:     {}", u.username);
    println!("role:     {}", u.role);
    println!("name:     {}", u.display_name);
    println!("e-mail:   {}", u.email);
    println!("state:    {}", if u.disabled { "disabled" } else { "active" });
    println!("created:  {}", output::time(&u.created_at));
}

//! `twister login`, `logout`, `whoami`.

use std::io::IsTerminal;

use clap::Args as ClapArgs;

use super::{output, read_secret, CmdResult, Ctx, Failure};

/// `twister login` options.
#[derive(Debug, ClapArgs)]
pub struct LoginArgs {
    /// User name (asked for when missing and a terminal is attached).
    #[arg(short, long)]
    user: Option<String>,
    /// Read the password from the first line of stdin instead of prompting.
    #[arg(long)]
    password_stdin: bool,
}

pub async fn login(ctx: &mut Ctx, a: LoginArgs) -> CmdResult {
    let user = match a.user {
        Some(u) => u,
        None if std::io::stdin().is_terminal() && !a.password_stdin => {
            eprint!("Username: ");
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| Failure::other(format!("cannot read the user name: {e}")))?;
            line.trim().to_string()
        }
        None => return Err(Failure::usage("give the user name with --user")),
    };
    let password = read_secret("Password: ", a.password_stdin)?;
    let login = ctx.client.login(&user, &password).await?;
    let Some(path) = ctx.config_path.clone() else {
        return Err(Failure::other(
            "logged in, but there is no place for the config file (set HOME or TWISTER_CLI_CONFIG); \
             use the token through TWISTER_TOKEN instead",
        ));
    };
    let mut cfg = ctx.config.clone();
    cfg.token = Some(login.token.clone());
    cfg.username = Some(login.user.username.clone());
    if ctx.url_given || cfg.url.is_none() {
        cfg.url = Some(ctx.client.base_url().to_string());
    }
    cfg.save(&path).map_err(|e| Failure::other(e.to_string()))?;
    if ctx.json {
        output::json(&serde_json::json!({
            "username": login.user.username, "role": login.user.role,
            "expires_at": login.expires_at, "url": ctx.client.base_url(),
        }));
    } else {
        println!(
            "Logged in to {} as {} ({}); session until {}.",
            ctx.client.base_url(),
            login.user.username,
            login.user.role,
            output::time(&login.expires_at)
        );
    }
    Ok(())
}

pub async fn logout(ctx: &mut Ctx) -> CmdResult {
    let result = ctx.client.logout().await;
    // Forget the saved token even when the server already forgot it.
    if let Some(path) = ctx.config_path.clone() {
        if ctx.config.token.is_some() {
            let mut cfg = ctx.config.clone();
            cfg.token = None;
            cfg.username = None;
            cfg.save(&path).map_err(|e| Failure::other(e.to_string()))?;
        }
    }
    match result {
        Ok(()) => {}
        Err(e) if e.exit_code() == twister_client::exit::AUTH => {}
        Err(e) => return Err(e.into()),
    }
    if !ctx.json {
        println!("Logged out.");
    } else {
        output::json(&serde_json::json!({"logged_out": true}));
    }
    Ok(())
}

pub async fn whoami(ctx: &Ctx) -> CmdResult {
    let me = ctx.client.whoami().await?;
    if ctx.json {
        output::json(&me);
        return Ok(());
    }
    println!("user:        {}", me.username);
    println!("role:        {}", me.role);
    println!("token:       {}", me.token_kind);
    println!("controller:  {}", ctx.client.base_url());
    if let Some(p) = &me.paths {
        println!("paths:       {}", p.join(", "));
    }
    println!("permissions: {}", me.permissions.join(", "));
    Ok(())
}

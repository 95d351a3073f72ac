//! First start: create the `admin` user when the database has no users.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::password::{check_policy, generate_password, hash_password};
use super::Role;
use crate::store::{self, new_id, now_ms, Store};

/// The outcome of bootstrapping.
#[derive(Debug)]
pub enum Bootstrap {
    /// Users already existed; nothing was done.
    Existing,
    /// The admin was created with the password from `TWISTER_ADMIN_PASSWORD`.
    FromEnvironment,
    /// The admin was created with a generated password, written to this file (mode 0600).
    Generated {
        /// The generated password (print it once).
        password: String,
        /// Where it was written.
        file: PathBuf,
    },
}

/// Creates `admin` if there are no users. `env_password` is the value of `TWISTER_ADMIN_PASSWORD`, if any.
pub async fn ensure_admin(
    store: &Store,
    data_dir: &Path,
    env_password: Option<String>,
) -> anyhow::Result<Bootstrap> {
    if store::users::count(store).await? > 0 {
        return Ok(Bootstrap::Existing);
    }
    let (password, generated) = match env_password.filter(|p| !p.is_empty()) {
        Some(p) => {
            check_policy(&p).map_err(|e| anyhow::anyhow!("TWISTER_ADMIN_PASSWORD: {e}"))?;
            (p, false)
        }
        None => (generate_password(), true),
    };
    let now = now_ms();
    let user = store::users::UserRow {
        id: new_id(),
        username: "admin".into(),
        display_name: "Administrator".into(),
        email: String::new(),
        role: Role::Admin,
        password_hash: hash_password(&password).map_err(anyhow::Error::msg)?,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    let file = data_dir.join("admin-password");
    if generated {
        write_private(&file, &format!("{password}\n"))?;
    }
    let mut tx = store.begin_write().await?;
    store::users::insert(tx.conn(), &user).await?;
    tx.commit().await?;
    Ok(if generated {
        Bootstrap::Generated { password, file }
    } else {
        Bootstrap::FromEnvironment
    })
}

/// Writes `contents` to a file readable only by its owner.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

//! The service manager: long-running helper programs of the lab (an OpenFlow controller, a sniffer, a TFTP
//! server, ...) defined in the controller's configuration or through the API (and imported from the original
//! `services.ini`), started, stopped and restarted by admins, and supervised ([`supervisor`]).
//!
//! Every file a service names (configuration, log, working directory) lies below the services directory
//! (`services_dir`, default `<data_dir>/services`); the API cannot reach outside it.

pub mod definition;
pub mod supervisor;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use utoipa::ToSchema;

use crate::store::{self, audit, now_ms, Store, StoreError};
use definition::{relative_path, DefinitionError, ServiceDef};
use supervisor::{ServiceStatus, Supervised};

/// Largest configuration file the API reads or writes.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// A service manager failure.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No service of that name.
    #[error("no service {0}")]
    NotFound(String),
    /// A definition is invalid.
    #[error(transparent)]
    Invalid(#[from] DefinitionError),
    /// The service has no configuration file.
    #[error("service {0} has no config_file")]
    NoConfig(String),
    /// A file could not be read or written.
    #[error("{what}: {message}")]
    File {
        /// Which file.
        what: String,
        /// Cause.
        message: String,
    },
    /// Database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A service as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceView {
    /// The definition.
    #[serde(flatten)]
    pub def: ServiceDef,
    /// What it is doing.
    pub status: ServiceStatus,
}

/// The service manager (cheap to clone).
#[derive(Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    root: PathBuf,
    supervised: Mutex<HashMap<String, Arc<Supervised>>>,
}

impl Services {
    /// Opens the manager over `root`; definitions from the configuration file replace stored ones of the
    /// same name.
    pub async fn open(
        store: Store,
        root: PathBuf,
        configured: &[ServiceDef],
    ) -> Result<Services, ServiceError> {
        std::fs::create_dir_all(&root).map_err(|e| ServiceError::File {
            what: root.display().to_string(),
            message: e.to_string(),
        })?;
        let services = Services {
            inner: Arc::new(Inner {
                store,
                root,
                supervised: Mutex::new(HashMap::new()),
            }),
        };
        for def in configured {
            services.save(def.clone(), "config").await?;
        }
        Ok(services)
    }

    /// The services directory.
    pub fn root(&self) -> &std::path::Path {
        &self.inner.root
    }

    fn supervised(&self, name: &str) -> Arc<Supervised> {
        self.inner
            .supervised
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    async fn defs(&self) -> Result<Vec<ServiceDef>, ServiceError> {
        store::services::list(&self.inner.store)
            .await?
            .into_iter()
            .map(|(name, doc)| {
                serde_json::from_str(&doc)
                    .map_err(|e| StoreError::Corrupt(format!("service {name}: {e}")).into())
            })
            .collect()
    }

    /// One definition.
    pub async fn def(&self, name: &str) -> Result<ServiceDef, ServiceError> {
        self.defs()
            .await?
            .into_iter()
            .find(|d| d.name == name)
            .ok_or_else(|| ServiceError::NotFound(name.to_string()))
    }

    /// Every service with its status.
    pub async fn list(&self) -> Result<Vec<ServiceView>, ServiceError> {
        Ok(self
            .defs()
            .await?
            .into_iter()
            .map(|def| {
                let status = self.supervised(&def.name).status();
                ServiceView { def, status }
            })
            .collect())
    }

    /// One service with its status.
    pub async fn view(&self, name: &str) -> Result<ServiceView, ServiceError> {
        let def = self.def(name).await?;
        let status = self.supervised(name).status();
        Ok(ServiceView { def, status })
    }

    /// Creates or replaces a definition (a running service keeps its old one until restarted).
    pub async fn save(&self, def: ServiceDef, by: &str) -> Result<ServiceView, ServiceError> {
        def.validate()?;
        let doc = serde_json::to_string(&def).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.inner.store.begin_write().await?;
        store::services::put(tx.conn(), &def.name, &doc, by, now_ms()).await?;
        audit::record(
            tx.conn(),
            by,
            "service.put",
            &def.name,
            None,
            Some(&serde_json::json!({"command": def.command, "args": def.args})),
        )
        .await?;
        tx.commit().await?;
        self.view(&def.name).await
    }

    /// Imports the original `services.ini` (each section creates or replaces a service).
    pub async fn import_ini(&self, text: &str, by: &str) -> Result<Vec<ServiceView>, ServiceError> {
        let defs = definition::from_services_ini(text)?;
        let mut out = Vec::new();
        for d in defs {
            out.push(self.save(d, by).await?);
        }
        Ok(out)
    }

    /// Stops and deletes a service.
    pub async fn delete(&self, name: &str, by: &str) -> Result<(), ServiceError> {
        self.def(name).await?;
        self.stop(name).await?;
        let mut tx = self.inner.store.begin_write().await?;
        store::services::delete(tx.conn(), name).await?;
        audit::record(tx.conn(), by, "service.delete", name, None, None).await?;
        tx.commit().await?;
        self.inner
            .supervised
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        Ok(())
    }

    /// Starts a service (no-op when running).
    pub async fn start(&self, name: &str) -> Result<ServiceView, ServiceError> {
        let def = self.def(name).await?;
        self.supervised(name).start(def, self.inner.root.clone());
        // Give a command that cannot start the chance to say so in this answer.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        self.view(name).await
    }

    /// Stops a service (its whole process group) and waits until it is gone.
    pub async fn stop(&self, name: &str) -> Result<ServiceView, ServiceError> {
        self.def(name).await?;
        self.supervised(name).stop().await;
        self.view(name).await
    }

    /// Stops, then starts with the current definition.
    pub async fn restart(&self, name: &str) -> Result<ServiceView, ServiceError> {
        self.stop(name).await?;
        self.start(name).await
    }

    /// Starts every service marked autostart.
    pub async fn autostart(&self) -> Result<usize, ServiceError> {
        let mut n = 0;
        for def in self.defs().await?.into_iter().filter(|d| d.autostart) {
            self.supervised(&def.name).start(def, self.inner.root.clone());
            n += 1;
        }
        Ok(n)
    }

    /// Stops every service (controller shutdown).
    pub async fn shutdown(&self) {
        let all: Vec<Arc<Supervised>> = self
            .inner
            .supervised
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        futures::future::join_all(all.iter().map(|s| s.stop())).await;
    }

    fn file(&self, rel: &str) -> Result<PathBuf, ServiceError> {
        relative_path(rel)
            .map(|p| self.inner.root.join(p))
            .ok_or_else(|| ServiceError::File {
                what: rel.to_string(),
                message: "not a path inside the services directory".into(),
            })
    }

    /// The last `max_bytes` of the service's log (from a line start).
    pub async fn logs(&self, name: &str, max_bytes: u64) -> Result<String, ServiceError> {
        let def = self.def(name).await?;
        let path = self.file(&def.log_rel())?;
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(ServiceError::File {
                    what: def.log_rel(),
                    message: e.to_string(),
                })
            }
        };
        let start = bytes.len().saturating_sub(max_bytes as usize);
        let mut tail = &bytes[start..];
        if start > 0 {
            if let Some(nl) = tail.iter().position(|b| *b == b'\n') {
                tail = &tail[nl + 1..];
            }
        }
        Ok(String::from_utf8_lossy(tail).into_owned())
    }

    /// The service's configuration file (empty when it does not exist yet).
    pub async fn config(&self, name: &str) -> Result<String, ServiceError> {
        let def = self.def(name).await?;
        let rel = def
            .config_file
            .clone()
            .ok_or_else(|| ServiceError::NoConfig(name.to_string()))?;
        match tokio::fs::read(self.file(&rel)?).await {
            Ok(b) if b.len() > MAX_CONFIG_BYTES => Err(ServiceError::File {
                what: rel,
                message: "larger than 1 MiB".into(),
            }),
            Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(ServiceError::File {
                what: rel,
                message: e.to_string(),
            }),
        }
    }

    /// Replaces the service's configuration file (atomically; restart the service to apply it).
    pub async fn set_config(&self, name: &str, text: &str, by: &str) -> Result<(), ServiceError> {
        let def = self.def(name).await?;
        let rel = def
            .config_file
            .clone()
            .ok_or_else(|| ServiceError::NoConfig(name.to_string()))?;
        if text.len() > MAX_CONFIG_BYTES {
            return Err(ServiceError::File {
                what: rel,
                message: "larger than 1 MiB".into(),
            });
        }
        let path = self.file(&rel)?;
        let io = |e: std::io::Error| ServiceError::File {
            what: rel.clone(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        let mut tmp = path.clone().into_os_string();
        tmp.push(".twister-new");
        tokio::fs::write(&tmp, text).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)?;
        let mut tx = self.inner.store.begin_write().await?;
        audit::record(
            tx.conn(),
            by,
            "service.config",
            name,
            None,
            Some(&serde_json::json!({"bytes": text.len()})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

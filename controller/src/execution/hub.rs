//! The station hub: which stations are linked now, which EPs they offer, and the delivery of numbered commands
//! (stored first, sent when the link is up, resent after a reconnect until acknowledged).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use twister_proto::link::{Command, Down, EpInfo};

use crate::store::{self, now_ms, Store, StoreError};

/// A live link's outbound queue.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    /// Session id.
    pub session: String,
    /// Frames to send.
    pub tx: mpsc::UnboundedSender<Down>,
    /// When the link came up, Unix ms.
    pub since_ms: i64,
}

#[derive(Default)]
struct HubState {
    /// Station id -> live session.
    sessions: HashMap<String, SessionHandle>,
    /// EP name -> (station id, station name), from the latest hello of each station.
    eps: HashMap<String, (String, String)>,
    /// Station id -> when its link went down (absent while up, or never seen since start).
    down_since: HashMap<String, Instant>,
}

/// Shared handle to the hub.
#[derive(Clone)]
pub struct Hub {
    store: Store,
    started: Instant,
    state: Arc<Mutex<HubState>>,
}

/// Where an EP lives and whether its station is reachable.
#[derive(Debug, Clone, PartialEq)]
pub enum EpLocation {
    /// No station has offered this EP.
    Unknown,
    /// On this station, linked now.
    Online {
        /// Station id.
        station_id: String,
    },
    /// On this station, not linked for this long.
    Offline {
        /// Station id.
        station_id: String,
        /// How long it has been away (since the controller started, if never seen).
        for_: Duration,
    },
}

impl Hub {
    /// A hub over the store; reads which station offers which EP.
    pub async fn new(store: Store) -> Result<Hub, StoreError> {
        let mut st = HubState::default();
        for s in store::stations::list(&store).await? {
            let eps: Vec<EpInfo> = serde_json::from_str(&s.eps).unwrap_or_default();
            for ep in eps {
                st.eps.insert(ep.name, (s.id.clone(), s.name.clone()));
            }
        }
        let mut conn = store.pool().acquire().await?;
        store::stations::all_disconnected(&mut conn).await?;
        drop(conn);
        Ok(Hub {
            store,
            started: Instant::now(),
            state: Arc::new(Mutex::new(st)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a live link (replacing an older one of the same station) and the EPs it offers.
    pub fn attach(&self, station_id: &str, station_name: &str, eps: &[EpInfo], handle: SessionHandle) {
        let mut st = self.lock();
        if let Some(old) = st.sessions.insert(station_id.to_string(), handle) {
            let _ = old.tx.send(Down::Refused {
                code: "replaced".into(),
                message: "a newer link of this station took over".into(),
            });
        }
        st.eps.retain(|_, (sid, _)| sid != station_id);
        for ep in eps {
            st.eps.insert(
                ep.name.clone(),
                (station_id.to_string(), station_name.to_string()),
            );
        }
        st.down_since.remove(station_id);
    }

    /// Removes a link if it is still the current one of its station.
    pub fn detach(&self, station_id: &str, session: &str) -> bool {
        let mut st = self.lock();
        let current = st.sessions.get(station_id).is_some_and(|h| h.session == session);
        if current {
            st.sessions.remove(station_id);
            st.down_since.insert(station_id.to_string(), Instant::now());
        }
        current
    }

    /// Forgets a deleted station.
    pub fn forget(&self, station_id: &str) {
        let mut st = self.lock();
        st.sessions.remove(station_id);
        st.eps.retain(|_, (sid, _)| sid != station_id);
        st.down_since.remove(station_id);
    }

    /// When the station's current link came up (Unix ms), if it is linked.
    pub fn online_since(&self, station_id: &str) -> Option<i64> {
        self.lock().sessions.get(station_id).map(|h| h.since_ms)
    }

    /// Whether a station is linked now.
    pub fn is_online(&self, station_id: &str) -> bool {
        self.lock().sessions.contains_key(station_id)
    }

    /// Where `ep` lives.
    pub fn locate(&self, ep: &str) -> EpLocation {
        let st = self.lock();
        match st.eps.get(ep) {
            None => EpLocation::Unknown,
            Some((sid, _)) if st.sessions.contains_key(sid) => EpLocation::Online {
                station_id: sid.clone(),
            },
            Some((sid, _)) => EpLocation::Offline {
                station_id: sid.clone(),
                for_: st
                    .down_since
                    .get(sid)
                    .map(|t| t.elapsed())
                    .unwrap_or_else(|| self.started.elapsed()),
            },
        }
    }

    /// Every EP with its station name and whether it is online.
    pub fn eps(&self) -> Vec<(String, String, bool)> {
        let st = self.lock();
        let mut v: Vec<(String, String, bool)> = st
            .eps
            .iter()
            .map(|(ep, (sid, name))| (ep.clone(), name.clone(), st.sessions.contains_key(sid)))
            .collect();
        v.sort();
        v
    }

    /// Stores a command for a station and sends it now if the station is linked.
    pub async fn send(&self, station_id: &str, command: Command) -> Result<i64, StoreError> {
        let body = serde_json::to_string(&command).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.store.begin_write().await?;
        let seq = store::stations::enqueue_command(tx.conn(), station_id, &body, now_ms()).await?;
        tx.commit().await?;
        let handle = self.lock().sessions.get(station_id).cloned();
        if let Some(h) = handle {
            let _ = h.tx.send(Down::Command {
                seq: seq as u64,
                command,
            });
        }
        Ok(seq)
    }

    /// Sends a frame on a station's live link, if any.
    pub fn push(&self, station_id: &str, frame: Down) -> bool {
        match self.lock().sessions.get(station_id) {
            Some(h) => h.tx.send(frame).is_ok(),
            None => false,
        }
    }
}

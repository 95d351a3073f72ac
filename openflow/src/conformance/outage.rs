//! Outages of the control channel, for the cases of TS-026 suite 10: the harness closes the channel or
//! goes silent on it, refuses the switch for a while, and takes the switch's next connection as the case's
//! switch (the control-channel record of every connection is kept as the case's evidence).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::steps::{fail, unsupported};
use super::{CaseError, Context};
use crate::channel::{Switch, SwitchDirectory};

/// What a switch is configured to do when it loses every controller (1.3 §6.3.6). It is a setting of the
/// switch, not something OpenFlow can read, so the operator tells the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailMode {
    /// Only messages to the controller are dropped; flows keep forwarding and expiring.
    #[default]
    Secure,
    /// The switch forwards every packet through OFPP_NORMAL, as a legacy Ethernet switch.
    Standalone,
}

impl FailMode {
    /// The mode's name: `secure` or `standalone`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailMode::Secure => "secure",
            FailMode::Standalone => "standalone",
        }
    }
}

impl fmt::Display for FailMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FailMode {
    type Err = String;

    fn from_str(s: &str) -> Result<FailMode, String> {
        match s {
            "secure" | "fail-secure" => Ok(FailMode::Secure),
            "standalone" | "fail-standalone" => Ok(FailMode::Standalone),
            other => Err(format!(
                "unknown fail mode {other:?}: expected secure or standalone"
            )),
        }
    }
}

impl Context<'_> {
    /// The controller's switches; unsupported without them (no way to take the channel down).
    pub(crate) fn channel_directory(&self) -> Result<&SwitchDirectory, CaseError> {
        self.directory.as_ref().ok_or_else(|| {
            unsupported("the suite was given no controller directory, so it cannot take the channel down")
        })
    }

    /// A case for switches configured in `mode`: unsupported when the switch is configured otherwise.
    pub(crate) fn needs_fail_mode(&self, mode: FailMode) -> Result<(), CaseError> {
        if self.fail_mode == mode {
            return Ok(());
        }
        Err(unsupported(format!(
            "the switch is configured fail-{}; this case is for fail-{mode} switches",
            self.fail_mode
        )))
    }

    /// Refuses the switch's new connections (until [`Context::reconnect`]), so that once its channel
    /// closes it finds no controller.
    pub(crate) fn refuse_switch(&self) -> Result<(), CaseError> {
        self.channel_directory()?.set_refusing(true);
        Ok(())
    }

    /// Closes the channel from the controller's side and refuses the switch until
    /// [`Context::reconnect`].
    pub(crate) async fn drop_channel(&self) -> Result<(), CaseError> {
        self.refuse_switch()?;
        let sw = self.switch();
        sw.close();
        tokio::time::timeout(self.timeout, sw.closed())
            .await
            .map_err(|_| CaseError::Harness("the harness could not close the channel".into()))
    }

    /// Lets the switch in again and, when its connection has closed, waits for the next one, which becomes
    /// the case's switch.
    pub(crate) async fn reconnect(&self) -> Result<Switch, CaseError> {
        let directory = self.channel_directory()?;
        directory.set_refusing(false);
        let old = self.switch();
        if !old.is_closed() {
            return Ok(old);
        }
        let next = directory
            .wait_for_reconnect(old.datapath_id(), &old, self.failover)
            .await
            .map_err(|e| {
                fail(format!(
                    "the switch did not connect again within {:?} of being let in: {e}",
                    self.failover
                ))
            })?;
        if next.version() != old.version() {
            return Err(fail(format!(
                "the switch came back speaking version {} instead of {}",
                next.version(),
                old.version()
            )));
        }
        self.adopt(&old, next.clone());
        Ok(next)
    }

    /// Makes `next` the case's switch, carrying the recording over from `old`.
    fn adopt(&self, old: &Switch, next: Switch) {
        if let Some(records) = self.carried().as_mut() {
            records.extend(old.take_recording());
            // A connection made while recording records from its first message: keep that.
            if !next.is_recording() {
                next.start_recording();
            }
        }
        *self.switch.lock().unwrap_or_else(|e| e.into_inner()) = next;
    }

    /// Takes the switch back after a case: stops refusing it, closes a connection a case muted, and,
    /// when the connection closed (a case took the channel down, or the switch dropped it), waits for the
    /// next one. A switch that does not come back makes this case and the following ones errors (of the
    /// harness, not the switch's verdicts); later cases only look whether it came back meanwhile instead
    /// of waiting again. Without a directory there is nothing to do.
    pub(crate) async fn restore_channel(&self) -> Result<(), CaseError> {
        use std::sync::atomic::Ordering::SeqCst;
        let Some(directory) = &self.directory else {
            return Ok(());
        };
        directory.set_refusing(false);
        let current = self.switch();
        if current.is_muted() && !current.is_closed() {
            current.close();
            let _ = tokio::time::timeout(self.timeout, current.closed()).await;
        }
        if !current.is_closed() {
            self.channel_lost.store(false, SeqCst);
            return Ok(());
        }
        if self.channel_lost.load(SeqCst) {
            return match directory
                .switch(current.datapath_id())
                .filter(|s| !s.same_connection(&current))
            {
                Some(next) => {
                    self.adopt(&current, next);
                    self.channel_lost.store(false, SeqCst);
                    Ok(())
                }
                None => Err(CaseError::Harness(
                    "not run: the switch has not connected again since an earlier case took its channel down"
                        .into(),
                )),
            };
        }
        self.reconnect().await.map(|_| ()).map_err(|e| {
            self.channel_lost.store(true, SeqCst);
            CaseError::Harness(format!("the channel could not be restored: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_modes_parse_by_either_name() {
        assert_eq!("secure".parse(), Ok(FailMode::Secure));
        assert_eq!("fail-standalone".parse(), Ok(FailMode::Standalone));
        assert!("open"
            .parse::<FailMode>()
            .unwrap_err()
            .contains("secure or standalone"));
        assert_eq!(FailMode::Standalone.to_string(), "standalone");
        assert_eq!(FailMode::default(), FailMode::Secure);
    }
}

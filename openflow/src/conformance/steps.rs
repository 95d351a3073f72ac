//! Steps the cases are made of: flow-mods in either version, programming with barrier and settle time,
//! errors the switch answered with, data-plane expectations under the settle-and-retry policy, and stats.

use std::time::Duration;

use super::{CaseError, Context};
use crate::channel::{is_error, AsyncMessage, ChannelError};
use crate::dataplane::DataPlaneError;
use crate::{v10, v13, OfMessage, OFP10_VERSION};

/// The cookie every flow of the suite carries.
pub(crate) const COOKIE: u64 = 0x7717;

pub(crate) fn fail(text: impl Into<String>) -> CaseError {
    CaseError::Failed(text.into())
}

pub(crate) fn unsupported(text: impl Into<String>) -> CaseError {
    CaseError::Unsupported(text.into())
}

/// (type, code) of an error message of either version.
pub(crate) fn error_code(msg: &OfMessage) -> Option<(u16, u16)> {
    match msg {
        OfMessage::V10(v10::Message::Error(e)) => Some(e.kind.to_wire()),
        OfMessage::V13(v13::Message::Error(e)) => Some(e.kind.to_wire()),
        _ => None,
    }
}

/// A 1.3 flow-mod in table 0 (table 0xff for deletes) with apply-actions (none: drop).
pub(crate) fn flow13(
    command: v13::FlowModCommand,
    priority: u16,
    fields: Vec<v13::OxmField>,
    instructions: Vec<v13::Instruction>,
) -> v13::FlowMod {
    let delete = matches!(
        command,
        v13::FlowModCommand::Delete | v13::FlowModCommand::DeleteStrict
    );
    v13::FlowMod {
        cookie: COOKIE,
        cookie_mask: 0,
        table_id: if delete { 0xff } else { 0 },
        command,
        idle_timeout: 0,
        hard_timeout: 0,
        priority,
        buffer_id: v13::NO_BUFFER,
        out_port: v13::port::port_no::ANY,
        out_group: v13::group::group_id::ANY,
        flags: 0,
        match_: v13::Match::new(fields),
        instructions,
    }
}

/// A 1.3 flow-mod adding a flow at priority 100 in table 0 that matches the ingress port.
pub(crate) fn in_port_flow13(in_port: u32, instructions: Vec<v13::Instruction>) -> v13::FlowMod {
    flow13(
        v13::FlowModCommand::Add,
        100,
        vec![v13::OxmField::InPort {
            value: in_port,
            mask: None,
        }],
        instructions,
    )
}

/// Apply-actions as an instruction list (empty for no actions).
pub(crate) fn apply(actions: Vec<v13::Action>) -> Vec<v13::Instruction> {
    if actions.is_empty() {
        Vec::new()
    } else {
        vec![v13::Instruction::ApplyActions(actions)]
    }
}

/// A 1.0 flow-mod.
pub(crate) fn flow10(
    command: v10::FlowModCommand,
    priority: u16,
    match_: v10::Match,
    actions: Vec<v10::Action>,
) -> v10::FlowMod {
    v10::FlowMod {
        match_,
        cookie: COOKIE,
        command,
        idle_timeout: 0,
        hard_timeout: 0,
        priority,
        buffer_id: u32::MAX,
        out_port: v10::port::port_no::NONE,
        flags: 0,
        actions,
    }
}

/// A 1.3 multipart request with this body.
pub(crate) fn mp13(body: v13::MultipartRequestBody) -> OfMessage {
    OfMessage::V13(v13::Message::MultipartRequest(v13::MultipartRequest {
        flags: 0,
        body,
    }))
}

/// The bodies of the 1.3 multipart reply parts among `parts`.
pub(crate) fn reply_bodies(parts: Vec<OfMessage>) -> impl Iterator<Item = v13::MultipartReplyBody> {
    parts.into_iter().filter_map(|m| match m {
        OfMessage::V13(v13::Message::MultipartReply(r)) => Some(r.body),
        _ => None,
    })
}

/// Deletes every flow (every table in 1.3; groups and meters too).
pub(crate) fn clear(version: u8) -> Vec<OfMessage> {
    if version == OFP10_VERSION {
        vec![OfMessage::V10(v10::Message::FlowMod(flow10(
            v10::FlowModCommand::Delete,
            0,
            v10::Match::all(),
            Vec::new(),
        )))]
    } else {
        vec![
            OfMessage::V13(v13::Message::FlowMod(flow13(
                v13::FlowModCommand::Delete,
                0,
                Vec::new(),
                Vec::new(),
            ))),
            OfMessage::V13(v13::Message::GroupMod(v13::GroupMod {
                command: v13::GroupModCommand::Delete,
                group_type: v13::GroupType::All,
                group_id: v13::group::group_id::ALL,
                buckets: Vec::new(),
            })),
            OfMessage::V13(v13::Message::MeterMod(v13::MeterMod {
                command: v13::MeterModCommand::Delete,
                flags: 0,
                meter_id: v13::meter::meter_id::ALL,
                bands: Vec::new(),
            })),
        ]
    }
}

impl Context<'_> {
    /// Port `i` of the case (0 is the ingress).
    pub(crate) fn port(&self, i: usize) -> u32 {
        self.ports.get(i).copied().unwrap_or(0)
    }

    /// Port `i` as a 1.0 port number.
    pub(crate) fn port10(&self, i: usize) -> u16 {
        u16::try_from(self.port(i)).unwrap_or(0)
    }

    /// Sends the messages and a barrier; returns the errors the switch answered any of them with. Then
    /// waits the settle time: switches may apply a flow to their fast path slightly after the barrier reply.
    pub(crate) async fn program(&self, msgs: &[OfMessage]) -> Result<Vec<OfMessage>, CaseError> {
        let errors = self.errors_before_barrier(msgs).await?;
        self.settled().await;
        Ok(errors)
    }

    /// Waits until the settle time has passed since the switch last acknowledged a table change (returns
    /// at once when it has).
    pub(crate) async fn settled(&self) {
        let since = *self.changed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = since {
            tokio::time::sleep_until(t + self.settle).await;
        }
    }

    /// Sends the messages and a barrier; returns the errors the switch answered any of them with (a switch
    /// answers a message before the barrier that follows it, so no timeout is needed).
    pub(crate) async fn errors_before_barrier(
        &self,
        msgs: &[OfMessage],
    ) -> Result<Vec<OfMessage>, CaseError> {
        let sw = self.switch();
        let mut sub = sw.subscribe();
        let mut xids = Vec::new();
        for m in msgs {
            xids.push(sw.send(m).await?);
        }
        sw.barrier().await?;
        if !msgs.is_empty() {
            *self.changed.lock().unwrap_or_else(|e| e.into_inner()) = Some(tokio::time::Instant::now());
        }
        let mut errors = Vec::new();
        // Errors for the messages came before the barrier reply, so they are queued already.
        while let Some(m) = sub.try_recv() {
            if xids.contains(&m.xid) && is_error(&m.message) {
                errors.push(m.message);
            }
        }
        Ok(errors)
    }

    /// [`Context::program`] where any error fails the case (or, when its type is one of
    /// `unsupported_types`, makes it unsupported).
    pub(crate) async fn program_ok(
        &self,
        msgs: &[OfMessage],
        unsupported_types: &[u16],
    ) -> Result<(), CaseError> {
        let errors = self.program(msgs).await?;
        if let Some(e) = errors.first() {
            let code = error_code(e).unwrap_or_default();
            if unsupported_types.contains(&code.0) {
                return Err(unsupported(format!(
                    "switch rejected it with error type {} code {}",
                    code.0, code.1
                )));
            }
            return Err(fail(format!(
                "switch answered error type {} code {}",
                code.0, code.1
            )));
        }
        Ok(())
    }

    /// Sends `msg` and expects an error answer of this type (and code, when given) within the timeout.
    pub(crate) async fn expect_error(
        &self,
        msg_bytes: Option<&[u8]>,
        msg: Option<&OfMessage>,
        want_type: u16,
        want_code: Option<u16>,
    ) -> Result<(), CaseError> {
        let (t, c) = self.error_answer(msg_bytes, msg).await?;
        if t != want_type || want_code.is_some_and(|w| w != c) {
            return Err(fail(format!(
                "error type {t} code {c}, expected type {want_type}{}",
                want_code.map(|c| format!(" code {c}")).unwrap_or_default()
            )));
        }
        Ok(())
    }

    /// Sends the raw bytes or the message and returns the (type, code) of the error it is answered with;
    /// no error before the reply to a barrier sent after it fails the case.
    pub(crate) async fn error_answer(
        &self,
        msg_bytes: Option<&[u8]>,
        msg: Option<&OfMessage>,
    ) -> Result<(u16, u16), CaseError> {
        let xid = 0x5eed_0000 | (rand_low() & 0xffff);
        let bytes = match (msg_bytes, msg) {
            (Some(b), _) => {
                let mut b = b.to_vec();
                if let Some(x) = b.get_mut(4..8) {
                    x.copy_from_slice(&xid.to_be_bytes());
                }
                b
            }
            (None, Some(m)) => m
                .encode(xid)
                .map_err(|e| CaseError::Unknown(format!("message not encoded: {e}")))?,
            (None, None) => Vec::new(),
        };
        let answer = self
            .answered_before_barrier(&bytes, |m| m.xid == xid && is_error(&m.message))
            .await?;
        answer
            .map(|m| error_code(&m.message).unwrap_or_default())
            .ok_or_else(|| fail("no error message came back (the barrier reply came first)"))
    }

    /// Sends the raw bytes and then a barrier, and returns the first asynchronous message `want` picks
    /// among those that came before the barrier reply; none when it picked none. A switch answers a
    /// message before the barrier that follows it (1.3 §6.2), so no timeout is waited when it wrongly
    /// stays silent; a switch that closes the connection after its answer still answered.
    pub(crate) async fn answered_before_barrier(
        &self,
        bytes: &[u8],
        mut want: impl FnMut(&AsyncMessage) -> bool,
    ) -> Result<Option<AsyncMessage>, CaseError> {
        let sw = self.switch();
        let mut sub = sw.subscribe();
        if !bytes.is_empty() {
            sw.send_raw(bytes).await?;
        }
        let barrier = sw.barrier().await;
        while let Some(m) = sub.try_recv() {
            if want(&m) {
                return Ok(Some(m));
            }
        }
        barrier?;
        Ok(None)
    }

    /// Settle and retry: sends `frame` into `ingress` and waits for `expected` on `egress`, re-sending up to
    /// the configured number of attempts (a flow may reach the fast path only after the barrier reply).
    pub(crate) async fn expect_forward(
        &self,
        ingress: u32,
        frame: &[u8],
        egress: u32,
        expected: &[u8],
    ) -> Result<(), CaseError> {
        self.settled().await;
        let dp = self.dataplane;
        let mut last = None;
        for _ in 0..self.attempts.max(1) {
            let got = tokio::task::block_in_place(|| {
                dp.drain();
                dp.send(ingress, frame)?;
                dp.expect_frame(egress, expected, self.step)
            });
            match got {
                Ok(()) => return Ok(()),
                Err(e @ (DataPlaneError::Io { .. } | DataPlaneError::NoSuchPort(_))) => return Err(e.into()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.map_or_else(|| fail("frame not forwarded"), CaseError::from))
    }

    /// Sends `frame` into `ingress` and checks nothing arrives on any of `ports` within the quiet time.
    pub(crate) async fn expect_dropped(
        &self,
        ingress: u32,
        frame: &[u8],
        ports: &[u32],
    ) -> Result<(), CaseError> {
        self.settled().await;
        let dp = self.dataplane;
        tokio::task::block_in_place(|| {
            dp.drain();
            dp.send(ingress, frame)?;
            let mut first = true;
            for p in ports {
                let wait = if first {
                    self.quiet
                } else {
                    Duration::from_millis(20)
                };
                first = false;
                dp.expect_none(*p, wait)?;
            }
            Ok::<(), DataPlaneError>(())
        })?;
        Ok(())
    }

    /// Every part of a stats (1.0) or multipart (1.3) reply; an error reply whose type is in
    /// `unsupported_types` makes the case unsupported.
    pub(crate) async fn stats(
        &self,
        req: &OfMessage,
        unsupported_types: &[u16],
    ) -> Result<Vec<OfMessage>, CaseError> {
        match self.switch().multipart(req).await {
            Ok(parts) => Ok(parts),
            Err(ChannelError::Rejected(m)) => {
                let (t, c) = error_code(&m).unwrap_or_default();
                if unsupported_types.contains(&t) {
                    Err(unsupported(format!("rejected with error type {t} code {c}")))
                } else {
                    Err(fail(format!("rejected with error type {t} code {c}")))
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Packet and byte counts of the suite's flows (cookie [`COOKIE`]) in the flow statistics.
    pub(crate) async fn flow_counts(&self) -> Result<Vec<(u16, u64, u64)>, CaseError> {
        let mut out = Vec::new();
        if self.version() == OFP10_VERSION {
            let req = OfMessage::V10(v10::Message::StatsRequest(v10::StatsRequest {
                flags: 0,
                body: v10::StatsRequestBody::Flow(v10::stats::FlowStatsRequest {
                    match_: v10::Match::all(),
                    table_id: 0xff,
                    out_port: v10::port::port_no::NONE,
                }),
            }));
            for part in self.stats(&req, &[]).await? {
                if let OfMessage::V10(v10::Message::StatsReply(v10::StatsReply {
                    body: v10::StatsReplyBody::Flow(f),
                    ..
                })) = part
                {
                    out.extend(
                        f.iter()
                            .filter(|f| f.cookie == COOKIE)
                            .map(|f| (f.priority, f.packet_count, f.byte_count)),
                    );
                }
            }
        } else {
            let req = OfMessage::V13(v13::Message::MultipartRequest(v13::MultipartRequest {
                flags: 0,
                body: v13::MultipartRequestBody::Flow(v13::multipart::FlowStatsRequest::all()),
            }));
            for part in self.stats(&req, &[]).await? {
                if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                    body: v13::MultipartReplyBody::Flow(f),
                    ..
                })) = part
                {
                    out.extend(
                        f.iter()
                            .filter(|f| f.cookie == COOKIE)
                            .map(|f| (f.priority, f.packet_count, f.byte_count)),
                    );
                }
            }
        }
        Ok(out)
    }

    /// Every flow's 1.3 statistics, whatever its cookie.
    pub(crate) async fn flow_stats13(&self) -> Result<Vec<v13::multipart::FlowStats>, CaseError> {
        let req = mp13(v13::MultipartRequestBody::Flow(
            v13::multipart::FlowStatsRequest::all(),
        ));
        let mut out = Vec::new();
        for part in self.stats(&req, &[]).await? {
            if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                body: v13::MultipartReplyBody::Flow(f),
                ..
            })) = part
            {
                out.extend(f);
            }
        }
        Ok(out)
    }

    /// One port's 1.3 statistics.
    pub(crate) async fn port_stats13(&self, port: u32) -> Result<v13::multipart::PortStats, CaseError> {
        let parts = self
            .stats(&mp13(v13::MultipartRequestBody::PortStats { port_no: port }), &[])
            .await?;
        reply_bodies(parts)
            .filter_map(|b| match b {
                v13::MultipartReplyBody::PortStats(s) => Some(s),
                _ => None,
            })
            .flatten()
            .find(|s| s.port_no == port)
            .ok_or_else(|| fail(format!("port {port} not in the port statistics")))
    }

    /// Every table's 1.3 features.
    pub(crate) async fn table_features13(&self) -> Result<Vec<v13::TableFeatures>, CaseError> {
        let parts = self
            .stats(&mp13(v13::MultipartRequestBody::TableFeatures(Vec::new())), &[])
            .await?;
        Ok(reply_bodies(parts)
            .filter_map(|b| match b {
                v13::MultipartReplyBody::TableFeatures(t) => Some(t),
                _ => None,
            })
            .flatten()
            .collect())
    }

    /// The 1.3 port description.
    pub(crate) async fn port_desc13(&self) -> Result<Vec<v13::Port>, CaseError> {
        let req = mp13(v13::MultipartRequestBody::PortDesc);
        let mut out = Vec::new();
        for part in self.stats(&req, &[]).await? {
            if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                body: v13::MultipartReplyBody::PortDesc(p),
                ..
            })) = part
            {
                out.extend(p);
            }
        }
        Ok(out)
    }

    /// Polls until `check` holds on the flow counts or the timeout passes (counters lag the data path).
    pub(crate) async fn poll_flow_counts(
        &self,
        mut check: impl FnMut(&[(u16, u64, u64)]) -> bool,
    ) -> Result<Vec<(u16, u64, u64)>, CaseError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let counts = self.flow_counts().await?;
            if check(&counts) || tokio::time::Instant::now() >= deadline {
                return Ok(counts);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn rand_low() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish() as u32
}

/// Microseconds since the Unix epoch: a role generation id that only grows on a connection.
pub(super) fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(1 << 40)
}

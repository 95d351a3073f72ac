//! The switch's own side of the version negotiation (1.3 §6.3.1; TS-026 10.70, 10.80, 10.90): the case
//! closes the channel, takes the switch's next connection raw ([`SwitchDirectory::take_next_connection`]),
//! and answers its hello itself — with a plain version-4 hello, a version-1 hello carrying a version bitmap
//! that includes 1.3, or a hello of version 0 that the switch must refuse. The switch is then let in again.
//!
//! [`SwitchDirectory::take_next_connection`]: crate::channel::SwitchDirectory::take_next_connection

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::catalogue::{Named, V13};
use super::steps::fail;
use super::{CaseError, Context};
use crate::channel::{ChannelError, RawConnection};
use crate::common::Echo;
use crate::framing::MessageBuffer;
use crate::hello::Hello;
use crate::{v10, v13, OfMessage};

/// (name, group, title, 1.0 section, 1.3 section, required, versions, TS-026 number)
pub(super) const NAMED: &[Named] = &[
    ("channel_hello_version_field", "channel", "Answered with a version-4 hello without a bitmap, the switch speaks 1.3: an echo request gets a version-4 echo reply", "", "§6.3.1", true, V13, None),
    ("channel_hello_bitmap", "channel", "The switch's hello carries a version bitmap with 1.3; answered with a version-1 hello whose bitmap has 1.0 and 1.3, it negotiates 1.3 (a version-4 echo reply)", "", "§6.3.1, §7.5.1", true, V13, None),
    ("channel_hello_version_0", "channel", "Answered with a hello of version 0, the switch sends HELLO_FAILED/INCOMPATIBLE", "", "§6.3.1, §7.4.4", true, V13, None),
];

/// Whether this module runs the named case in this version.
pub(super) fn handles(name: &str, version: u8) -> bool {
    super::catalogue::declares(NAMED, name, version)
}

/// The xid of the case's own messages.
const XID: u32 = 0x7a11_0a70;

/// A connection the case speaks OpenFlow on by hand (its messages kept as the case's evidence).
struct Raw<'c, 'a> {
    conn: RawConnection,
    buffer: MessageBuffer,
    ctx: &'c Context<'a>,
}

impl Raw<'_, '_> {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), CaseError> {
        self.ctx.record_raw(false, bytes);
        self.conn
            .stream
            .write_all(bytes)
            .await
            .map_err(|e| CaseError::Channel(ChannelError::Io(e)))
    }

    /// Sends `msg` with the case's xid.
    async fn send_msg(&mut self, msg: &OfMessage) -> Result<(), CaseError> {
        let bytes = msg
            .encode(XID)
            .map_err(|e| CaseError::Unknown(format!("message not encoded: {e}")))?;
        self.send(&bytes).await
    }

    /// The next whole message by `deadline`; none when the switch closed the connection; `what` names
    /// the wait in the failure when nothing came.
    async fn next(&mut self, deadline: Instant, what: &str) -> Result<Option<Vec<u8>>, CaseError> {
        let mut chunk = [0u8; 4096];
        loop {
            match self.buffer.next_message() {
                Ok(Some(m)) => {
                    self.ctx.record_raw(true, &m);
                    return Ok(Some(m));
                }
                Ok(None) => {}
                Err(e) => return Err(fail(format!("the switch sent a malformed message: {e}"))),
            }
            let read = tokio::time::timeout_at(deadline, self.conn.stream.read(&mut chunk))
                .await
                .map_err(|_| fail(format!("the switch sent no {what} in time")))?;
            match read {
                Ok(0) | Err(_) => return Ok(None),
                Ok(n) => self.buffer.push(chunk.get(..n).unwrap_or_default()),
            }
        }
    }

    /// The next message of this type within `wait`, skipping others (the switch's own echo requests); an
    /// error the switch sends instead ends the wait with it.
    async fn expect(&mut self, msg_type: u8, wait: Duration) -> Result<Vec<u8>, CaseError> {
        let deadline = Instant::now() + wait;
        loop {
            let what = format!("message of type {msg_type} within {wait:?}");
            match self.next(deadline, &what).await? {
                Some(m) if m.get(1) == Some(&msg_type) => return Ok(m),
                Some(m) if m.get(1) == Some(&1) => {
                    let field = |at: usize| m.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
                    return Err(fail(format!(
                        "the switch answered with error type {:?} code {:?} instead of a message of type {msg_type}",
                        field(8),
                        field(10)
                    )));
                }
                Some(_) => {}
                None => {
                    return Err(fail(format!(
                        "the switch closed the connection before sending a message of type {msg_type}"
                    )))
                }
            }
        }
    }
}

/// Closes the channel and takes the switch's next connection raw, with its hello read.
async fn fresh_connection<'c, 'a>(ctx: &'c Context<'a>) -> Result<(Raw<'c, 'a>, Vec<u8>), CaseError> {
    let directory = ctx.channel_directory()?;
    ctx.drop_channel().await?;
    let conn = directory
        .take_next_connection(ctx.failover)
        .await
        .map_err(|e| fail(format!("the switch did not connect again: {e}")))?;
    let mut raw = Raw {
        conn,
        buffer: MessageBuffer::new(),
        ctx,
    };
    let hello = raw
        .next(Instant::now() + ctx.timeout, "hello on its new connection")
        .await?
        .ok_or_else(|| fail("the switch closed its new connection without a hello"))?;
    if hello.get(1) != Some(&0) {
        return Err(fail(format!(
            "the switch's first message has type {:?}, not HELLO",
            hello.get(1)
        )));
    }
    Ok((raw, hello))
}

/// Sends a version-4 echo request and expects a version-4 echo reply with its xid and payload.
async fn echo_in_13(ctx: &Context<'_>, raw: &mut Raw<'_, '_>) -> Result<(), CaseError> {
    let echo = OfMessage::V13(v13::Message::EchoRequest(Echo {
        data: b"twister".to_vec(),
    }));
    raw.send_msg(&echo).await?;
    let reply = raw.expect(3, ctx.timeout).await?;
    let version = reply.first().copied().unwrap_or_default();
    let xid = reply
        .get(4..8)
        .map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]));
    if version != 4 {
        return Err(fail(format!(
            "the echo reply has version {version}, not 4 (1.3 was not negotiated)"
        )));
    }
    if xid != Some(XID) || reply.get(8..) != Some(b"twister".as_slice()) {
        return Err(fail(
            "the echo reply does not carry the request's xid and payload",
        ));
    }
    Ok(())
}

/// Runs the named case.
pub(super) async fn run(name: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let result = match name {
        "channel_hello_version_field" => {
            let (mut raw, _) = fresh_connection(ctx).await?;
            raw.send_msg(&OfMessage::V13(v13::Message::Hello(Hello::default())))
                .await?;
            echo_in_13(ctx, &mut raw).await
        }
        "channel_hello_bitmap" => {
            let (mut raw, theirs) = fresh_connection(ctx).await?;
            let offered = Hello::decode_body(theirs.get(crate::HEADER_LEN..).unwrap_or_default())
                .ok()
                .and_then(|h| h.versions());
            match offered {
                Some(v) if v.contains(&4) => {}
                Some(v) => {
                    return Err(fail(format!(
                        "the switch's hello bitmap offers versions {v:?}, not 4"
                    )))
                }
                None => return Err(fail("the switch's hello carries no version bitmap")),
            }
            raw.send_msg(&OfMessage::V10(v10::Message::Hello(Hello::with_versions(&[
                1, 4,
            ]))))
            .await?;
            echo_in_13(ctx, &mut raw).await
        }
        "channel_hello_version_0" => {
            let (mut raw, _) = fresh_connection(ctx).await?;
            let mut hello = vec![0, 0, 0, 8];
            hello.extend_from_slice(&XID.to_be_bytes());
            raw.send(&hello).await?;
            let error = raw.expect(1, ctx.timeout).await?;
            let field = |at: usize| error.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
            match (field(8), field(10)) {
                (Some(0), Some(0)) => Ok(()),
                (t, c) => Err(fail(format!(
                    "error type {t:?} code {c:?}, expected HELLO_FAILED/INCOMPATIBLE (0, 0)"
                ))),
            }
        }
        other => Err(CaseError::Unknown(other.to_string())),
    };
    // The raw connection is gone with the case; the switch comes back on the controller. The case's
    // own verdict comes first.
    let back = ctx.reconnect().await;
    result.and(back.map(|_| ()))
}

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
use super::steps::{fail, unsupported};
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

/// A connection the case speaks OpenFlow on by hand.
struct Raw {
    conn: RawConnection,
    buffer: MessageBuffer,
}

impl Raw {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), CaseError> {
        self.conn
            .stream
            .write_all(bytes)
            .await
            .map_err(|e| CaseError::Channel(ChannelError::Io(e)))
    }

    /// The next whole message within `wait`; none when the switch closed the connection.
    async fn next(&mut self, wait: Duration) -> Result<Option<Vec<u8>>, CaseError> {
        let deadline = Instant::now() + wait;
        let mut chunk = [0u8; 4096];
        loop {
            match self.buffer.next_message() {
                Ok(Some(m)) => return Ok(Some(m)),
                Ok(None) => {}
                Err(e) => return Err(fail(format!("the switch sent a malformed message: {e}"))),
            }
            let read = tokio::time::timeout_at(deadline, self.conn.stream.read(&mut chunk))
                .await
                .map_err(|_| fail(format!("the switch sent nothing more within {wait:?}")))?;
            match read {
                Ok(0) | Err(_) => return Ok(None),
                Ok(n) => self.buffer.push(chunk.get(..n).unwrap_or_default()),
            }
        }
    }

    /// The next message of this type within `wait`, skipping others (the switch's own echo requests).
    async fn expect(&mut self, msg_type: u8, wait: Duration) -> Result<Vec<u8>, CaseError> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await? {
                Some(m) if m.get(1) == Some(&msg_type) => return Ok(m),
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
async fn fresh_connection(ctx: &Context<'_>) -> Result<(Raw, Vec<u8>), CaseError> {
    let directory = ctx.directory.clone().ok_or_else(|| {
        unsupported("the suite was given no controller directory, so it cannot take the channel down")
    })?;
    ctx.drop_channel().await?;
    let conn = directory
        .take_next_connection(ctx.failover)
        .await
        .map_err(|e| fail(format!("the switch did not connect again: {e}")))?;
    let mut raw = Raw {
        conn,
        buffer: MessageBuffer::new(),
    };
    let hello = raw
        .next(ctx.timeout)
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
async fn echo_in_13(ctx: &Context<'_>, raw: &mut Raw) -> Result<(), CaseError> {
    let echo = OfMessage::V13(v13::Message::EchoRequest(Echo {
        data: b"twister".to_vec(),
    }));
    let bytes = echo
        .encode(XID)
        .map_err(|e| CaseError::Unknown(format!("echo not encoded: {e}")))?;
    raw.send(&bytes).await?;
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
            let hello = OfMessage::V13(v13::Message::Hello(Hello::default()));
            let bytes = hello
                .encode(XID)
                .map_err(|e| CaseError::Unknown(format!("hello not encoded: {e}")))?;
            raw.send(&bytes).await?;
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
            let hello = OfMessage::V10(v10::Message::Hello(Hello::with_versions(&[1, 4])));
            let bytes = hello
                .encode(XID)
                .map_err(|e| CaseError::Unknown(format!("hello not encoded: {e}")))?;
            raw.send(&bytes).await?;
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
    // The raw connection is gone with the case; the switch comes back on the controller.
    ctx.reconnect().await?;
    result
}

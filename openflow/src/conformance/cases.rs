//! The case bodies.

use std::net::Ipv4Addr;

use super::{Case, CaseError, Context};
use crate::channel::Features;
use crate::dataplane::packet;
use crate::{v10, v13, MacAddr, OfMessage, OFP10_VERSION};

fn fail(text: impl Into<String>) -> CaseError {
    CaseError::Failed(text.into())
}

fn probe_frame(tag: u16) -> Vec<u8> {
    packet::udp_frame(
        MacAddr([0x02, 0, 0, 0, 0xbe, 0xef]),
        MacAddr([0x02, 0, 0, 0, 0xca, 0xfe]),
        Ipv4Addr::new(192, 0, 2, 1),
        Ipv4Addr::new(192, 0, 2, 2),
        40000,
        tag,
        b"twister conformance",
    )
}

fn flow_mod10(command: v10::FlowModCommand, in_port: Option<u16>, actions: Vec<v10::Action>) -> OfMessage {
    let mut m = v10::Match {
        wildcards: v10::match_::wildcards::ALL,
        ..Default::default()
    };
    if let Some(p) = in_port {
        m.wildcards &= !v10::match_::wildcards::IN_PORT;
        m.in_port = p;
    }
    OfMessage::V10(v10::Message::FlowMod(v10::FlowMod {
        match_: m,
        cookie: 0x7717,
        command,
        idle_timeout: 0,
        hard_timeout: 0,
        priority: 100,
        buffer_id: u32::MAX,
        out_port: v10::port::port_no::NONE,
        flags: 0,
        actions,
    }))
}

fn flow_mod13(
    command: v13::FlowModCommand,
    priority: u16,
    in_port: Option<u32>,
    actions: Vec<v13::Action>,
) -> OfMessage {
    let fields = in_port
        .map(|p| vec![v13::OxmField::InPort { value: p, mask: None }])
        .unwrap_or_default();
    OfMessage::V13(v13::Message::FlowMod(v13::FlowMod {
        cookie: 0x7717,
        cookie_mask: 0,
        table_id: if matches!(command, v13::FlowModCommand::Delete) {
            0xff
        } else {
            0
        },
        command,
        idle_timeout: 0,
        hard_timeout: 0,
        priority,
        buffer_id: u32::MAX,
        out_port: v13::port::port_no::ANY,
        out_group: v13::group::group_id::ANY,
        flags: 0,
        match_: v13::Match::new(fields),
        instructions: if actions.is_empty() {
            Vec::new()
        } else {
            vec![v13::Instruction::ApplyActions(actions)]
        },
    }))
}

fn delete_all(version: u8) -> OfMessage {
    if version == OFP10_VERSION {
        flow_mod10(v10::FlowModCommand::Delete, None, Vec::new())
    } else {
        flow_mod13(v13::FlowModCommand::Delete, 0, None, Vec::new())
    }
}

/// Cookies of the flows in the flow statistics.
async fn flow_cookies(ctx: &Context<'_>) -> Result<Vec<u64>, CaseError> {
    let sw = ctx.switch;
    let mut cookies = Vec::new();
    if sw.version() == OFP10_VERSION {
        let req = OfMessage::V10(v10::Message::StatsRequest(v10::StatsRequest {
            flags: 0,
            body: v10::StatsRequestBody::Flow(v10::stats::FlowStatsRequest {
                match_: v10::Match {
                    wildcards: v10::match_::wildcards::ALL,
                    ..Default::default()
                },
                table_id: 0xff,
                out_port: v10::port::port_no::NONE,
            }),
        }));
        for part in sw.multipart(&req).await? {
            if let OfMessage::V10(v10::Message::StatsReply(v10::StatsReply {
                body: v10::StatsReplyBody::Flow(f),
                ..
            })) = part
            {
                cookies.extend(f.iter().map(|f| f.cookie));
            }
        }
    } else {
        let req = OfMessage::V13(v13::Message::MultipartRequest(v13::MultipartRequest {
            flags: 0,
            body: v13::MultipartRequestBody::Flow(v13::multipart::FlowStatsRequest {
                table_id: 0xff,
                out_port: v13::port::port_no::ANY,
                out_group: v13::group::group_id::ANY,
                cookie: 0,
                cookie_mask: 0,
                match_: v13::Match::default(),
            }),
        }));
        for part in sw.multipart(&req).await? {
            if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                body: v13::MultipartReplyBody::Flow(f),
                ..
            })) = part
            {
                cookies.extend(f.iter().map(|f| f.cookie));
            }
        }
    }
    Ok(cookies)
}

async fn program(ctx: &Context<'_>, msgs: &[OfMessage]) -> Result<(), CaseError> {
    for m in msgs {
        ctx.switch.send(m).await?;
    }
    ctx.switch.barrier().await?;
    // Switches may apply a flow to their fast path slightly after the barrier reply.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    Ok(())
}

pub(super) async fn run(case: &Case, ctx: &Context<'_>) -> Result<(), CaseError> {
    let sw = ctx.switch;
    let v = sw.version();
    let [p1, p2] = ctx.ports;
    match case.id.split_once('.').map(|(_, name)| name).unwrap_or_default() {
        "handshake" => {
            if sw.datapath_id() == 0 {
                return Err(fail("datapath id is zero"));
            }
            if sw.features().n_tables() == 0 {
                return Err(fail("features reply has no tables"));
            }
            Ok(())
        }
        "echo" => {
            sw.echo(b"twister-echo-payload").await?;
            Ok(())
        }
        "features" => {
            let ports: Vec<u32> = match sw.features() {
                Features::V10(f) => f.ports.iter().map(|p| u32::from(p.port_no)).collect(),
                Features::V13(_) => {
                    let req = OfMessage::V13(v13::Message::MultipartRequest(v13::MultipartRequest {
                        flags: 0,
                        body: v13::MultipartRequestBody::PortDesc,
                    }));
                    let mut ports = Vec::new();
                    for part in sw.multipart(&req).await? {
                        if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                            body: v13::MultipartReplyBody::PortDesc(p),
                            ..
                        })) = part
                        {
                            ports.extend(p.iter().map(|p| p.port_no));
                        }
                    }
                    ports
                }
            };
            if !ports.contains(&p1) || !ports.contains(&p2) {
                return Err(fail(format!("ports {p1} and {p2} not all listed: {ports:?}")));
            }
            Ok(())
        }
        "flow_add_delete" => {
            let add = if v == OFP10_VERSION {
                let port = u16::try_from(p2).map_err(|_| fail("port out of 1.0 range"))?;
                flow_mod10(
                    v10::FlowModCommand::Add,
                    u16::try_from(p1).ok(),
                    vec![v10::Action::Output { port, max_len: 0 }],
                )
            } else {
                flow_mod13(
                    v13::FlowModCommand::Add,
                    100,
                    Some(p1),
                    vec![v13::Action::Output { port: p2, max_len: 0 }],
                )
            };
            program(ctx, &[delete_all(v), add]).await?;
            if !flow_cookies(ctx).await?.contains(&0x7717) {
                return Err(fail("added flow missing from flow statistics"));
            }
            program(ctx, &[delete_all(v)]).await?;
            let left = flow_cookies(ctx).await?;
            if left.contains(&0x7717) {
                return Err(fail(format!("flow still present after delete: {left:x?}")));
            }
            Ok(())
        }
        "packet_out" => {
            let frame = probe_frame(1);
            let msg = if v == OFP10_VERSION {
                let port = u16::try_from(p2).map_err(|_| fail("port out of 1.0 range"))?;
                OfMessage::V10(v10::Message::PacketOut(v10::PacketOut {
                    buffer_id: u32::MAX,
                    in_port: v10::port::port_no::NONE,
                    actions: vec![v10::Action::Output { port, max_len: 0 }],
                    data: frame.clone(),
                }))
            } else {
                OfMessage::V13(v13::Message::PacketOut(v13::PacketOut {
                    buffer_id: u32::MAX,
                    in_port: v13::port::port_no::CONTROLLER,
                    actions: vec![v13::Action::Output { port: p2, max_len: 0 }],
                    data: frame.clone(),
                }))
            };
            tokio::task::block_in_place(|| ctx.dataplane.drain());
            sw.send(&msg).await?;
            tokio::task::block_in_place(|| ctx.dataplane.expect_frame(p2, &frame, ctx.timeout))?;
            Ok(())
        }
        "packet_in_no_match" | "packet_in_table_miss" => {
            let mut msgs = vec![delete_all(v)];
            if v != OFP10_VERSION {
                let to_controller = v13::Action::Output {
                    port: v13::port::port_no::CONTROLLER,
                    max_len: 0xffff,
                };
                msgs.push(flow_mod13(v13::FlowModCommand::Add, 0, None, vec![to_controller]));
            }
            program(ctx, &msgs).await?;
            let frame = probe_frame(2);
            let mut sub = sw.subscribe();
            tokio::task::block_in_place(|| ctx.dataplane.send(p1, &frame))?;
            let got = sub
                .expect(ctx.timeout, |m| match &m.message {
                    OfMessage::V10(v10::Message::PacketIn(p)) => {
                        u32::from(p.in_port) == p1 && frame.starts_with(&p.data) && !p.data.is_empty()
                    }
                    OfMessage::V13(v13::Message::PacketIn(p)) => {
                        frame.starts_with(&p.data) && !p.data.is_empty()
                    }
                    _ => false,
                })
                .await?;
            let ok = match got.message {
                OfMessage::V10(v10::Message::PacketIn(p)) => p.reason == v10::PacketInReason::NoMatch,
                OfMessage::V13(v13::Message::PacketIn(p)) => {
                    p.match_.fields.contains(&v13::OxmField::InPort {
                        value: p1,
                        mask: None,
                    })
                }
                _ => false,
            };
            program(ctx, &[delete_all(v)]).await?;
            if ok {
                Ok(())
            } else {
                Err(fail("packet-in with wrong reason or in_port"))
            }
        }
        other => Err(CaseError::Unknown(other.to_string())),
    }
}

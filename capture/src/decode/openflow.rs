//! OpenFlow messages in a TCP segment, decoded with `twister-openflow`.

use twister_openflow::{Header, OfMessage, HEADER_LEN, OFP10_VERSION, OFP13_VERSION};

use super::{Dissector, Value};

/// Most messages listed for one segment; the rest are shown as one data layer.
const MAX_MESSAGES: usize = 64;
/// Longest decoded-body text kept in the tree.
const MAX_BODY_TEXT: usize = 512;

/// `OFPT_` name of message type `t` in wire version `version`.
pub fn type_name(version: u8, t: u8) -> &'static str {
    const COMMON: [&str; 14] = [
        "OFPT_HELLO",
        "OFPT_ERROR",
        "OFPT_ECHO_REQUEST",
        "OFPT_ECHO_REPLY",
        "OFPT_EXPERIMENTER",
        "OFPT_FEATURES_REQUEST",
        "OFPT_FEATURES_REPLY",
        "OFPT_GET_CONFIG_REQUEST",
        "OFPT_GET_CONFIG_REPLY",
        "OFPT_SET_CONFIG",
        "OFPT_PACKET_IN",
        "OFPT_FLOW_REMOVED",
        "OFPT_PORT_STATUS",
        "OFPT_PACKET_OUT",
    ];
    const V10: [&str; 8] = [
        "OFPT_FLOW_MOD",
        "OFPT_PORT_MOD",
        "OFPT_STATS_REQUEST",
        "OFPT_STATS_REPLY",
        "OFPT_BARRIER_REQUEST",
        "OFPT_BARRIER_REPLY",
        "OFPT_QUEUE_GET_CONFIG_REQUEST",
        "OFPT_QUEUE_GET_CONFIG_REPLY",
    ];
    const V13: [&str; 16] = [
        "OFPT_FLOW_MOD",
        "OFPT_GROUP_MOD",
        "OFPT_PORT_MOD",
        "OFPT_TABLE_MOD",
        "OFPT_MULTIPART_REQUEST",
        "OFPT_MULTIPART_REPLY",
        "OFPT_BARRIER_REQUEST",
        "OFPT_BARRIER_REPLY",
        "OFPT_QUEUE_GET_CONFIG_REQUEST",
        "OFPT_QUEUE_GET_CONFIG_REPLY",
        "OFPT_ROLE_REQUEST",
        "OFPT_ROLE_REPLY",
        "OFPT_GET_ASYNC_REQUEST",
        "OFPT_GET_ASYNC_REPLY",
        "OFPT_SET_ASYNC",
        "OFPT_METER_MOD",
    ];
    let t = usize::from(t);
    if version == OFP10_VERSION && t == 4 {
        return "OFPT_VENDOR";
    }
    if let Some(n) = COMMON.get(t) {
        return n;
    }
    let rest = t - COMMON.len();
    let name = match version {
        OFP10_VERSION => V10.get(rest),
        OFP13_VERSION => V13.get(rest),
        _ => None,
    };
    name.copied().unwrap_or("OFPT_UNKNOWN")
}

fn version_name(v: u8) -> &'static str {
    match v {
        1 => "1.0",
        2 => "1.1",
        3 => "1.2",
        4 => "1.3",
        5 => "1.4",
        6 => "1.5",
        _ => "unknown",
    }
}

/// Decodes the OpenFlow messages between `off` and `end` (one TCP payload).
pub(super) fn messages(d: &mut Dissector<'_>, off: usize, end: usize) {
    let mut pos = off;
    let mut names: Vec<&'static str> = Vec::new();
    while pos < end {
        if names.len() == MAX_MESSAGES {
            d.data_layer_until(pos, end);
            break;
        }
        let Some(hbytes) = d.bytes(pos, HEADER_LEN).filter(|_| pos + HEADER_LEN <= end) else {
            d.data_layer_until(pos, end);
            break;
        };
        let Ok(h) = Header::decode(hbytes) else {
            d.data_layer_until(pos, end);
            break;
        };
        let len = usize::from(h.length);
        if len < HEADER_LEN {
            d.malformed(pos, "OpenFlow length shorter than its header");
            break;
        }
        let name = type_name(h.version, h.msg_type);
        names.push(name);
        let complete = pos + len <= end;
        let shown = if complete { len } else { end - pos };
        let mut layer = d.layer(
            "openflow",
            format_args!(
                "OpenFlow {} {}{}",
                version_name(h.version),
                name,
                if complete { "" } else { " [continued]" }
            ),
            pos,
            shown,
        );
        let c = &mut layer.children;
        c.push(d.field(
            "openflow.version",
            format_args!("Version: {} (0x{:02x})", version_name(h.version), h.version),
            pos,
            1,
            Value::Uint(u64::from(h.version)),
        ));
        c.push(d.field(
            "openflow.type",
            format_args!("Type: {name} ({})", h.msg_type),
            pos + 1,
            1,
            Value::Uint(u64::from(h.msg_type)),
        ));
        c.push(d.uint("openflow.length", "Length", pos + 2, 2, len as u64));
        c.push(d.uint("openflow.xid", "Transaction ID", pos + 4, 4, u64::from(h.xid)));
        if complete {
            if let Some(bytes) = d.bytes(pos, len) {
                match OfMessage::decode(bytes) {
                    Ok((_, m)) => {
                        // The whole message as text is only for the detail view.
                        let mut text = if d.full { format!("{m:?}") } else { String::new() };
                        if text.len() > MAX_BODY_TEXT {
                            let mut cut = MAX_BODY_TEXT;
                            while !text.is_char_boundary(cut) {
                                cut -= 1;
                            }
                            text.truncate(cut);
                            text.push('…');
                        }
                        c.push(d.field(
                            "openflow.body",
                            format_args!("Body: {text}"),
                            pos + HEADER_LEN,
                            len - HEADER_LEN,
                            Value::None,
                        ));
                    }
                    Err(e) => c.push(d.field(
                        "openflow.malformed",
                        format_args!("Malformed body: {e}"),
                        pos + HEADER_LEN,
                        len - HEADER_LEN,
                        Value::None,
                    )),
                }
            }
        }
        d.layers.push(layer);
        pos += shown;
    }
    if !names.is_empty() {
        d.protocol = "OpenFlow".into();
        d.info = names.join(", ");
    }
}

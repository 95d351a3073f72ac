//! `twister openflow decode|encode`: OpenFlow 1.0 / 1.3 messages as JSON, from hex, a binary file, or every
//! message in a pcap; and JSON back to the wire.

use std::io::Read;
use std::path::PathBuf;

use clap::Subcommand;
use serde_json::{json, Value};
use twister_openflow::framing::split_messages;
use twister_openflow::OfMessage;

use super::output;
use super::{CmdResult, Failure};

#[derive(Debug, Subcommand)]
pub enum OpenflowCmd {
    /// Decode messages to JSON: from --hex, --pcap, or a file of raw messages (- for stdin).
    Decode {
        /// Raw bytes of one or more messages, in hex (spaces and colons allowed).
        #[arg(long, conflicts_with_all = ["pcap", "file"])]
        hex: Option<String>,
        /// Every OpenFlow message in a capture (TCP ports 6653 and 6633, or --port).
        #[arg(long, conflicts_with = "file")]
        pcap: Option<PathBuf>,
        /// TCP port(s) that carry OpenFlow in the capture.
        #[arg(long = "port", default_values_t = [6653u16, 6633u16])]
        ports: Vec<u16>,
        /// A file of raw messages, back to back.
        file: Option<PathBuf>,
    },
    /// Encode a message from JSON (`{"xid": N, "message": {...}}`, or the message alone) to the wire.
    Encode {
        /// JSON file, or - for stdin.
        file: PathBuf,
        /// Transaction id when the JSON gives none.
        #[arg(long, default_value_t = 0)]
        xid: u32,
        /// Write the raw bytes here instead of printing hex.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Run the conformance suite against a switch that connects to --listen.
    Conform(super::openflow_conform::ConformArgs),
    /// Run an OpenFlow controller service: a learning switch and a REST API.
    Controller(super::openflow_controller::ControllerArgs),
}

fn read_input(file: &PathBuf) -> Result<Vec<u8>, Failure> {
    if file.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .map_err(|e| Failure::other(format!("cannot read stdin: {e}")))?;
        Ok(b)
    } else {
        std::fs::read(file).map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))
    }
}

fn parse_hex(text: &str) -> Result<Vec<u8>, Failure> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace() && *c != ':').collect();
    let clean = clean.trim_start_matches("0x");
    hex::decode(clean).map_err(|e| Failure::usage(format!("--hex: {e}")))
}

fn decode_all(bytes: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    let (messages, used) = match split_messages(bytes) {
        Ok(x) => x,
        Err(e) => return vec![json!({"error": e.to_string(), "offset": 0})],
    };
    let mut offset = 0usize;
    for m in messages {
        let entry = match OfMessage::decode(m) {
            Ok((h, msg)) => json!({
                "offset": offset, "version": h.version, "type": h.msg_type, "length": h.length, "xid": h.xid,
                "message": msg,
            }),
            Err(e) => json!({"offset": offset, "error": e.to_string(), "hex": hex::encode(m)}),
        };
        out.push(entry);
        offset += m.len();
    }
    if used < bytes.len() {
        out.push(json!({"offset": used, "error": format!("{} bytes left: an incomplete message", bytes.len() - used)}));
    }
    out
}

pub fn run(json_out: bool, cmd: OpenflowCmd) -> CmdResult {
    let _ = json_out; // the output is JSON either way
    match cmd {
        OpenflowCmd::Decode {
            hex,
            pcap,
            ports,
            file,
        } => {
            let result = if let Some(h) = hex {
                Value::Array(decode_all(&parse_hex(&h)?))
            } else if let Some(p) = pcap {
                let bytes = read_input(&p)?;
                let streams = twister_client::pcap::tcp_streams(&bytes, &ports)
                    .map_err(|e| Failure::usage(format!("{}: {e}", p.display())))?;
                Value::Array(
                    streams
                        .into_iter()
                        .map(|(flow, st)| {
                            json!({"src": flow.src, "dst": flow.dst, "first_ts": st.first_ts,
                                "messages": decode_all(&st.bytes)})
                        })
                        .collect(),
                )
            } else if let Some(f) = file {
                Value::Array(decode_all(&read_input(&f)?))
            } else {
                return Err(Failure::usage(
                    "give --hex HEX, --pcap FILE or a FILE of raw messages",
                ));
            };
            let failed = result.to_string().contains("\"error\"");
            output::json(&result);
            if failed {
                return Err(Failure::other(
                    "some bytes did not decode (see \"error\" entries)",
                ));
            }
        }
        OpenflowCmd::Conform(args) => return super::openflow_conform::run(json_out, args),
        OpenflowCmd::Controller(args) => return super::openflow_controller::run(args),
        OpenflowCmd::Encode {
            file,
            xid,
            output: out,
        } => {
            let text = read_input(&file)?;
            let v: Value = serde_json::from_slice(&text)
                .map_err(|e| Failure::usage(format!("{} is not JSON: {e}", file.display())))?;
            let (xid, msg) = match v.get("message") {
                Some(m) => (
                    v.get("xid")
                        .and_then(Value::as_u64)
                        .map(|x| x as u32)
                        .unwrap_or(xid),
                    m.clone(),
                ),
                None => (xid, v),
            };
            let msg: OfMessage = serde_json::from_value(msg)
                .map_err(|e| Failure::usage(format!("not an OpenFlow message: {e}")))?;
            let bytes = msg
                .encode(xid)
                .map_err(|e| Failure::usage(format!("cannot encode: {e}")))?;
            match out {
                Some(p) => std::fs::write(&p, &bytes)
                    .map_err(|e| Failure::other(format!("cannot write {}: {e}", p.display())))?,
                None => println!("{}", hex::encode(&bytes)),
            }
        }
    }
    Ok(())
}

//! First conformance cases: a catalogue (id, title, specification section, required or optional) and a
//! runner that executes a case against a connected [`Switch`] and the test's [`DataPlane`].
//!
//! Cases that touch the data plane call its blocking functions through `tokio::task::block_in_place`, so
//! they need a multi-threaded Tokio runtime.

mod cases;

use std::time::Duration;

use crate::channel::{ChannelError, Switch};
use crate::dataplane::{DataPlane, DataPlaneError};
use crate::{OFP10_VERSION, OFP13_VERSION};

/// One conformance case of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    /// Stable identifier, e.g. `"of13.echo"`.
    pub id: &'static str,
    /// What it checks.
    pub title: &'static str,
    /// Section of the specification it rests on.
    pub section: &'static str,
    /// True when the specification requires the behaviour (false: optional feature).
    pub required: bool,
    /// Wire version the case is for.
    pub version: u8,
}

const fn case(id: &'static str, title: &'static str, section: &'static str, version: u8) -> Case {
    Case {
        id,
        title,
        section,
        required: true,
        version,
    }
}

/// Every case, 1.0 first.
pub const CATALOGUE: &[Case] = &[
    case(
        "of10.handshake",
        "Hello and features reply with a datapath id",
        "1.0 §4.3.1, §5.3.1",
        OFP10_VERSION,
    ),
    case(
        "of10.echo",
        "Echo request is answered with the same payload",
        "1.0 §5.5.2",
        OFP10_VERSION,
    ),
    case(
        "of10.features",
        "Features reply lists the data ports",
        "1.0 §5.3.1",
        OFP10_VERSION,
    ),
    case(
        "of10.flow_add_delete",
        "Added flow is in the flow statistics; deleted flow is gone",
        "1.0 §4.6",
        OFP10_VERSION,
    ),
    case(
        "of10.packet_out",
        "Packet-out with an output action leaves on that port",
        "1.0 §5.3.6",
        OFP10_VERSION,
    ),
    case(
        "of10.packet_in_no_match",
        "A frame no flow matches comes to the controller",
        "1.0 §4.5, §5.4.1",
        OFP10_VERSION,
    ),
    case(
        "of13.handshake",
        "Hello with version bitmap, features reply with a datapath id",
        "1.3 §6.3.1, §7.3.1",
        OFP13_VERSION,
    ),
    case(
        "of13.echo",
        "Echo request is answered with the same payload",
        "1.3 §7.5.2",
        OFP13_VERSION,
    ),
    case(
        "of13.features",
        "Port description multipart lists the data ports",
        "1.3 §7.3.5.6",
        OFP13_VERSION,
    ),
    case(
        "of13.flow_add_delete",
        "Added flow is in the flow statistics; deleted flow is gone",
        "1.3 §6.4",
        OFP13_VERSION,
    ),
    case(
        "of13.packet_out",
        "Packet-out with an output action leaves on that port",
        "1.3 §7.3.7",
        OFP13_VERSION,
    ),
    case(
        "of13.packet_in_table_miss",
        "A table-miss flow to the controller gives a packet-in",
        "1.3 §5.4, §7.4.1",
        OFP13_VERSION,
    ),
];

/// The catalogue entry with this id.
pub fn find(id: &str) -> Option<&'static Case> {
    CATALOGUE.iter().find(|c| c.id == id)
}

/// Why a case failed.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// No case with this id.
    #[error("unknown case {0}")]
    Unknown(String),
    /// The switch speaks another version than the case needs.
    #[error("case needs version {needs}, the switch speaks {speaks}")]
    WrongVersion {
        /// Version of the case.
        needs: u8,
        /// Negotiated version.
        speaks: u8,
    },
    /// The channel failed.
    #[error("channel: {0}")]
    Channel(#[from] ChannelError),
    /// The data plane failed or saw the wrong thing.
    #[error("data plane: {0}")]
    DataPlane(#[from] DataPlaneError),
    /// The switch behaved against the specification.
    #[error("{0}")]
    Failed(String),
}

/// What a case runs against.
#[derive(Debug)]
pub struct Context<'a> {
    /// The switch under test, connected in the case's version.
    pub switch: &'a Switch,
    /// Raw sockets on the switch's data ports.
    pub dataplane: &'a DataPlane,
    /// Two data port numbers the case may use (first is the ingress).
    pub ports: [u32; 2],
    /// How long to wait for a frame or an asynchronous message.
    pub timeout: Duration,
}

/// Runs one case.
pub async fn run(id: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let case = find(id).ok_or_else(|| CaseError::Unknown(id.to_string()))?;
    if ctx.switch.version() != case.version {
        return Err(CaseError::WrongVersion {
            needs: case.version,
            speaks: ctx.switch.version(),
        });
    }
    cases::run(case, ctx).await
}

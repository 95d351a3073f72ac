//! The 1.0 `ofp_phy_port` description and port numbers.

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;
use crate::types::{FixedStr, MacAddr};
use crate::wire::{Reader, Writer};

/// `ofp_phy_port` (48 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PhyPort {
    /// Port number.
    pub port_no: u16,
    /// Hardware address.
    pub hw_addr: MacAddr,
    /// Interface name.
    pub name: FixedStr<16>,
    /// `OFPPC_*` configuration bits.
    pub config: u32,
    /// `OFPPS_*` state bits.
    pub state: u32,
    /// `OFPPF_*` current features.
    pub curr: u32,
    /// Features advertised.
    pub advertised: u32,
    /// Features supported.
    pub supported: u32,
    /// Features advertised by the peer.
    pub peer: u32,
}

/// Reserved 1.0 port numbers (`OFPP_*`).
pub mod port_no {
    /// Highest physical port.
    pub const MAX: u16 = 0xff00;
    /// The input port.
    pub const IN_PORT: u16 = 0xfff8;
    /// Submit to the flow table (packet-out only).
    pub const TABLE: u16 = 0xfff9;
    /// Normal L2/L3 processing.
    pub const NORMAL: u16 = 0xfffa;
    /// Flood along the spanning tree.
    pub const FLOOD: u16 = 0xfffb;
    /// All physical ports but the input port.
    pub const ALL: u16 = 0xfffc;
    /// The controller.
    pub const CONTROLLER: u16 = 0xfffd;
    /// The local networking stack.
    pub const LOCAL: u16 = 0xfffe;
    /// No port (wildcard in requests).
    pub const NONE: u16 = 0xffff;
}

impl PhyPort {
    /// Size on the wire.
    pub const LEN: usize = 48;

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PhyPort {
            port_no: r.u16()?,
            hw_addr: MacAddr::decode(r)?,
            name: FixedStr::decode(r)?,
            config: r.u32()?,
            state: r.u32()?,
            curr: r.u32()?,
            advertised: r.u32()?,
            supported: r.u32()?,
            peer: r.u32()?,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u16(self.port_no);
        self.hw_addr.encode(w);
        self.name.encode(w);
        w.u32(self.config);
        w.u32(self.state);
        w.u32(self.curr);
        w.u32(self.advertised);
        w.u32(self.supported);
        w.u32(self.peer);
    }
}

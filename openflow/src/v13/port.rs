//! The 1.3 `ofp_port` description, port numbers and port mod.

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;
use crate::types::{FixedStr, MacAddr};
use crate::wire::{Reader, Writer};

/// `ofp_port` (64 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Port {
    /// Port number.
    pub port_no: u32,
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
    /// Current bit rate in kbps.
    pub curr_speed: u32,
    /// Maximum bit rate in kbps.
    pub max_speed: u32,
}

/// Reserved 1.3 port numbers (`OFPP_*`).
pub mod port_no {
    /// Highest physical port.
    pub const MAX: u32 = 0xffff_ff00;
    /// The input port.
    pub const IN_PORT: u32 = 0xffff_fff8;
    /// Submit to the first flow table (packet-out only).
    pub const TABLE: u32 = 0xffff_fff9;
    /// Normal L2/L3 processing.
    pub const NORMAL: u32 = 0xffff_fffa;
    /// Flood.
    pub const FLOOD: u32 = 0xffff_fffb;
    /// All ports but the input port.
    pub const ALL: u32 = 0xffff_fffc;
    /// The controller.
    pub const CONTROLLER: u32 = 0xffff_fffd;
    /// The local networking stack.
    pub const LOCAL: u32 = 0xffff_fffe;
    /// Any port (wildcard).
    pub const ANY: u32 = 0xffff_ffff;
}

impl Port {
    /// Size on the wire.
    pub const LEN: usize = 64;

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Port, DecodeError> {
        let port_no = r.u32()?;
        r.skip(4)?;
        let hw_addr = MacAddr::decode(r)?;
        r.skip(2)?;
        Ok(Port {
            port_no,
            hw_addr,
            name: FixedStr::decode(r)?,
            config: r.u32()?,
            state: r.u32()?,
            curr: r.u32()?,
            advertised: r.u32()?,
            supported: r.u32()?,
            peer: r.u32()?,
            curr_speed: r.u32()?,
            max_speed: r.u32()?,
        })
    }

    pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<Port>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            out.push(Port::decode(&mut r.sub(Port::LEN, "port")?)?);
        }
        Ok(out)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u32(self.port_no);
        w.zeros(4);
        self.hw_addr.encode(w);
        w.zeros(2);
        self.name.encode(w);
        for v in [
            self.config,
            self.state,
            self.curr,
            self.advertised,
            self.supported,
            self.peer,
            self.curr_speed,
            self.max_speed,
        ] {
            w.u32(v);
        }
    }
}

wire_enum! {
    /// `OFPPR_*` reason of a port status.
    pub enum PortReason: u8 {
        /// Port added.
        Add = 0,
        /// Port removed.
        Delete = 1,
        /// Port attribute changed.
        Modify = 2,
    }
}

/// `ofp_port_status` (80 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PortStatus {
    /// What changed.
    pub reason: PortReason,
    /// The port.
    pub desc: Port,
}

/// `ofp_port_mod` (40 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PortMod {
    /// Port.
    pub port_no: u32,
    /// Its hardware address (a sanity check).
    pub hw_addr: MacAddr,
    /// `OFPPC_*` bits to set.
    pub config: u32,
    /// Which `config` bits to change.
    pub mask: u32,
    /// Features to advertise; 0 to leave unchanged.
    pub advertise: u32,
}

impl PortMod {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<PortMod, DecodeError> {
        let port_no = r.u32()?;
        r.skip(4)?;
        let hw_addr = MacAddr::decode(r)?;
        r.skip(2)?;
        let pm = PortMod {
            port_no,
            hw_addr,
            config: r.u32()?,
            mask: r.u32()?,
            advertise: r.u32()?,
        };
        r.skip(4)?;
        Ok(pm)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u32(self.port_no);
        w.zeros(4);
        self.hw_addr.encode(w);
        w.zeros(2);
        w.u32(self.config);
        w.u32(self.mask);
        w.u32(self.advertise);
        w.zeros(4);
    }
}

//! Structures laid out the same way in 1.0 and 1.3: switch config, description stats, queue properties.

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;
use crate::types::{hex_bytes, FixedStr};
use crate::wire::{Reader, Writer};

/// `ofp_switch_config` body of get-config reply and set-config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SwitchConfig {
    /// `OFPC_FRAG_*` flags.
    pub flags: u16,
    /// Bytes of a table-miss packet sent to the controller.
    pub miss_send_len: u16,
}

/// `OFPC_FRAG_*` values of [`SwitchConfig::flags`].
pub mod config_flags {
    /// No special handling of fragments.
    pub const FRAG_NORMAL: u16 = 0;
    /// Drop fragments.
    pub const FRAG_DROP: u16 = 1;
    /// Reassemble (only if `OFPC_IP_REASM` is set).
    pub const FRAG_REASM: u16 = 2;
    /// 1.0 only: send IP packets with invalid TTL to the controller.
    pub const INVALID_TTL_TO_CONTROLLER: u16 = 4;
}

impl SwitchConfig {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let c = SwitchConfig {
            flags: r.u16()?,
            miss_send_len: r.u16()?,
        };
        r.finish()?;
        Ok(c)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u16(self.flags);
        w.u16(self.miss_send_len);
    }
}

/// `ofp_desc_stats` (1,056 bytes): the switch's description strings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct DescStats {
    /// Manufacturer.
    pub mfr_desc: FixedStr<256>,
    /// Hardware description.
    pub hw_desc: FixedStr<256>,
    /// Software description.
    pub sw_desc: FixedStr<256>,
    /// Serial number.
    pub serial_num: FixedStr<32>,
    /// Datapath description.
    pub dp_desc: FixedStr<256>,
}

impl DescStats {
    /// Size on the wire.
    pub const LEN: usize = 1056;

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let d = DescStats {
            mfr_desc: FixedStr::decode(r)?,
            hw_desc: FixedStr::decode(r)?,
            sw_desc: FixedStr::decode(r)?,
            serial_num: FixedStr::decode(r)?,
            dp_desc: FixedStr::decode(r)?,
        };
        r.finish()?;
        Ok(d)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        self.mfr_desc.encode(w);
        self.hw_desc.encode(w);
        self.sw_desc.encode(w);
        self.serial_num.encode(w);
        self.dp_desc.encode(w);
    }
}

/// A queue property (`ofp_queue_prop_*`); 1.0 defines only min-rate, 1.3 adds max-rate and experimenter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum QueueProperty {
    /// `OFPQT_MIN_RATE`: guaranteed rate in 1/10 of a percent.
    MinRate {
        /// Rate; above 1000 means disabled.
        rate: u16,
    },
    /// `OFPQT_MAX_RATE` (1.3): maximum rate in 1/10 of a percent.
    MaxRate {
        /// Rate; above 1000 means disabled.
        rate: u16,
    },
    /// `OFPQT_EXPERIMENTER` (1.3).
    Experimenter {
        /// Experimenter id.
        experimenter: u32,
        /// Body after the 8 bytes of experimenter id and padding.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    /// Any other property (including 1.0's `OFPQT_NONE`), body kept raw.
    Unknown {
        /// Property type.
        #[cfg_attr(test, proptest(strategy = "3u16..0xffff"))]
        property: u16,
        /// Body after the 8-byte property header.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
}

impl QueueProperty {
    pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<QueueProperty>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            let property = r.u16()?;
            let len = usize::from(r.u16()?);
            if len < 8 {
                return Err(DecodeError::BadLength {
                    what: "queue property",
                    length: len,
                });
            }
            let mut b = r.sub(len - 4, "queue property")?;
            b.skip(4)?;
            let p = match property {
                1 | 2 => {
                    let rate = b.u16()?;
                    b.skip(6)?;
                    b.finish()?;
                    if property == 1 {
                        QueueProperty::MinRate { rate }
                    } else {
                        QueueProperty::MaxRate { rate }
                    }
                }
                0xffff => {
                    let experimenter = b.u32()?;
                    b.skip(4)?;
                    QueueProperty::Experimenter {
                        experimenter,
                        data: b.rest_vec(),
                    }
                }
                _ => QueueProperty::Unknown {
                    property,
                    data: b.rest_vec(),
                },
            };
            out.push(p);
        }
        Ok(out)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let start = w.len();
        let ty = match self {
            QueueProperty::MinRate { .. } => 1,
            QueueProperty::MaxRate { .. } => 2,
            QueueProperty::Experimenter { .. } => 0xffff,
            QueueProperty::Unknown { property, .. } => *property,
        };
        w.u16(ty);
        let at = w.placeholder16();
        w.zeros(4);
        match self {
            QueueProperty::MinRate { rate } | QueueProperty::MaxRate { rate } => {
                w.u16(*rate);
                w.zeros(6);
            }
            QueueProperty::Experimenter { experimenter, data } => {
                w.u32(*experimenter);
                w.zeros(4);
                w.bytes(data);
            }
            QueueProperty::Unknown { data, .. } => w.bytes(data),
        }
        w.patch_len16(at, start, "queue property");
    }
}

/// Body of an echo request or reply: arbitrary bytes echoed back.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Echo {
    /// Payload bytes.
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

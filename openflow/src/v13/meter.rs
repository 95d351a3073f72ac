//! Meters: meter mod, meter bands, meter stats, meter config and meter features.

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;
use crate::types::hex_bytes;
use crate::wire::{Reader, Writer};

wire_enum! {
    /// `OFPMC_*` meter mod command.
    pub enum MeterModCommand: u16 {
        /// New meter.
        Add = 0,
        /// Modify a meter.
        Modify = 1,
        /// Delete a meter.
        Delete = 2,
    }
}

/// `OFPMF_*` meter flags.
pub mod meter_flags {
    /// Rate in kb/s.
    pub const KBPS: u16 = 1;
    /// Rate in packets/s.
    pub const PKTPS: u16 = 2;
    /// Burst size applies.
    pub const BURST: u16 = 4;
    /// Collect statistics.
    pub const STATS: u16 = 8;
}

/// Special meter ids (`OFPM_*`).
pub mod meter_id {
    /// Last usable meter.
    pub const MAX: u32 = 0xffff_0000;
    /// Meter for slow datapath.
    pub const SLOWPATH: u32 = 0xffff_fffd;
    /// Meter for the controller connection.
    pub const CONTROLLER: u32 = 0xffff_fffe;
    /// All meters.
    pub const ALL: u32 = 0xffff_ffff;
}

/// A meter band (`ofp_meter_band_*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum MeterBand {
    /// `OFPMBT_DROP` (16 bytes).
    Drop {
        /// Rate.
        rate: u32,
        /// Burst size.
        burst_size: u32,
    },
    /// `OFPMBT_DSCP_REMARK` (16 bytes).
    DscpRemark {
        /// Rate.
        rate: u32,
        /// Burst size.
        burst_size: u32,
        /// Drop precedence to add.
        prec_level: u8,
    },
    /// `OFPMBT_EXPERIMENTER`.
    Experimenter {
        /// Rate.
        rate: u32,
        /// Burst size.
        burst_size: u32,
        /// Experimenter id.
        experimenter: u32,
        /// Body after the experimenter id.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    /// A band type this crate does not know.
    Unknown {
        /// Band type.
        #[cfg_attr(test, proptest(strategy = "3u16..0xffff"))]
        band_type: u16,
        /// Rate.
        rate: u32,
        /// Burst size.
        burst_size: u32,
        /// Body after the 12-byte band header.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
}

impl MeterBand {
    pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<MeterBand>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            let ty = r.u16()?;
            let len = usize::from(r.u16()?);
            if len < 12 {
                return Err(DecodeError::BadLength {
                    what: "meter band",
                    length: len,
                });
            }
            let mut b = r.sub(len - 4, "meter band")?;
            let rate = b.u32()?;
            let burst_size = b.u32()?;
            let band = match ty {
                1 | 2 => {
                    if len != 16 {
                        return Err(DecodeError::BadLength {
                            what: "meter band",
                            length: len,
                        });
                    }
                    if ty == 1 {
                        MeterBand::Drop { rate, burst_size }
                    } else {
                        MeterBand::DscpRemark {
                            rate,
                            burst_size,
                            prec_level: b.u8()?,
                        }
                    }
                }
                0xffff => {
                    let experimenter = b.u32()?;
                    MeterBand::Experimenter {
                        rate,
                        burst_size,
                        experimenter,
                        data: b.rest().to_vec(),
                    }
                }
                _ => MeterBand::Unknown {
                    band_type: ty,
                    rate,
                    burst_size,
                    data: b.rest().to_vec(),
                },
            };
            out.push(band);
        }
        Ok(out)
    }

    pub(crate) fn encode_list(list: &[MeterBand], w: &mut Writer) {
        for band in list {
            let start = w.len();
            let (ty, rate, burst) = match band {
                MeterBand::Drop { rate, burst_size } => (1, rate, burst_size),
                MeterBand::DscpRemark { rate, burst_size, .. } => (2, rate, burst_size),
                MeterBand::Experimenter { rate, burst_size, .. } => (0xffff, rate, burst_size),
                MeterBand::Unknown {
                    band_type,
                    rate,
                    burst_size,
                    ..
                } => (*band_type, rate, burst_size),
            };
            w.u16(ty);
            let at = w.placeholder16();
            w.u32(*rate);
            w.u32(*burst);
            match band {
                MeterBand::Drop { .. } => w.zeros(4),
                MeterBand::DscpRemark { prec_level, .. } => {
                    w.u8(*prec_level);
                    w.zeros(3);
                }
                MeterBand::Experimenter {
                    experimenter, data, ..
                } => {
                    w.u32(*experimenter);
                    w.bytes(data);
                }
                MeterBand::Unknown { data, .. } => w.bytes(data),
            }
            w.patch_len16(at, start, "meter band");
        }
    }
}

/// `ofp_meter_mod` (16 bytes plus bands).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MeterMod {
    /// Command.
    pub command: MeterModCommand,
    /// `OFPMF_*` flags.
    pub flags: u16,
    /// Meter id.
    pub meter_id: u32,
    /// Bands.
    pub bands: Vec<MeterBand>,
}

impl MeterMod {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<MeterMod, DecodeError> {
        Ok(MeterMod {
            command: MeterModCommand::from_wire(r.u16()?),
            flags: r.u16()?,
            meter_id: r.u32()?,
            bands: MeterBand::decode_list(r)?,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u16(self.command.to_wire());
        w.u16(self.flags);
        w.u32(self.meter_id);
        MeterBand::encode_list(&self.bands, w);
    }
}

/// `ofp_meter_band_stats` (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MeterBandStats {
    /// Packets in the band.
    pub packet_band_count: u64,
    /// Bytes in the band.
    pub byte_band_count: u64,
}

/// `ofp_meter_stats` (40 bytes plus band stats).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MeterStats {
    /// Meter id.
    pub meter_id: u32,
    /// Flows bound to the meter.
    pub flow_count: u32,
    /// Packets in input.
    pub packet_in_count: u64,
    /// Bytes in input.
    pub byte_in_count: u64,
    /// Seconds alive.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Per-band statistics.
    pub band_stats: Vec<MeterBandStats>,
}

impl MeterStats {
    pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<MeterStats>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            let meter_id = r.u32()?;
            let len = usize::from(r.u16()?);
            if len < 40 || (len - 40) % 16 != 0 {
                return Err(DecodeError::BadLength {
                    what: "meter stats",
                    length: len,
                });
            }
            let mut b = r.sub(len - 6, "meter stats")?;
            b.skip(6)?;
            let flow_count = b.u32()?;
            let packet_in_count = b.u64()?;
            let byte_in_count = b.u64()?;
            let duration_sec = b.u32()?;
            let duration_nsec = b.u32()?;
            let mut band_stats = Vec::new();
            while !b.is_empty() {
                band_stats.push(MeterBandStats {
                    packet_band_count: b.u64()?,
                    byte_band_count: b.u64()?,
                });
            }
            out.push(MeterStats {
                meter_id,
                flow_count,
                packet_in_count,
                byte_in_count,
                duration_sec,
                duration_nsec,
                band_stats,
            });
        }
        Ok(out)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let start = w.len();
        w.u32(self.meter_id);
        let at = w.placeholder16();
        w.zeros(6);
        w.u32(self.flow_count);
        w.u64(self.packet_in_count);
        w.u64(self.byte_in_count);
        w.u32(self.duration_sec);
        w.u32(self.duration_nsec);
        for s in &self.band_stats {
            w.u64(s.packet_band_count);
            w.u64(s.byte_band_count);
        }
        w.patch_len16(at, start, "meter stats");
    }
}

/// `ofp_meter_config` (8 bytes plus bands).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MeterConfig {
    /// `OFPMF_*` flags.
    pub flags: u16,
    /// Meter id.
    pub meter_id: u32,
    /// Bands.
    pub bands: Vec<MeterBand>,
}

impl MeterConfig {
    pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<MeterConfig>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            let len = usize::from(r.u16()?);
            if len < 8 {
                return Err(DecodeError::BadLength {
                    what: "meter config",
                    length: len,
                });
            }
            let mut b = r.sub(len - 2, "meter config")?;
            let flags = b.u16()?;
            let meter_id = b.u32()?;
            out.push(MeterConfig {
                flags,
                meter_id,
                bands: MeterBand::decode_list(&mut b)?,
            });
        }
        Ok(out)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let start = w.len();
        let at = w.placeholder16();
        w.u16(self.flags);
        w.u32(self.meter_id);
        MeterBand::encode_list(&self.bands, w);
        w.patch_len16(at, start, "meter config");
    }
}

/// `ofp_meter_features` (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MeterFeatures {
    /// Maximum number of meters.
    pub max_meter: u32,
    /// Bitmap of `OFPMBT_*` band types supported.
    pub band_types: u32,
    /// Bitmap of `OFPMF_*` flags supported.
    pub capabilities: u32,
    /// Maximum bands per meter.
    pub max_bands: u8,
    /// Maximum colour value.
    pub max_color: u8,
}

impl MeterFeatures {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<MeterFeatures, DecodeError> {
        let f = MeterFeatures {
            max_meter: r.u32()?,
            band_types: r.u32()?,
            capabilities: r.u32()?,
            max_bands: r.u8()?,
            max_color: r.u8()?,
        };
        r.skip(2)?;
        Ok(f)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u32(self.max_meter);
        w.u32(self.band_types);
        w.u32(self.capabilities);
        w.u8(self.max_bands);
        w.u8(self.max_color);
        w.zeros(2);
    }
}

//! Groups: group mod, buckets, group stats, group description and group features.

use serde::{Deserialize, Serialize};

use super::action::Action;
use crate::error::DecodeError;
use crate::wire::{Reader, Writer};

wire_enum! {
    /// `OFPGC_*` group mod command.
    pub enum GroupModCommand: u16 {
        /// New group.
        Add = 0,
        /// Modify all matching groups.
        Modify = 1,
        /// Delete all matching groups.
        Delete = 2,
    }
}

wire_enum! {
    /// `OFPGT_*` group type.
    pub enum GroupType: u8 {
        /// All buckets (multicast/broadcast).
        All = 0,
        /// One bucket (select).
        Select = 1,
        /// Single bucket.
        Indirect = 2,
        /// First live bucket.
        FastFailover = 3,
    }
}

/// Special group ids (`OFPG_*`).
pub mod group_id {
    /// Last usable group number.
    pub const MAX: u32 = 0xffff_ff00;
    /// All groups (group delete, group stats).
    pub const ALL: u32 = 0xffff_fffc;
    /// Wildcard group.
    pub const ANY: u32 = 0xffff_ffff;
}

/// `ofp_bucket` (16 bytes plus actions).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Bucket {
    /// Relative weight (select groups).
    pub weight: u16,
    /// Port whose liveness decides the bucket's (fast failover).
    pub watch_port: u32,
    /// Group whose liveness decides the bucket's (fast failover).
    pub watch_group: u32,
    /// Actions.
    pub actions: Vec<Action>,
}

impl Bucket {
    pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<Bucket>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            let len = usize::from(r.u16()?);
            if len < 16 {
                return Err(DecodeError::BadLength {
                    what: "bucket",
                    length: len,
                });
            }
            let mut b = r.sub(len - 2, "bucket")?;
            let weight = b.u16()?;
            let watch_port = b.u32()?;
            let watch_group = b.u32()?;
            b.skip(4)?;
            out.push(Bucket {
                weight,
                watch_port,
                watch_group,
                actions: Action::decode_list(&mut b)?,
            });
        }
        Ok(out)
    }

    pub(crate) fn encode_list(list: &[Bucket], w: &mut Writer) {
        for b in list {
            let start = w.len();
            let at = w.placeholder16();
            w.u16(b.weight);
            w.u32(b.watch_port);
            w.u32(b.watch_group);
            w.zeros(4);
            Action::encode_list(&b.actions, w);
            w.patch_len16(at, start, "bucket");
        }
    }
}

/// `ofp_group_mod` (16 bytes plus buckets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct GroupMod {
    /// Command.
    pub command: GroupModCommand,
    /// Group type.
    pub group_type: GroupType,
    /// Group id.
    pub group_id: u32,
    /// Buckets.
    pub buckets: Vec<Bucket>,
}

impl GroupMod {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<GroupMod, DecodeError> {
        let command = GroupModCommand::from_wire(r.u16()?);
        let group_type = GroupType::from_wire(r.u8()?);
        r.skip(1)?;
        let group_id = r.u32()?;
        Ok(GroupMod {
            command,
            group_type,
            group_id,
            buckets: Bucket::decode_list(r)?,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u16(self.command.to_wire());
        w.u8(self.group_type.to_wire());
        w.zeros(1);
        w.u32(self.group_id);
        Bucket::encode_list(&self.buckets, w);
    }
}

/// `ofp_bucket_counter` (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct BucketCounter {
    /// Packets processed by the bucket.
    pub packet_count: u64,
    /// Bytes processed by the bucket.
    pub byte_count: u64,
}

/// `ofp_group_stats` (40 bytes plus bucket counters).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct GroupStats {
    /// Group id.
    pub group_id: u32,
    /// Flows or groups forwarding to this group.
    pub ref_count: u32,
    /// Packets processed.
    pub packet_count: u64,
    /// Bytes processed.
    pub byte_count: u64,
    /// Seconds alive.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Per-bucket counters.
    pub bucket_stats: Vec<BucketCounter>,
}

impl GroupStats {
    pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<GroupStats>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            let len = usize::from(r.u16()?);
            if len < 40 || (len - 40) % 16 != 0 {
                return Err(DecodeError::BadLength {
                    what: "group stats",
                    length: len,
                });
            }
            let mut b = r.sub(len - 2, "group stats")?;
            b.skip(2)?;
            let group_id = b.u32()?;
            let ref_count = b.u32()?;
            b.skip(4)?;
            let packet_count = b.u64()?;
            let byte_count = b.u64()?;
            let duration_sec = b.u32()?;
            let duration_nsec = b.u32()?;
            let mut bucket_stats = Vec::new();
            while !b.is_empty() {
                bucket_stats.push(BucketCounter {
                    packet_count: b.u64()?,
                    byte_count: b.u64()?,
                });
            }
            out.push(GroupStats {
                group_id,
                ref_count,
                packet_count,
                byte_count,
                duration_sec,
                duration_nsec,
                bucket_stats,
            });
        }
        Ok(out)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let start = w.len();
        let at = w.placeholder16();
        w.zeros(2);
        w.u32(self.group_id);
        w.u32(self.ref_count);
        w.zeros(4);
        w.u64(self.packet_count);
        w.u64(self.byte_count);
        w.u32(self.duration_sec);
        w.u32(self.duration_nsec);
        for c in &self.bucket_stats {
            w.u64(c.packet_count);
            w.u64(c.byte_count);
        }
        w.patch_len16(at, start, "group stats");
    }
}

/// `ofp_group_desc` (8 bytes plus buckets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct GroupDesc {
    /// Group type.
    pub group_type: GroupType,
    /// Group id.
    pub group_id: u32,
    /// Buckets.
    pub buckets: Vec<Bucket>,
}

impl GroupDesc {
    pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<GroupDesc>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            let len = usize::from(r.u16()?);
            if len < 8 {
                return Err(DecodeError::BadLength {
                    what: "group desc",
                    length: len,
                });
            }
            let mut b = r.sub(len - 2, "group desc")?;
            let group_type = GroupType::from_wire(b.u8()?);
            b.skip(1)?;
            let group_id = b.u32()?;
            out.push(GroupDesc {
                group_type,
                group_id,
                buckets: Bucket::decode_list(&mut b)?,
            });
        }
        Ok(out)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let start = w.len();
        let at = w.placeholder16();
        w.u8(self.group_type.to_wire());
        w.zeros(1);
        w.u32(self.group_id);
        Bucket::encode_list(&self.buckets, w);
        w.patch_len16(at, start, "group desc");
    }
}

/// `ofp_group_features` (40 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct GroupFeatures {
    /// Bitmap of `OFPGT_*` types supported.
    pub types: u32,
    /// `OFPGFC_*` capability bits.
    pub capabilities: u32,
    /// Maximum groups of each type.
    pub max_groups: [u32; 4],
    /// Bitmaps of `OFPAT_*` actions supported by each type.
    pub actions: [u32; 4],
}

impl GroupFeatures {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<GroupFeatures, DecodeError> {
        let types = r.u32()?;
        let capabilities = r.u32()?;
        let mut max_groups = [0u32; 4];
        for v in &mut max_groups {
            *v = r.u32()?;
        }
        let mut actions = [0u32; 4];
        for v in &mut actions {
            *v = r.u32()?;
        }
        Ok(GroupFeatures {
            types,
            capabilities,
            max_groups,
            actions,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u32(self.types);
        w.u32(self.capabilities);
        self.max_groups.iter().for_each(|v| w.u32(*v));
        self.actions.iter().for_each(|v| w.u32(*v));
    }
}

//! Table features (`ofp_table_features`) and every table-feature property type.

use serde::{Deserialize, Serialize};

use super::action::ActionId;
use super::instruction::InstructionId;
use super::oxm::OxmId;
use crate::error::DecodeError;
use crate::types::{hex_bytes, FixedStr};
use crate::wire::{pad8, Reader, Writer};

/// `OFPTFPT_*` property types.
pub mod prop_type {
    /// Instructions.
    pub const INSTRUCTIONS: u16 = 0;
    /// Instructions for table-miss.
    pub const INSTRUCTIONS_MISS: u16 = 1;
    /// Next tables.
    pub const NEXT_TABLES: u16 = 2;
    /// Next tables for table-miss.
    pub const NEXT_TABLES_MISS: u16 = 3;
    /// Write actions.
    pub const WRITE_ACTIONS: u16 = 4;
    /// Write actions for table-miss.
    pub const WRITE_ACTIONS_MISS: u16 = 5;
    /// Apply actions.
    pub const APPLY_ACTIONS: u16 = 6;
    /// Apply actions for table-miss.
    pub const APPLY_ACTIONS_MISS: u16 = 7;
    /// Match fields.
    pub const MATCH: u16 = 8;
    /// Wildcard fields.
    pub const WILDCARDS: u16 = 10;
    /// Write set-field.
    pub const WRITE_SETFIELD: u16 = 12;
    /// Write set-field for table-miss.
    pub const WRITE_SETFIELD_MISS: u16 = 13;
    /// Apply set-field.
    pub const APPLY_SETFIELD: u16 = 14;
    /// Apply set-field for table-miss.
    pub const APPLY_SETFIELD_MISS: u16 = 15;
    /// Experimenter.
    pub const EXPERIMENTER: u16 = 0xfffe;
    /// Experimenter for table-miss.
    pub const EXPERIMENTER_MISS: u16 = 0xffff;
    /// Every type this crate decodes.
    pub const KNOWN: [u16; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 13, 14, 15, 0xfffe, 0xffff];
}

/// A table-feature property. Each is padded to a multiple of 8 bytes; its length field excludes padding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum TableFeatureProp {
    /// `OFPTFPT_INSTRUCTIONS`.
    Instructions(Vec<InstructionId>),
    /// `OFPTFPT_INSTRUCTIONS_MISS`.
    InstructionsMiss(Vec<InstructionId>),
    /// `OFPTFPT_NEXT_TABLES`.
    NextTables(Vec<u8>),
    /// `OFPTFPT_NEXT_TABLES_MISS`.
    NextTablesMiss(Vec<u8>),
    /// `OFPTFPT_WRITE_ACTIONS`.
    WriteActions(Vec<ActionId>),
    /// `OFPTFPT_WRITE_ACTIONS_MISS`.
    WriteActionsMiss(Vec<ActionId>),
    /// `OFPTFPT_APPLY_ACTIONS`.
    ApplyActions(Vec<ActionId>),
    /// `OFPTFPT_APPLY_ACTIONS_MISS`.
    ApplyActionsMiss(Vec<ActionId>),
    /// `OFPTFPT_MATCH`.
    Match(Vec<OxmId>),
    /// `OFPTFPT_WILDCARDS`.
    Wildcards(Vec<OxmId>),
    /// `OFPTFPT_WRITE_SETFIELD`.
    WriteSetfield(Vec<OxmId>),
    /// `OFPTFPT_WRITE_SETFIELD_MISS`.
    WriteSetfieldMiss(Vec<OxmId>),
    /// `OFPTFPT_APPLY_SETFIELD`.
    ApplySetfield(Vec<OxmId>),
    /// `OFPTFPT_APPLY_SETFIELD_MISS`.
    ApplySetfieldMiss(Vec<OxmId>),
    /// `OFPTFPT_EXPERIMENTER`.
    Experimenter {
        /// Experimenter id.
        experimenter: u32,
        /// Experimenter-defined type.
        exp_type: u32,
        /// Body.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    /// `OFPTFPT_EXPERIMENTER_MISS`.
    ExperimenterMiss {
        /// Experimenter id.
        experimenter: u32,
        /// Experimenter-defined type.
        exp_type: u32,
        /// Body.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    /// A property type this crate does not know, kept raw.
    Unknown {
        /// Property type.
        #[cfg_attr(
            test,
            proptest(strategy = "crate::v13::table_features::tests::unknown_type()")
        )]
        prop_type: u16,
        /// Body after type and length, without padding.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
}

fn decode_all<T>(
    r: &mut Reader<'_>,
    f: impl Fn(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(f(r)?);
    }
    Ok(out)
}

impl TableFeatureProp {
    /// The `OFPTFPT_*` type.
    pub fn prop_type(&self) -> u16 {
        use prop_type::*;
        match self {
            TableFeatureProp::Instructions(_) => INSTRUCTIONS,
            TableFeatureProp::InstructionsMiss(_) => INSTRUCTIONS_MISS,
            TableFeatureProp::NextTables(_) => NEXT_TABLES,
            TableFeatureProp::NextTablesMiss(_) => NEXT_TABLES_MISS,
            TableFeatureProp::WriteActions(_) => WRITE_ACTIONS,
            TableFeatureProp::WriteActionsMiss(_) => WRITE_ACTIONS_MISS,
            TableFeatureProp::ApplyActions(_) => APPLY_ACTIONS,
            TableFeatureProp::ApplyActionsMiss(_) => APPLY_ACTIONS_MISS,
            TableFeatureProp::Match(_) => MATCH,
            TableFeatureProp::Wildcards(_) => WILDCARDS,
            TableFeatureProp::WriteSetfield(_) => WRITE_SETFIELD,
            TableFeatureProp::WriteSetfieldMiss(_) => WRITE_SETFIELD_MISS,
            TableFeatureProp::ApplySetfield(_) => APPLY_SETFIELD,
            TableFeatureProp::ApplySetfieldMiss(_) => APPLY_SETFIELD_MISS,
            TableFeatureProp::Experimenter { .. } => EXPERIMENTER,
            TableFeatureProp::ExperimenterMiss { .. } => EXPERIMENTER_MISS,
            TableFeatureProp::Unknown { prop_type, .. } => *prop_type,
        }
    }

    pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<TableFeatureProp>, DecodeError> {
        use prop_type::*;
        let mut out = Vec::new();
        while !r.is_empty() {
            let ty = r.u16()?;
            let len = usize::from(r.u16()?);
            if len < 4 {
                return Err(DecodeError::BadLength {
                    what: "table feature property",
                    length: len,
                });
            }
            let mut b = r.sub(len - 4, "table feature property")?;
            r.skip(pad8(len))?;
            let b = &mut b;
            let p = match ty {
                INSTRUCTIONS => TableFeatureProp::Instructions(decode_all(b, InstructionId::decode)?),
                INSTRUCTIONS_MISS => {
                    TableFeatureProp::InstructionsMiss(decode_all(b, InstructionId::decode)?)
                }
                NEXT_TABLES => TableFeatureProp::NextTables(b.rest().to_vec()),
                NEXT_TABLES_MISS => TableFeatureProp::NextTablesMiss(b.rest().to_vec()),
                WRITE_ACTIONS => TableFeatureProp::WriteActions(decode_all(b, ActionId::decode)?),
                WRITE_ACTIONS_MISS => TableFeatureProp::WriteActionsMiss(decode_all(b, ActionId::decode)?),
                APPLY_ACTIONS => TableFeatureProp::ApplyActions(decode_all(b, ActionId::decode)?),
                APPLY_ACTIONS_MISS => TableFeatureProp::ApplyActionsMiss(decode_all(b, ActionId::decode)?),
                MATCH => TableFeatureProp::Match(decode_all(b, OxmId::decode)?),
                WILDCARDS => TableFeatureProp::Wildcards(decode_all(b, OxmId::decode)?),
                WRITE_SETFIELD => TableFeatureProp::WriteSetfield(decode_all(b, OxmId::decode)?),
                WRITE_SETFIELD_MISS => TableFeatureProp::WriteSetfieldMiss(decode_all(b, OxmId::decode)?),
                APPLY_SETFIELD => TableFeatureProp::ApplySetfield(decode_all(b, OxmId::decode)?),
                APPLY_SETFIELD_MISS => TableFeatureProp::ApplySetfieldMiss(decode_all(b, OxmId::decode)?),
                EXPERIMENTER | EXPERIMENTER_MISS => {
                    let experimenter = b.u32()?;
                    let exp_type = b.u32()?;
                    let data = b.rest().to_vec();
                    if ty == EXPERIMENTER {
                        TableFeatureProp::Experimenter {
                            experimenter,
                            exp_type,
                            data,
                        }
                    } else {
                        TableFeatureProp::ExperimenterMiss {
                            experimenter,
                            exp_type,
                            data,
                        }
                    }
                }
                _ => TableFeatureProp::Unknown {
                    prop_type: ty,
                    data: b.rest().to_vec(),
                },
            };
            out.push(p);
        }
        Ok(out)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let start = w.len();
        w.u16(self.prop_type());
        let at = w.placeholder16();
        match self {
            TableFeatureProp::Instructions(ids) | TableFeatureProp::InstructionsMiss(ids) => {
                ids.iter().for_each(|i| i.encode(w))
            }
            TableFeatureProp::NextTables(t) | TableFeatureProp::NextTablesMiss(t) => w.bytes(t),
            TableFeatureProp::WriteActions(ids)
            | TableFeatureProp::WriteActionsMiss(ids)
            | TableFeatureProp::ApplyActions(ids)
            | TableFeatureProp::ApplyActionsMiss(ids) => ids.iter().for_each(|i| i.encode(w)),
            TableFeatureProp::Match(ids)
            | TableFeatureProp::Wildcards(ids)
            | TableFeatureProp::WriteSetfield(ids)
            | TableFeatureProp::WriteSetfieldMiss(ids)
            | TableFeatureProp::ApplySetfield(ids)
            | TableFeatureProp::ApplySetfieldMiss(ids) => ids.iter().for_each(|i| i.encode(w)),
            TableFeatureProp::Experimenter {
                experimenter,
                exp_type,
                data,
            }
            | TableFeatureProp::ExperimenterMiss {
                experimenter,
                exp_type,
                data,
            } => {
                w.u32(*experimenter);
                w.u32(*exp_type);
                w.bytes(data);
            }
            TableFeatureProp::Unknown { data, .. } => w.bytes(data),
        }
        w.patch_len16(at, start, "table feature property");
        w.pad8_from(start);
    }
}

/// `ofp_table_features` (64 bytes plus properties).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct TableFeatures {
    /// Table id.
    pub table_id: u8,
    /// Table name.
    pub name: FixedStr<32>,
    /// Metadata bits the table can match.
    pub metadata_match: u64,
    /// Metadata bits the table can write.
    pub metadata_write: u64,
    /// `OFPTC_*` config bits.
    pub config: u32,
    /// Maximum entries.
    pub max_entries: u32,
    /// Properties.
    pub properties: Vec<TableFeatureProp>,
}

impl TableFeatures {
    /// Size without properties.
    pub const FIXED_LEN: usize = 64;

    pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<TableFeatures>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            let len = usize::from(r.u16()?);
            if len < Self::FIXED_LEN {
                return Err(DecodeError::BadLength {
                    what: "table features",
                    length: len,
                });
            }
            let mut b = r.sub(len - 2, "table features")?;
            let table_id = b.u8()?;
            b.skip(5)?;
            out.push(TableFeatures {
                table_id,
                name: FixedStr::decode(&mut b)?,
                metadata_match: b.u64()?,
                metadata_write: b.u64()?,
                config: b.u32()?,
                max_entries: b.u32()?,
                properties: TableFeatureProp::decode_list(&mut b)?,
            });
        }
        Ok(out)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let start = w.len();
        let at = w.placeholder16();
        w.u8(self.table_id);
        w.zeros(5);
        self.name.encode(w);
        w.u64(self.metadata_match);
        w.u64(self.metadata_write);
        w.u32(self.config);
        w.u32(self.max_entries);
        self.properties.iter().for_each(|p| p.encode(w));
        w.patch_len16(at, start, "table features");
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn unknown_type() -> impl Strategy<Value = u16> {
        any::<u16>().prop_filter("known", |t| !prop_type::KNOWN.contains(t))
    }

    #[test]
    fn table_features_layout() {
        let tf = TableFeatures {
            table_id: 1,
            name: FixedStr::new("acl"),
            metadata_match: u64::MAX,
            metadata_write: 0,
            config: 3,
            max_entries: 1000,
            properties: vec![
                TableFeatureProp::Instructions(vec![
                    InstructionId {
                        instruction_type: 1,
                        data: vec![],
                    },
                    InstructionId {
                        instruction_type: 4,
                        data: vec![],
                    },
                ]),
                TableFeatureProp::NextTables(vec![2, 3, 4]),
                TableFeatureProp::Match(vec![OxmId::basic(0, 4), OxmId::basic(5, 2)]),
                TableFeatureProp::ApplyActions(vec![ActionId {
                    action_type: 0,
                    data: vec![],
                }]),
                TableFeatureProp::Experimenter {
                    experimenter: 0x2320,
                    exp_type: 1,
                    data: vec![9],
                },
            ],
        };
        let mut w = Writer::new();
        tf.encode(&mut w);
        let b = w.into_result().unwrap();
        // 64 fixed + instructions (4 + 8 = 12 -> 16) + next tables (4 + 3 = 7 -> 8)
        // + match (4 + 8 = 12 -> 16) + apply actions (4 + 4 = 8) + experimenter (4 + 8 + 1 = 13 -> 16)
        assert_eq!(b.len(), 64 + 16 + 8 + 16 + 8 + 16);
        assert_eq!(&b[0..2], &(b.len() as u16).to_be_bytes());
        assert_eq!(&b[64..68], &[0, 0, 0, 12]);
        assert_eq!(&b[80..84], &[0, 2, 0, 7]);
        assert_eq!(&b[84..88], &[2, 3, 4, 0]);
        assert_eq!(&b[88..96], &[0, 8, 0, 12, 0x80, 0, 0, 4]);
        let mut r = Reader::new(&b, "t");
        assert_eq!(TableFeatures::decode_list(&mut r).unwrap(), vec![tf]);
    }
}

//! The 1.3 instructions (`ofp_instruction_*`).

use serde::{Deserialize, Serialize};

use super::action::Action;
use crate::error::DecodeError;
use crate::types::hex_bytes;
use crate::wire::{Reader, Writer};

/// `OFPIT_*` instruction types.
pub mod instruction_type {
    /// Go to a later table.
    pub const GOTO_TABLE: u16 = 1;
    /// Write metadata.
    pub const WRITE_METADATA: u16 = 2;
    /// Merge actions into the action set.
    pub const WRITE_ACTIONS: u16 = 3;
    /// Apply actions now.
    pub const APPLY_ACTIONS: u16 = 4;
    /// Clear the action set.
    pub const CLEAR_ACTIONS: u16 = 5;
    /// Apply a meter.
    pub const METER: u16 = 6;
    /// Experimenter.
    pub const EXPERIMENTER: u16 = 0xffff;
}

/// A 1.3 instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Instruction {
    /// `OFPIT_GOTO_TABLE` (8 bytes).
    GotoTable {
        /// Next table.
        table_id: u8,
    },
    /// `OFPIT_WRITE_METADATA` (24 bytes).
    WriteMetadata {
        /// Metadata value.
        metadata: u64,
        /// Bits to write.
        metadata_mask: u64,
    },
    /// `OFPIT_WRITE_ACTIONS`.
    WriteActions(Vec<Action>),
    /// `OFPIT_APPLY_ACTIONS`.
    ApplyActions(Vec<Action>),
    /// `OFPIT_CLEAR_ACTIONS` (8 bytes).
    ClearActions,
    /// `OFPIT_METER` (8 bytes).
    Meter {
        /// Meter id.
        meter_id: u32,
    },
    /// `OFPIT_EXPERIMENTER`.
    Experimenter {
        /// Experimenter id.
        experimenter: u32,
        /// Body after the experimenter id.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    /// An instruction type this crate does not know, kept raw.
    Unknown {
        /// Instruction type.
        #[cfg_attr(test, proptest(strategy = "7u16..0xffff"))]
        instruction_type: u16,
        /// Body after type and length.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
}

impl Instruction {
    /// The `OFPIT_*` type.
    pub fn instruction_type(&self) -> u16 {
        use instruction_type::*;
        match self {
            Instruction::GotoTable { .. } => GOTO_TABLE,
            Instruction::WriteMetadata { .. } => WRITE_METADATA,
            Instruction::WriteActions(_) => WRITE_ACTIONS,
            Instruction::ApplyActions(_) => APPLY_ACTIONS,
            Instruction::ClearActions => CLEAR_ACTIONS,
            Instruction::Meter { .. } => METER,
            Instruction::Experimenter { .. } => EXPERIMENTER,
            Instruction::Unknown { instruction_type, .. } => *instruction_type,
        }
    }

    /// Decodes instructions filling all of `r`.
    pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<Instruction>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            out.push(Instruction::decode(r)?);
        }
        Ok(out)
    }

    pub(crate) fn encode_list(list: &[Instruction], w: &mut Writer) {
        for i in list {
            i.encode(w);
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Instruction, DecodeError> {
        use instruction_type::*;
        let ty = r.u16()?;
        let len = usize::from(r.u16()?);
        if len < 4 {
            return Err(DecodeError::BadLength {
                what: "instruction",
                length: len,
            });
        }
        let mut b = r.sub(len - 4, "instruction")?;
        let fixed = |expected: usize| {
            if len == expected {
                Ok(())
            } else {
                Err(DecodeError::BadLength {
                    what: "instruction",
                    length: len,
                })
            }
        };
        Ok(match ty {
            GOTO_TABLE => {
                fixed(8)?;
                Instruction::GotoTable { table_id: b.u8()? }
            }
            WRITE_METADATA => {
                fixed(24)?;
                b.skip(4)?;
                Instruction::WriteMetadata {
                    metadata: b.u64()?,
                    metadata_mask: b.u64()?,
                }
            }
            WRITE_ACTIONS | APPLY_ACTIONS => {
                b.skip(4)?;
                let actions = Action::decode_list(&mut b)?;
                if ty == WRITE_ACTIONS {
                    Instruction::WriteActions(actions)
                } else {
                    Instruction::ApplyActions(actions)
                }
            }
            CLEAR_ACTIONS => {
                fixed(8)?;
                Instruction::ClearActions
            }
            METER => {
                fixed(8)?;
                Instruction::Meter { meter_id: b.u32()? }
            }
            EXPERIMENTER => {
                let experimenter = b.u32()?;
                Instruction::Experimenter {
                    experimenter,
                    data: b.rest().to_vec(),
                }
            }
            _ => Instruction::Unknown {
                instruction_type: ty,
                data: b.rest().to_vec(),
            },
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let start = w.len();
        w.u16(self.instruction_type());
        let at = w.placeholder16();
        match self {
            Instruction::GotoTable { table_id } => {
                w.u8(*table_id);
                w.zeros(3);
            }
            Instruction::WriteMetadata {
                metadata,
                metadata_mask,
            } => {
                w.zeros(4);
                w.u64(*metadata);
                w.u64(*metadata_mask);
            }
            Instruction::WriteActions(a) | Instruction::ApplyActions(a) => {
                w.zeros(4);
                Action::encode_list(a, w);
            }
            Instruction::ClearActions => w.zeros(4),
            Instruction::Meter { meter_id } => w.u32(*meter_id),
            Instruction::Experimenter { experimenter, data } => {
                w.u32(*experimenter);
                w.bytes(data);
            }
            Instruction::Unknown { data, .. } => w.bytes(data),
        }
        w.patch_len16(at, start, "instruction");
    }
}

/// An instruction type in a table-features property (4 bytes, or more for experimenter instructions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct InstructionId {
    /// `OFPIT_*` type.
    pub instruction_type: u16,
    /// Bytes after type and length (the experimenter id for experimenter instructions).
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "hex_bytes")]
    pub data: Vec<u8>,
}

impl InstructionId {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<InstructionId, DecodeError> {
        let instruction_type = r.u16()?;
        let len = usize::from(r.u16()?);
        if len < 4 {
            return Err(DecodeError::BadLength {
                what: "instruction id",
                length: len,
            });
        }
        Ok(InstructionId {
            instruction_type,
            data: r.bytes(len - 4)?.to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let start = w.len();
        w.u16(self.instruction_type);
        let at = w.placeholder16();
        w.bytes(&self.data);
        w.patch_len16(at, start, "instruction id");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(i: &Instruction) -> Vec<u8> {
        let mut w = Writer::new();
        i.encode(&mut w);
        w.into_result().unwrap()
    }

    #[test]
    fn instruction_layouts() {
        assert_eq!(
            enc(&Instruction::GotoTable { table_id: 2 }),
            [0, 1, 0, 8, 2, 0, 0, 0]
        );
        let b = enc(&Instruction::WriteMetadata {
            metadata: 1,
            metadata_mask: 0xff,
        });
        assert_eq!(b.len(), 24);
        assert_eq!(&b[..8], &[0, 2, 0, 24, 0, 0, 0, 0]);
        let b = enc(&Instruction::ApplyActions(vec![Action::Output {
            port: 1,
            max_len: 0,
        }]));
        assert_eq!(b.len(), 8 + 16);
        assert_eq!(&b[..4], &[0, 4, 0, 24]);
        assert_eq!(enc(&Instruction::ClearActions), [0, 5, 0, 8, 0, 0, 0, 0]);
        assert_eq!(enc(&Instruction::Meter { meter_id: 9 }), [0, 6, 0, 8, 0, 0, 0, 9]);
        for i in [
            Instruction::GotoTable { table_id: 2 },
            Instruction::WriteActions(vec![Action::PopVlan]),
            Instruction::Experimenter {
                experimenter: 1,
                data: vec![1, 2, 3, 4],
            },
        ] {
            let b = enc(&i);
            assert_eq!(Instruction::decode(&mut Reader::new(&b, "t")).unwrap(), i);
        }
    }
}

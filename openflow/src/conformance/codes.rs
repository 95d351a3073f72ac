//! OpenFlow 1.3 error types and codes the cases expect (1.3 §A.4.4), named once for the modules that
//! check them.

/// `OFPET_BAD_REQUEST`.
pub(crate) const BAD_REQUEST: u16 = 1;
/// `OFPET_BAD_ACTION`.
pub(crate) const BAD_ACTION: u16 = 2;
/// `OFPET_BAD_INSTRUCTION`.
pub(crate) const BAD_INSTRUCTION: u16 = 3;
/// `OFPET_BAD_MATCH`.
pub(crate) const BAD_MATCH: u16 = 4;
/// `OFPET_FLOW_MOD_FAILED`.
pub(crate) const FLOW_MOD_FAILED: u16 = 5;
/// `OFPET_PORT_MOD_FAILED`.
pub(crate) const PORT_MOD_FAILED: u16 = 7;
/// `OFPET_TABLE_MOD_FAILED`.
pub(crate) const TABLE_MOD_FAILED: u16 = 8;
/// `OFPET_QUEUE_OP_FAILED`.
pub(crate) const QUEUE_OP_FAILED: u16 = 9;
/// `OFPET_SWITCH_CONFIG_FAILED`.
pub(crate) const SWITCH_CONFIG_FAILED: u16 = 10;
/// `OFPET_METER_MOD_FAILED`.
pub(crate) const METER_MOD_FAILED: u16 = 12;
/// `OFPET_TABLE_FEATURES_FAILED`.
pub(crate) const TABLE_FEATURES_FAILED: u16 = 13;

/// `OFPBRC_*` codes of BAD_REQUEST.
pub(crate) mod request {
    /// Unknown experimenter id.
    pub(crate) const BAD_EXPERIMENTER: u16 = 3;
    /// Unknown experimenter type.
    pub(crate) const BAD_EXP_TYPE: u16 = 4;
    /// Wrong length for the type.
    pub(crate) const BAD_LEN: u16 = 6;
    /// Wrong port.
    pub(crate) const BAD_PORT: u16 = 11;
}

/// `OFPBAC_*` codes of BAD_ACTION.
pub(crate) mod action {
    /// Wrong length.
    pub(crate) const BAD_LEN: u16 = 1;
    /// Unknown experimenter id.
    pub(crate) const BAD_EXPERIMENTER: u16 = 2;
    /// Bad argument.
    pub(crate) const BAD_ARGUMENT: u16 = 5;
}

/// `OFPBIC_*` codes of BAD_INSTRUCTION.
pub(crate) mod instruction {
    /// Unknown instruction type.
    pub(crate) const UNKNOWN_INST: u16 = 0;
    /// Unknown experimenter id.
    pub(crate) const BAD_EXPERIMENTER: u16 = 5;
    /// Wrong length.
    pub(crate) const BAD_LEN: u16 = 7;
}

/// `OFPBMC_*` codes of BAD_MATCH.
pub(crate) mod matching {
    /// Unknown match type.
    pub(crate) const BAD_TYPE: u16 = 0;
    /// Value bits outside the mask.
    pub(crate) const BAD_WILDCARDS: u16 = 5;
    /// Unknown field.
    pub(crate) const BAD_FIELD: u16 = 6;
    /// A mask where none is allowed.
    pub(crate) const BAD_MASK: u16 = 8;
    /// A field twice.
    pub(crate) const DUP_FIELD: u16 = 10;
}

/// `OFPFMFC_*` codes of FLOW_MOD_FAILED.
pub(crate) mod flow_mod {
    /// A table that does not exist (or OFPTT_ALL on add).
    pub(crate) const BAD_TABLE_ID: u16 = 2;
    /// Unknown command.
    pub(crate) const BAD_COMMAND: u16 = 6;
    /// Undefined flags.
    pub(crate) const BAD_FLAGS: u16 = 7;
}

/// `OFPPMFC_*` codes of PORT_MOD_FAILED.
pub(crate) mod port_mod {
    /// Undefined config bits.
    pub(crate) const BAD_CONFIG: u16 = 2;
    /// Undefined advertised features.
    pub(crate) const BAD_ADVERTISE: u16 = 3;
}

//! OXM (OpenFlow Extensible Match) TLVs: all 40 `OFPXMC_OPENFLOW_BASIC` fields with optional masks, other
//! classes and experimenter fields kept raw, and the 1.3 `ofp_match` that carries them.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::error::{DecodeError, EncodeError};
use crate::types::{hex_bytes, MacAddr};
use crate::wire::{pad8, Reader, Writer};

/// `OFPXMC_OPENFLOW_BASIC`, the class of the standard fields.
pub const OXM_CLASS_OPENFLOW_BASIC: u16 = 0x8000;
/// `OFPXMC_EXPERIMENTER`.
pub const OXM_CLASS_EXPERIMENTER: u16 = 0xffff;
/// `OFPVID_PRESENT`: bit set in a `VLAN_VID` value when a VLAN tag is present.
pub const OFPVID_PRESENT: u16 = 0x1000;
/// `OFPMT_OXM`, the only match type of 1.3.
pub const OFPMT_OXM: u16 = 1;

/// A value type an OXM field can carry.
pub(crate) trait OxmValue: Sized {
    /// Bytes on the wire.
    const LEN: usize;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
    fn write(&self, w: &mut Writer);
}

impl OxmValue for u8 {
    const LEN: usize = 1;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u8()
    }
    fn write(&self, w: &mut Writer) {
        w.u8(*self)
    }
}

impl OxmValue for u16 {
    const LEN: usize = 2;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u16()
    }
    fn write(&self, w: &mut Writer) {
        w.u16(*self)
    }
}

impl OxmValue for u32 {
    const LEN: usize = 4;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u32()
    }
    fn write(&self, w: &mut Writer) {
        w.u32(*self)
    }
}

impl OxmValue for u64 {
    const LEN: usize = 8;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u64()
    }
    fn write(&self, w: &mut Writer) {
        w.u64(*self)
    }
}

impl OxmValue for MacAddr {
    const LEN: usize = 6;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        MacAddr::decode(r)
    }
    fn write(&self, w: &mut Writer) {
        self.encode(w)
    }
}

impl OxmValue for Ipv4Addr {
    const LEN: usize = 4;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Ipv4Addr::from(r.u32()?))
    }
    fn write(&self, w: &mut Writer) {
        w.u32((*self).into())
    }
}

impl OxmValue for Ipv6Addr {
    const LEN: usize = 16;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Ipv6Addr::from(r.array::<16>()?))
    }
    fn write(&self, w: &mut Writer) {
        w.bytes(&self.octets())
    }
}

/// A 24-bit value (the PBB I-SID). Values above `0xff_ffff` fail to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct U24(pub u32);

impl OxmValue for U24 {
    const LEN: usize = 3;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let [a, b, c] = r.array::<3>()?;
        Ok(U24(u32::from_be_bytes([0, a, b, c])))
    }
    fn write(&self, w: &mut Writer) {
        if self.0 > 0xff_ffff {
            w.fail(EncodeError::TooLong {
                what: "24-bit OXM value",
                length: 4,
                max: 3,
            });
        }
        let [_, a, b, c] = self.0.to_be_bytes();
        w.bytes(&[a, b, c]);
    }
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for U24 {
    type Parameters = ();
    type Strategy = proptest::strategy::Map<std::ops::Range<u32>, fn(u32) -> U24>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::strategy::Strategy;
        (0u32..0x100_0000).prop_map(U24)
    }
}

/// An OXM TLV whose class or field this crate does not decode (including experimenter fields), kept raw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawOxm {
    /// OXM class.
    pub class: u16,
    /// Field (7 bits).
    pub field: u8,
    /// Whether a mask follows the value (the mask is part of `body`).
    pub hasmask: bool,
    /// Payload (value, then mask when `hasmask`; for experimenter fields it starts with the experimenter id).
    #[serde(with = "hex_bytes")]
    pub body: Vec<u8>,
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for RawOxm {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        (
            prop_oneof![
                Just(0u16),
                Just(1u16),
                Just(OXM_CLASS_EXPERIMENTER),
                Just(OXM_CLASS_OPENFLOW_BASIC)
            ],
            0u8..128,
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..12),
        )
            .prop_map(|(class, field, hasmask, body)| {
                let field = if class == OXM_CLASS_OPENFLOW_BASIC {
                    field.max(40)
                } else {
                    field
                };
                RawOxm {
                    class,
                    field,
                    hasmask,
                    body,
                }
            })
            .boxed()
    }
}

macro_rules! oxm_fields {
    ( $( $(#[$doc:meta])* $id:literal $variant:ident : $ty:ty ),* $(,)? ) => {
        /// One OXM TLV. Basic fields carry a value and, when the TLV has its mask bit set, a mask of the same
        /// type (a mask is accepted on every field, whether or not the specification makes it maskable).
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(test, derive(proptest_derive::Arbitrary))]
        pub enum OxmField {
            $(
                $(#[$doc])*
                $variant {
                    /// Value.
                    value: $ty,
                    /// Mask: 1 bits must match, 0 bits are wildcarded.
                    #[serde(default, skip_serializing_if = "Option::is_none")]
                    mask: Option<$ty>,
                },
            )*
            /// A field of another class, an unknown basic field, or a basic field of unexpected length.
            Raw(RawOxm),
        }

        /// `OFPXMT_OFB_*` field numbers of the basic class.
        pub mod oxm_field {
            $(
                $(#[$doc])*
                #[allow(non_upper_case_globals)]
                pub const $variant: u8 = $id;
            )*
        }

        impl OxmField {
            /// The field number (7 bits) of this TLV.
            pub fn field(&self) -> u8 {
                match self {
                    $( OxmField::$variant { .. } => $id, )*
                    OxmField::Raw(r) => r.field,
                }
            }

            /// The class of this TLV.
            pub fn class(&self) -> u16 {
                match self {
                    OxmField::Raw(r) => r.class,
                    _ => OXM_CLASS_OPENFLOW_BASIC,
                }
            }

            /// Whether a mask is present.
            pub fn has_mask(&self) -> bool {
                match self {
                    $( OxmField::$variant { mask, .. } => mask.is_some(), )*
                    OxmField::Raw(r) => r.hasmask,
                }
            }

            fn decode_basic(
                field: u8,
                hasmask: bool,
                body: &mut Reader<'_>,
            ) -> Result<Option<OxmField>, DecodeError> {
                let len = body.remaining();
                Ok(match field {
                    $(
                        $id if len == <$ty as OxmValue>::LEN * if hasmask { 2 } else { 1 } => {
                            let value = <$ty as OxmValue>::read(body)?;
                            let mask = if hasmask { Some(<$ty as OxmValue>::read(body)?) } else { None };
                            Some(OxmField::$variant { value, mask })
                        }
                    )*
                    _ => None,
                })
            }

            fn encode_payload(&self, w: &mut Writer) {
                match self {
                    $(
                        OxmField::$variant { value, mask } => {
                            value.write(w);
                            if let Some(m) = mask {
                                m.write(w);
                            }
                        }
                    )*
                    OxmField::Raw(r) => w.bytes(&r.body),
                }
            }
        }
    };
}

oxm_fields! {
    /// `OFPXMT_OFB_IN_PORT`: switch input port.
    0 InPort: u32,
    /// `OFPXMT_OFB_IN_PHY_PORT`: physical input port.
    1 InPhyPort: u32,
    /// `OFPXMT_OFB_METADATA`: metadata passed between tables.
    2 Metadata: u64,
    /// `OFPXMT_OFB_ETH_DST`: Ethernet destination.
    3 EthDst: MacAddr,
    /// `OFPXMT_OFB_ETH_SRC`: Ethernet source.
    4 EthSrc: MacAddr,
    /// `OFPXMT_OFB_ETH_TYPE`: Ethernet frame type.
    5 EthType: u16,
    /// `OFPXMT_OFB_VLAN_VID`: VLAN id, with `OFPVID_PRESENT`.
    6 VlanVid: u16,
    /// `OFPXMT_OFB_VLAN_PCP`: VLAN priority.
    7 VlanPcp: u8,
    /// `OFPXMT_OFB_IP_DSCP`: IP DSCP (6 bits).
    8 IpDscp: u8,
    /// `OFPXMT_OFB_IP_ECN`: IP ECN (2 bits).
    9 IpEcn: u8,
    /// `OFPXMT_OFB_IP_PROTO`: IP protocol.
    10 IpProto: u8,
    /// `OFPXMT_OFB_IPV4_SRC`: IPv4 source.
    11 Ipv4Src: Ipv4Addr,
    /// `OFPXMT_OFB_IPV4_DST`: IPv4 destination.
    12 Ipv4Dst: Ipv4Addr,
    /// `OFPXMT_OFB_TCP_SRC`: TCP source port.
    13 TcpSrc: u16,
    /// `OFPXMT_OFB_TCP_DST`: TCP destination port.
    14 TcpDst: u16,
    /// `OFPXMT_OFB_UDP_SRC`: UDP source port.
    15 UdpSrc: u16,
    /// `OFPXMT_OFB_UDP_DST`: UDP destination port.
    16 UdpDst: u16,
    /// `OFPXMT_OFB_SCTP_SRC`: SCTP source port.
    17 SctpSrc: u16,
    /// `OFPXMT_OFB_SCTP_DST`: SCTP destination port.
    18 SctpDst: u16,
    /// `OFPXMT_OFB_ICMPV4_TYPE`: ICMP type.
    19 Icmpv4Type: u8,
    /// `OFPXMT_OFB_ICMPV4_CODE`: ICMP code.
    20 Icmpv4Code: u8,
    /// `OFPXMT_OFB_ARP_OP`: ARP opcode.
    21 ArpOp: u16,
    /// `OFPXMT_OFB_ARP_SPA`: ARP source IPv4 address.
    22 ArpSpa: Ipv4Addr,
    /// `OFPXMT_OFB_ARP_TPA`: ARP target IPv4 address.
    23 ArpTpa: Ipv4Addr,
    /// `OFPXMT_OFB_ARP_SHA`: ARP source hardware address.
    24 ArpSha: MacAddr,
    /// `OFPXMT_OFB_ARP_THA`: ARP target hardware address.
    25 ArpTha: MacAddr,
    /// `OFPXMT_OFB_IPV6_SRC`: IPv6 source.
    26 Ipv6Src: Ipv6Addr,
    /// `OFPXMT_OFB_IPV6_DST`: IPv6 destination.
    27 Ipv6Dst: Ipv6Addr,
    /// `OFPXMT_OFB_IPV6_FLABEL`: IPv6 flow label (20 bits).
    28 Ipv6Flabel: u32,
    /// `OFPXMT_OFB_ICMPV6_TYPE`: ICMPv6 type.
    29 Icmpv6Type: u8,
    /// `OFPXMT_OFB_ICMPV6_CODE`: ICMPv6 code.
    30 Icmpv6Code: u8,
    /// `OFPXMT_OFB_IPV6_ND_TARGET`: neighbour discovery target address.
    31 Ipv6NdTarget: Ipv6Addr,
    /// `OFPXMT_OFB_IPV6_ND_SLL`: neighbour discovery source link-layer address.
    32 Ipv6NdSll: MacAddr,
    /// `OFPXMT_OFB_IPV6_ND_TLL`: neighbour discovery target link-layer address.
    33 Ipv6NdTll: MacAddr,
    /// `OFPXMT_OFB_MPLS_LABEL`: MPLS label (20 bits).
    34 MplsLabel: u32,
    /// `OFPXMT_OFB_MPLS_TC`: MPLS traffic class (3 bits).
    35 MplsTc: u8,
    /// `OFPXMT_OFB_MPLS_BOS`: MPLS bottom-of-stack bit.
    36 MplsBos: u8,
    /// `OFPXMT_OFB_PBB_ISID`: PBB I-SID (24 bits).
    37 PbbIsid: U24,
    /// `OFPXMT_OFB_TUNNEL_ID`: logical port metadata.
    38 TunnelId: u64,
    /// `OFPXMT_OFB_IPV6_EXTHDR`: IPv6 extension header pseudo-field (9 bits).
    39 Ipv6Exthdr: u16,
}

impl OxmField {
    /// Decodes one OXM TLV.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<OxmField, DecodeError> {
        let class = r.u16()?;
        let fm = r.u8()?;
        let len = usize::from(r.u8()?);
        let field = fm >> 1;
        let hasmask = fm & 1 == 1;
        let mut body = r.sub(len, "OXM field")?;
        if class == OXM_CLASS_OPENFLOW_BASIC {
            if let Some(f) = OxmField::decode_basic(field, hasmask, &mut body.clone())? {
                return Ok(f);
            }
        }
        Ok(OxmField::Raw(RawOxm {
            class,
            field,
            hasmask,
            body: body.rest().to_vec(),
        }))
    }

    /// Encodes one OXM TLV.
    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u16(self.class());
        w.u8((self.field() << 1) | u8::from(self.has_mask()));
        let at = w.len();
        w.u8(0);
        self.encode_payload(w);
        let len = w.len() - at - 1;
        match u8::try_from(len) {
            Ok(l) => {
                if let Some(b) = w.buf.get_mut(at) {
                    *b = l;
                }
            }
            Err(_) => w.fail(EncodeError::TooLong {
                what: "OXM field",
                length: len,
                max: 255,
            }),
        }
    }

    /// Decodes OXM TLVs filling all of `r`.
    pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<OxmField>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            out.push(OxmField::decode(r)?);
        }
        Ok(out)
    }
}

/// The 1.3 `ofp_match` of type `OFPMT_OXM`: a list of OXM TLVs, padded to a multiple of 8 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Match {
    /// Fields in wire order.
    pub fields: Vec<OxmField>,
}

impl Match {
    /// A match with these fields.
    pub fn new(fields: Vec<OxmField>) -> Match {
        Match { fields }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Match, DecodeError> {
        let ty = r.u16()?;
        let len = usize::from(r.u16()?);
        if ty != OFPMT_OXM {
            return Err(DecodeError::Unsupported {
                what: "match type",
                value: ty.into(),
            });
        }
        if len < 4 {
            return Err(DecodeError::BadLength {
                what: "match",
                length: len,
            });
        }
        let fields = OxmField::decode_list(&mut r.sub(len - 4, "match")?)?;
        r.skip(pad8(len))?;
        Ok(Match { fields })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let start = w.len();
        w.u16(OFPMT_OXM);
        let at = w.placeholder16();
        for f in &self.fields {
            f.encode(w);
        }
        w.patch_len16(at, start, "match");
        w.pad8_from(start);
    }
}

/// An OXM header in a table-features property: which field (and whether masked) a table supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OxmId {
    /// OXM class.
    pub class: u16,
    /// Field (7 bits).
    pub field: u8,
    /// Mask bit.
    pub hasmask: bool,
    /// Length byte.
    pub length: u8,
    /// Experimenter id; present exactly when `class` is `OFPXMC_EXPERIMENTER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimenter: Option<u32>,
}

impl OxmId {
    /// The id of a basic field without mask, with its natural length.
    pub fn basic(field: u8, length: u8) -> OxmId {
        OxmId {
            class: OXM_CLASS_OPENFLOW_BASIC,
            field,
            hasmask: false,
            length,
            experimenter: None,
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<OxmId, DecodeError> {
        let class = r.u16()?;
        let fm = r.u8()?;
        let length = r.u8()?;
        let experimenter = if class == OXM_CLASS_EXPERIMENTER {
            Some(r.u32()?)
        } else {
            None
        };
        Ok(OxmId {
            class,
            field: fm >> 1,
            hasmask: fm & 1 == 1,
            length,
            experimenter,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u16(self.class);
        w.u8((self.field << 1) | u8::from(self.hasmask));
        w.u8(self.length);
        if self.class == OXM_CLASS_EXPERIMENTER {
            w.u32(self.experimenter.unwrap_or_default());
        }
    }
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for OxmId {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        (
            prop_oneof![
                Just(OXM_CLASS_OPENFLOW_BASIC),
                Just(OXM_CLASS_EXPERIMENTER),
                any::<u16>()
            ],
            0u8..128,
            any::<bool>(),
            any::<u8>(),
            any::<u32>(),
        )
            .prop_map(|(class, field, hasmask, length, e)| OxmId {
                class,
                field,
                hasmask,
                length,
                experimenter: (class == OXM_CLASS_EXPERIMENTER).then_some(e),
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: &OxmField) -> Vec<u8> {
        let mut w = Writer::new();
        f.encode(&mut w);
        w.into_result().unwrap()
    }

    fn dec(b: &[u8]) -> OxmField {
        let mut r = Reader::new(b, "t");
        let f = OxmField::decode(&mut r).unwrap();
        assert!(r.is_empty());
        f
    }

    #[test]
    fn oxm_header_layout() {
        // class 0x8000, field 0 (in_port) << 1, no mask, length 4
        let f = OxmField::InPort { value: 7, mask: None };
        assert_eq!(enc(&f), [0x80, 0x00, 0x00, 0x04, 0, 0, 0, 7]);
        assert_eq!(dec(&enc(&f)), f);
        // eth_dst masked: field 3 -> 0x06 | 1, length 12
        let f = OxmField::EthDst {
            value: MacAddr([1, 2, 3, 4, 5, 6]),
            mask: Some(MacAddr([0xff; 6])),
        };
        let b = enc(&f);
        assert_eq!(&b[..4], &[0x80, 0x00, 0x07, 12]);
        assert_eq!(dec(&b), f);
        // vlan_vid field 6 -> 0x0c
        assert_eq!(
            enc(&OxmField::VlanVid {
                value: OFPVID_PRESENT | 5,
                mask: None
            }),
            [0x80, 0, 0x0c, 2, 0x10, 5]
        );
        // ipv4_src field 11 -> 0x16 masked 0x17
        let f = OxmField::Ipv4Src {
            value: Ipv4Addr::new(10, 0, 0, 0),
            mask: Some(Ipv4Addr::new(255, 0, 0, 0)),
        };
        assert_eq!(enc(&f), [0x80, 0, 0x17, 8, 10, 0, 0, 0, 255, 0, 0, 0]);
        // pbb_isid field 37, 3 bytes
        assert_eq!(
            enc(&OxmField::PbbIsid {
                value: U24(0x123456),
                mask: None
            }),
            [0x80, 0, 74, 3, 0x12, 0x34, 0x56]
        );
        // ipv6_exthdr field 39
        assert_eq!(
            enc(&OxmField::Ipv6Exthdr {
                value: 0x1ff,
                mask: None
            }),
            [0x80, 0, 78, 2, 1, 0xff]
        );
        // tunnel_id field 38, 8 bytes
        assert_eq!(
            enc(&OxmField::TunnelId { value: 1, mask: None })[..4],
            [0x80, 0, 76, 8]
        );
    }

    #[test]
    fn every_basic_field_has_its_size() {
        let sizes: [usize; 40] = [
            4, 4, 8, 6, 6, 2, 2, 1, 1, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 1, 1, 2, 4, 4, 6, 6, 16, 16, 4, 1, 1,
            16, 6, 6, 4, 1, 1, 3, 8, 2,
        ];
        for (field, size) in sizes.iter().enumerate() {
            for masked in [false, true] {
                let len = size * if masked { 2 } else { 1 };
                let mut b = vec![0x80, 0, ((field as u8) << 1) | u8::from(masked), len as u8];
                b.extend((0..len).map(|i| i as u8 + 1));
                let f = dec(&b);
                assert!(!matches!(f, OxmField::Raw(_)), "field {field} size {size}");
                assert_eq!(f.field(), field as u8);
                assert_eq!(f.has_mask(), masked);
                assert_eq!(enc(&f), b);
            }
        }
    }

    #[test]
    fn unknown_and_experimenter_kept_raw() {
        let b = [0xff, 0xff, 0x02, 8, 0, 0, 0x23, 0x20, 1, 2, 3, 4];
        assert_eq!(
            dec(&b),
            OxmField::Raw(RawOxm {
                class: 0xffff,
                field: 1,
                hasmask: false,
                body: vec![0, 0, 0x23, 0x20, 1, 2, 3, 4]
            })
        );
        assert_eq!(enc(&dec(&b)), b);
        // basic field with a wrong length stays raw and byte-exact
        let b = [0x80, 0, 0, 2, 0, 1];
        assert!(matches!(dec(&b), OxmField::Raw(_)));
        assert_eq!(enc(&dec(&b)), b);
        // past the end
        assert!(OxmField::decode(&mut Reader::new(&[0x80, 0, 0, 4, 0, 1], "t")).is_err());
    }

    #[test]
    fn match_is_padded_and_length_excludes_padding() {
        let m = Match::new(vec![OxmField::InPort { value: 1, mask: None }]);
        let mut w = Writer::new();
        m.encode(&mut w);
        assert_eq!(w.buf, [0, 1, 0, 12, 0x80, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0]);
        let mut w = Writer::new();
        Match::default().encode(&mut w);
        assert_eq!(w.buf, [0, 1, 0, 4, 0, 0, 0, 0]);
        let mut r = Reader::new(&[0, 0, 0, 4, 0, 0, 0, 0], "t");
        assert!(Match::decode(&mut r).is_err());
    }
}

//! The table of action cases: each names a probe that goes in, the actions applied before the output, and
//! the frame that must come out.

use super::fields::{self, Carrier, Field};
use super::probe::{Mpls, Probe, L3};
use crate::v13::oxm::{OxmField, OFPVID_PRESENT};
use crate::{v10, v13};

/// One action case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActionCase {
    /// Rewrite one field (1.3 set-field; 1.0 the `OFPAT_SET_*` action for it).
    SetField(Field),
    PushVlan,
    PopVlan,
    PushMpls,
    PopMpls,
    SetMplsTtl,
    DecMplsTtl,
    SetNwTtl,
    DecNwTtl,
    CopyTtlOut,
    CopyTtlIn,
    SetQueue,
}

/// Every non-set-field action case of 1.3.
pub(crate) const OTHERS13: &[ActionCase] = &[
    ActionCase::PushVlan,
    ActionCase::PopVlan,
    ActionCase::PushMpls,
    ActionCase::PopMpls,
    ActionCase::SetMplsTtl,
    ActionCase::DecMplsTtl,
    ActionCase::SetNwTtl,
    ActionCase::DecNwTtl,
    ActionCase::CopyTtlOut,
    ActionCase::CopyTtlIn,
    ActionCase::SetQueue,
];

/// The fields 1.0 has a set action for.
pub(crate) const SET10: &[Field] = &[
    Field::EthSrc,
    Field::EthDst,
    Field::VlanVid,
    Field::VlanPcp,
    Field::IpDscp,
    Field::Ipv4Src,
    Field::Ipv4Dst,
    Field::TcpSrc,
    Field::TcpDst,
    Field::UdpSrc,
    Field::UdpDst,
];

impl ActionCase {
    /// Case name (`set_field.ipv4_src`, `push_vlan`, ...).
    pub fn name(self) -> String {
        let s = match self {
            ActionCase::SetField(f) => return format!("set_field.{}", f.name()),
            ActionCase::PushVlan => "push_vlan",
            ActionCase::PopVlan => "pop_vlan",
            ActionCase::PushMpls => "push_mpls",
            ActionCase::PopMpls => "pop_mpls",
            ActionCase::SetMplsTtl => "set_mpls_ttl",
            ActionCase::DecMplsTtl => "dec_mpls_ttl",
            ActionCase::SetNwTtl => "set_nw_ttl",
            ActionCase::DecNwTtl => "dec_nw_ttl",
            ActionCase::CopyTtlOut => "copy_ttl_out",
            ActionCase::CopyTtlIn => "copy_ttl_in",
            ActionCase::SetQueue => "set_queue",
        };
        s.to_string()
    }

    /// The frame the case sends by default.
    pub fn default_input(self) -> Probe {
        match self {
            ActionCase::SetField(f) => f.base(),
            ActionCase::PopVlan => Probe::vlan(),
            ActionCase::PopMpls
            | ActionCase::SetMplsTtl
            | ActionCase::DecMplsTtl
            | ActionCase::CopyTtlOut
            | ActionCase::CopyTtlIn => Probe::mpls(),
            ActionCase::PushVlan
            | ActionCase::PushMpls
            | ActionCase::SetNwTtl
            | ActionCase::DecNwTtl
            | ActionCase::SetQueue => Probe::udp(),
        }
    }

    /// The frame of another carrier the action also applies to (set-field on any frame that has the
    /// field, push and pop VLAN on IPv4, IPv6 and ARP frames, the IP TTL actions on IPv6's hop limit); `None`
    /// when it is the default frame or the action does not apply to it. `v13` picks the match language
    /// that must express the set-field's prerequisites.
    pub fn input_on(self, c: Carrier, v13: bool) -> Option<Probe> {
        let input = match self {
            ActionCase::SetField(f) => c.probe(f, false, v13)?,
            ActionCase::PushVlan => c.plain()?,
            ActionCase::PopVlan => {
                let mut p = c.plain()?;
                p.vlan = Some((100, 3));
                p
            }
            ActionCase::SetNwTtl | ActionCase::DecNwTtl => {
                let p = c.plain()?;
                if matches!(p.l3, L3::Arp { .. }) {
                    return None;
                }
                p
            }
            _ => return None,
        };
        (input != self.default_input()).then_some(input)
    }

    /// Input probe, 1.3 actions (before the output) and expected probe, on the default frame.
    pub fn plan13(self, in_port: u32) -> Option<(Probe, Vec<v13::Action>, Probe)> {
        self.plan13_on(in_port, self.default_input())
    }

    /// The same on `input`: 1.3 actions (before the output) and expected probe.
    pub fn plan13_on(self, in_port: u32, input: Probe) -> Option<(Probe, Vec<v13::Action>, Probe)> {
        let set_ip_ttl = |p: &mut Probe, v: u8| match &mut p.l3 {
            L3::Ipv4 { ttl, .. } => *ttl = v,
            L3::Ipv6 { hlim, .. } => *hlim = v,
            L3::Arp { .. } => {}
        };
        let mut out = input.clone();
        let actions = match self {
            ActionCase::SetField(f) => {
                out = fields::vary(f, &input, true)?;
                vec![v13::Action::SetField(fields::oxm(f, &out, in_port, false)?)]
            }
            ActionCase::PushVlan => {
                if input.vlan.is_some() {
                    return None;
                }
                out.vlan = Some((200, 0));
                vec![
                    v13::Action::PushVlan { ethertype: 0x8100 },
                    v13::Action::SetField(OxmField::VlanVid {
                        value: 200 | OFPVID_PRESENT,
                        mask: None,
                    }),
                ]
            }
            ActionCase::PopVlan => {
                out.vlan.take()?;
                vec![v13::Action::PopVlan]
            }
            ActionCase::PushMpls => {
                if !input.mpls.is_empty() || !matches!(input.l3, L3::Ipv4 { .. }) {
                    return None;
                }
                out.mpls = vec![Mpls {
                    label: 77,
                    tc: 5,
                    ttl: 64,
                }];
                vec![
                    v13::Action::PushMpls { ethertype: 0x8847 },
                    v13::Action::SetField(OxmField::MplsLabel {
                        value: 77,
                        mask: None,
                    }),
                    v13::Action::SetField(OxmField::MplsTc { value: 5, mask: None }),
                ]
            }
            ActionCase::PopMpls => {
                if !matches!(input.l3, L3::Ipv4 { .. }) || out.mpls.len() != 1 {
                    return None;
                }
                out.mpls.clear();
                vec![v13::Action::PopMpls { ethertype: 0x0800 }]
            }
            ActionCase::SetMplsTtl | ActionCase::DecMplsTtl | ActionCase::CopyTtlOut => {
                let (action, ttl) = match self {
                    ActionCase::SetMplsTtl => (v13::Action::SetMplsTtl { mpls_ttl: 10 }, 10),
                    ActionCase::DecMplsTtl => (v13::Action::DecMplsTtl, 31),
                    _ => (v13::Action::CopyTtlOut, 64),
                };
                out.mpls.first_mut()?.ttl = ttl;
                vec![action]
            }
            ActionCase::CopyTtlIn => {
                out.mpls.first()?;
                set_ip_ttl(&mut out, 32);
                vec![v13::Action::CopyTtlIn]
            }
            ActionCase::SetNwTtl | ActionCase::DecNwTtl => {
                let (action, ttl) = if self == ActionCase::SetNwTtl {
                    (v13::Action::SetNwTtl { nw_ttl: 10 }, 10)
                } else {
                    (v13::Action::DecNwTtl, 63)
                };
                set_ip_ttl(&mut out, ttl);
                vec![action]
            }
            ActionCase::SetQueue => vec![v13::Action::SetQueue { queue_id: 1 }],
        };
        Some((input, actions, out))
    }

    /// Input probe, 1.0 actions (before the output) and expected probe, on the default frame.
    pub fn plan10(self) -> Option<(Probe, Vec<v10::Action>, Probe)> {
        self.plan10_on(self.default_input())
    }

    /// The same on `input`: 1.0 actions (before the output) and expected probe.
    pub fn plan10_on(self, input: Probe) -> Option<(Probe, Vec<v10::Action>, Probe)> {
        let ActionCase::SetField(f) = self else {
            return None;
        };
        let out = fields::vary(f, &input, true)?;
        let l4 = |p: &Probe, src: bool| -> Option<u16> {
            use super::probe::L4;
            match &p.l3 {
                L3::Ipv4 {
                    l4: L4::Tcp { sport, dport } | L4::Udp { sport, dport },
                    ..
                } => Some(if src { *sport } else { *dport }),
                _ => None,
            }
        };
        let action = match (f, &out.l3) {
            (Field::EthSrc, _) => v10::Action::SetDlSrc { dl_addr: out.eth_src },
            (Field::EthDst, _) => v10::Action::SetDlDst { dl_addr: out.eth_dst },
            (Field::VlanVid, _) => v10::Action::SetVlanVid {
                vlan_vid: out.vlan?.0,
            },
            (Field::VlanPcp, _) => v10::Action::SetVlanPcp {
                vlan_pcp: out.vlan?.1,
            },
            (Field::IpDscp, L3::Ipv4 { dscp, .. }) => v10::Action::SetNwTos { nw_tos: dscp << 2 },
            (Field::Ipv4Src, L3::Ipv4 { src, .. }) => v10::Action::SetNwSrc { nw_addr: *src },
            (Field::Ipv4Dst, L3::Ipv4 { dst, .. }) => v10::Action::SetNwDst { nw_addr: *dst },
            (Field::TcpSrc | Field::UdpSrc, _) => v10::Action::SetTpSrc {
                tp_port: l4(&out, true)?,
            },
            (Field::TcpDst | Field::UdpDst, _) => v10::Action::SetTpDst {
                tp_port: l4(&out, false)?,
            },
            _ => return None,
        };
        Some((input, vec![action], out))
    }
}

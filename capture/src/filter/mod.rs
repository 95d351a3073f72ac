//! Display filters: a small Wireshark-like language evaluated against a [`Dissection`].
//!
//! ```text
//! ip.src == 10.0.0.0/8 and not (tcp.port == 22 or arp)
//! frame.len >= 100 && vlan.id == 10
//! openflow.type == OFPT_FLOW_MOD
//! ```
//! - Fields are the names the decoders give (`ip.src`, `tcp.dstport`, `eth.type`, `vlan.id`, `openflow.type`,
//!   `frame.len` …); a protocol name alone (`arp`, `tcp`) tests that the layer is present, and so does a field
//!   alone. `ip.addr`, `ipv6.addr`, `eth.addr`, `tcp.port`, `udp.port` match either end.
//! - Comparisons: `== != < <= > >=` (or `eq ne lt le gt ge`); `and`/`&&`, `or`/`||`, `not`/`!`, parentheses.
//! - Values: numbers (decimal or `0x` hex), IPv4 and IPv6 addresses with an optional `/prefix`, MAC addresses,
//!   and names for numbered fields (`ip.proto == tcp`, `openflow.type == FLOW_MOD`).
//! - `==` holds when any occurrence of the field matches; `!=` when the field is present and no occurrence
//!   matches (so `ip.addr != 10.0.0.1` excludes packets to or from 10.0.0.1).
//!
//! A filter that does not parse gives a [`FilterError`] with the character position and what was expected.

mod eval;
mod fields;
mod parse;

use serde::Serialize;

use crate::decode::Dissection;

pub use fields::{field_kind, FieldKind};

/// Why a display filter does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message} (at character {position})")]
pub struct FilterError {
    /// Character position (0-based) where the problem is.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

/// A parsed display filter. The empty filter matches every packet.
#[derive(Debug, Clone, PartialEq)]
pub struct DisplayFilter {
    text: String,
    expr: Option<parse::Expr>,
}

impl DisplayFilter {
    /// Parses `text`.
    ///
    /// ```
    /// use twister_capture::DisplayFilter;
    /// assert!(DisplayFilter::parse("ip.src == 10.0.0.0/8 and not arp").is_ok());
    /// let err = DisplayFilter::parse("ip.src ==").unwrap_err();
    /// assert_eq!(err.position, 9);
    /// ```
    pub fn parse(text: &str) -> Result<DisplayFilter, FilterError> {
        let expr = parse::parse(text)?;
        Ok(DisplayFilter {
            text: text.to_string(),
            expr,
        })
    }

    /// The filter as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the filter is empty (matches everything).
    pub fn is_empty(&self) -> bool {
        self.expr.is_none()
    }

    /// Whether `packet` passes the filter.
    pub fn matches(&self, packet: &Dissection) -> bool {
        match &self.expr {
            None => true,
            Some(e) => eval::eval(e, packet),
        }
    }
}

#[cfg(test)]
mod tests;

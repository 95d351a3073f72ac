//! Tokenizer and recursive-descent parser of display filters.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::fields::{expand, field_kind, FieldKind};
use super::FilterError;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A value to compare with, already checked against the field's kind.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Literal {
    Uint(u64),
    /// A symbolic name for a numbered field (`tcp` for `ip.proto`), compared case-insensitively.
    Symbol(String),
    V4 {
        addr: u32,
        prefix: u8,
    },
    V6 {
        addr: u128,
        prefix: u8,
    },
    Mac([u8; 6]),
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// A layer or a field is present.
    Present {
        names: Vec<&'static str>,
        layer: bool,
    },
    Compare {
        names: Vec<&'static str>,
        op: CmpOp,
        value: Literal,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Op(CmpOp),
    Word(String),
    Str(String),
}

fn err(position: usize, message: impl Into<String>) -> FilterError {
    FilterError {
        position,
        message: message.into(),
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '/' | '_' | '-')
}

fn tokenize(text: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let tok = match (c, two.as_str()) {
            (c, _) if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('(', _) => Tok::LParen,
            (')', _) => Tok::RParen,
            (_, "==") => Tok::Op(CmpOp::Eq),
            (_, "!=") => Tok::Op(CmpOp::Ne),
            (_, "<=") => Tok::Op(CmpOp::Le),
            (_, ">=") => Tok::Op(CmpOp::Ge),
            (_, "&&") => Tok::And,
            (_, "||") => Tok::Or,
            ('<', _) => Tok::Op(CmpOp::Lt),
            ('>', _) => Tok::Op(CmpOp::Gt),
            ('!', _) => Tok::Not,
            ('=', _) => return Err(err(start, "'=' is not an operator; use '=='")),
            ('"', _) => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(err(start, "unterminated string")),
                        Some('"') => break,
                        Some('\\') => {
                            if let Some(&n) = chars.get(i + 1) {
                                s.push(n);
                            }
                            i += 2;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                i += 1;
                out.push((start, Tok::Str(s)));
                continue;
            }
            (c, _) if is_word_char(c) => {
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                let w: String = chars[start..i].iter().collect();
                let tok = match w.to_ascii_lowercase().as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "eq" => Tok::Op(CmpOp::Eq),
                    "ne" => Tok::Op(CmpOp::Ne),
                    "lt" => Tok::Op(CmpOp::Lt),
                    "le" => Tok::Op(CmpOp::Le),
                    "gt" => Tok::Op(CmpOp::Gt),
                    "ge" => Tok::Op(CmpOp::Ge),
                    _ => Tok::Word(w),
                };
                out.push((start, tok));
                continue;
            }
            (c, _) => return Err(err(start, format!("unexpected character '{c}'"))),
        };
        i += match tok {
            Tok::Op(CmpOp::Eq | CmpOp::Ne | CmpOp::Le | CmpOp::Ge) | Tok::And | Tok::Or => 2,
            _ => 1,
        };
        out.push((start, tok));
    }
    Ok(out)
}

/// Parses a whole filter; `None` for an empty (all-blank) filter.
pub(super) fn parse(text: &str) -> Result<Option<Expr>, FilterError> {
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Ok(None);
    }
    let mut p = Parser {
        toks,
        pos: 0,
        end: text.chars().count(),
        depth: 0,
    };
    let e = p.or()?;
    if let Some((at, t)) = p.toks.get(p.pos) {
        let what = match t {
            Tok::RParen => "unbalanced ')'".to_string(),
            _ => "expected 'and', 'or' or the end of the filter".to_string(),
        };
        return Err(err(*at, what));
    }
    Ok(Some(e))
}

/// Deepest nesting of parentheses and `not`s accepted (keeps recursion bounded on hostile input).
const MAX_DEPTH: usize = 64;

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map(|(p, _)| *p).unwrap_or(self.end)
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(self.at(), "filter nested too deeply"));
        }
        let r = self.unary_inner();
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self) -> Result<Expr, FilterError> {
        let at = self.at();
        match self.toks.get(self.pos).map(|(_, t)| t.clone()) {
            Some(Tok::Not) => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(err(
                        self.at(),
                        format!("expected ')' to close the '(' at character {at}"),
                    ));
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Word(name)) => {
                self.pos += 1;
                self.field_test(&name, at)
            }
            Some(Tok::Str(_)) => Err(err(at, "expected a field name, found a string")),
            Some(Tok::RParen) => Err(err(at, "expected a field name before ')'")),
            Some(Tok::Op(_)) => Err(err(at, "expected a field name before the operator")),
            Some(Tok::And) | Some(Tok::Or) => Err(err(at, "expected a field name before 'and'/'or'")),
            None => Err(err(at, "expected a field name or '(' at the end of the filter")),
        }
    }

    fn field_test(&mut self, name: &str, at: usize) -> Result<Expr, FilterError> {
        let Some(kind) = field_kind(name) else {
            return Err(err(at, format!("unknown field or protocol '{name}'")));
        };
        let names = expand(name);
        let Some(Tok::Op(op)) = self.peek().cloned() else {
            return Ok(Expr::Present {
                names,
                layer: kind == FieldKind::Layer,
            });
        };
        let op_at = self.at();
        self.pos += 1;
        if matches!(kind, FieldKind::Layer | FieldKind::Opaque) {
            return Err(err(
                op_at,
                format!("'{name}' has no value to compare; use it alone to test presence"),
            ));
        }
        let value_at = self.at();
        let raw = match self.toks.get(self.pos).map(|(_, t)| t.clone()) {
            Some(Tok::Word(w)) | Some(Tok::Str(w)) => w,
            _ => {
                return Err(err(
                    value_at,
                    format!("expected a value after the operator for '{name}'"),
                ))
            }
        };
        self.pos += 1;
        let value = literal(kind, &raw).ok_or_else(|| {
            let want = match kind {
                FieldKind::Uint => "a number or a name",
                FieldKind::Ipv4 => "an IPv4 address or network (10.0.0.0/8)",
                FieldKind::Ipv6 => "an IPv6 address or network (2001:db8::/32)",
                FieldKind::Mac => "a MAC address (aa:bb:cc:dd:ee:ff)",
                FieldKind::Layer | FieldKind::Opaque => "nothing",
            };
            err(value_at, format!("'{raw}' is not {want}, as '{name}' needs"))
        })?;
        let ordered = matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge);
        if ordered && !matches!(value, Literal::Uint(_)) {
            return Err(err(
                op_at,
                format!("'{name}' can only be compared with == or != to '{raw}'"),
            ));
        }
        Ok(Expr::Compare { names, op, value })
    }
}

fn parse_uint(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

fn split_prefix(s: &str, max: u8) -> Option<(&str, u8)> {
    match s.split_once('/') {
        None => Some((s, max)),
        Some((a, p)) => {
            let p: u8 = p.parse().ok()?;
            (p <= max).then_some((a, p))
        }
    }
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut m = [0u8; 6];
    for (slot, p) in m.iter_mut().zip(parts) {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *slot = u8::from_str_radix(p, 16).ok()?;
    }
    Some(m)
}

fn literal(kind: FieldKind, raw: &str) -> Option<Literal> {
    match kind {
        FieldKind::Uint => Some(match parse_uint(raw) {
            Some(n) => Literal::Uint(n),
            None if !raw.is_empty() => Literal::Symbol(raw.to_ascii_lowercase()),
            None => return None,
        }),
        FieldKind::Ipv4 => {
            let (a, prefix) = split_prefix(raw, 32)?;
            let addr: Ipv4Addr = a.parse().ok()?;
            Some(Literal::V4 {
                addr: u32::from(addr),
                prefix,
            })
        }
        FieldKind::Ipv6 => {
            let (a, prefix) = split_prefix(raw, 128)?;
            let addr: Ipv6Addr = a.parse().ok()?;
            Some(Literal::V6 {
                addr: u128::from(addr),
                prefix,
            })
        }
        FieldKind::Mac => parse_mac(raw).map(Literal::Mac),
        FieldKind::Layer | FieldKind::Opaque => None,
    }
}

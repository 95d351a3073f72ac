//! Evaluating a parsed filter against a dissection.

use super::parse::{CmpOp, Expr, Literal};
use crate::decode::{Dissection, Field, Value};

pub(super) fn eval(e: &Expr, d: &Dissection) -> bool {
    match e {
        Expr::And(a, b) => eval(a, d) && eval(b, d),
        Expr::Or(a, b) => eval(a, d) || eval(b, d),
        Expr::Not(a) => !eval(a, d),
        Expr::Present { names, layer: true } => names.iter().any(|n| d.has_layer(n)),
        Expr::Present { names, layer: false } => {
            let mut found = false;
            visit(d, names, &mut |_| found = true);
            found
        }
        Expr::Compare { names, op, value } => {
            let mut any = false;
            let mut any_eq = false;
            let mut any_match = false;
            visit(d, names, &mut |f| {
                any = true;
                if *op == CmpOp::Ne {
                    any_eq |= compare(f, CmpOp::Eq, value);
                } else {
                    any_match |= compare(f, *op, value);
                }
            });
            if *op == CmpOp::Ne {
                any && !any_eq
            } else {
                any_match
            }
        }
    }
}

/// Calls `f` on every field whose name is one of `names`.
fn visit(d: &Dissection, names: &[&'static str], f: &mut dyn FnMut(&Field)) {
    fn walk(field: &Field, names: &[&'static str], f: &mut dyn FnMut(&Field)) {
        if names.contains(&field.name.as_ref()) {
            f(field);
        }
        for c in &field.children {
            walk(c, names, f);
        }
    }
    for l in &d.layers {
        walk(l, names, f);
    }
}

fn mask(prefix: u8, bits: u32) -> u128 {
    if prefix == 0 {
        0
    } else {
        (u128::MAX << (bits - u32::from(prefix))) & (u128::MAX >> (128 - bits))
    }
}

/// The symbolic part of a display such as `Protocol: TCP (6)` (here `tcp`), lower-cased.
fn symbol(display: &str) -> String {
    let after = display.split_once(": ").map(|(_, v)| v).unwrap_or(display);
    let sym = after.split(" (").next().unwrap_or(after);
    sym.trim().to_ascii_lowercase()
}

fn compare(f: &Field, op: CmpOp, lit: &Literal) -> bool {
    match (&f.value, lit) {
        (Value::Uint(v), Literal::Uint(n)) => match op {
            CmpOp::Eq => v == n,
            CmpOp::Ne => v != n,
            CmpOp::Lt => v < n,
            CmpOp::Le => v <= n,
            CmpOp::Gt => v > n,
            CmpOp::Ge => v >= n,
        },
        (Value::Uint(_), Literal::Symbol(s)) => {
            let have = symbol(&f.display);
            let eq = have == *s || have.strip_prefix("ofpt_") == Some(s.as_str());
            match op {
                CmpOp::Eq => eq,
                CmpOp::Ne => !eq,
                _ => false,
            }
        }
        (Value::Ipv4(a), Literal::V4 { addr, prefix }) => {
            let m = mask(*prefix, 32);
            let eq = (u128::from(u32::from(*a)) & m) == (u128::from(*addr) & m);
            (op == CmpOp::Eq && eq) || (op == CmpOp::Ne && !eq)
        }
        (Value::Ipv6(a), Literal::V6 { addr, prefix }) => {
            let m = mask(*prefix, 128);
            let eq = (u128::from(*a) & m) == (addr & m);
            (op == CmpOp::Eq && eq) || (op == CmpOp::Ne && !eq)
        }
        (Value::Mac(a), Literal::Mac(b)) => (op == CmpOp::Eq && a == b) || (op == CmpOp::Ne && a != b),
        _ => false,
    }
}

//! Human durations for the CLI: `90`, `90s`, `30m`, `2h`, `1d`, `1h30m`.

/// Parses a duration into seconds. A bare number is seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    let mut any = false;
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(format!("{text:?}: unknown unit {c:?} (use s, m, h, d, w)")),
        };
        if num.is_empty() {
            return Err(format!("{text:?}: a unit needs a number before it"));
        }
        let n: u64 = num.parse().map_err(|_| format!("{text:?}: number too large"))?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("{text:?}: too long"))?;
        num.clear();
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(format!("{text:?}: end with a unit (s, m, h, d, w)"));
    }
    Ok(total)
}

/// Formats seconds compactly (`1h30m`, `45s`).
pub fn format_duration(secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forms() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("1h30").is_err());
        assert!(parse_duration("99999999999999999999w").is_err());
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(s in 0u64..10_000_000) {
            prop_assert_eq!(parse_duration(&format_duration(s)), Ok(s));
        }

        #[test]
        fn never_panics(t in "\\PC{0,20}") {
            let _ = parse_duration(&t);
        }
    }
}

//! Cron expressions with optional seconds, evaluated in an IANA time zone.
//!
//! Five fields (`min hour day month weekday`) or six with seconds first (`sec min hour day month weekday`), an
//! optional seventh for the year. Names (`MON-FRI`, `JAN`) are accepted; weekday numbers follow standard cron:
//! 0 or 7 = Sunday, 1 = Monday … 6 = Saturday (they become names before the `cron` crate, which counts
//! 1 = Sunday, sees them). Slots are computed in the zone, so `0 2 * * *` in `Europe/Paris` follows daylight
//! saving time.

use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A parsed expression in its time zone.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    schedule: cron::Schedule,
    tz: Tz,
}

/// Why an expression or a zone is refused.
#[derive(Debug, thiserror::Error)]
pub enum CronError {
    /// The expression does not parse.
    #[error("cron expression {expr:?}: {message}")]
    Expression {
        /// The expression.
        expr: String,
        /// Parser message.
        message: String,
    },
    /// The zone is not an IANA name.
    #[error("time zone {0:?} is not an IANA zone name such as UTC or Europe/Bucharest")]
    Zone(String),
}

impl CronSchedule {
    /// Parses `expr` for zone `tz`.
    pub fn parse(expr: &str, tz: &str) -> Result<CronSchedule, CronError> {
        let fields = expr.split_whitespace().count();
        let mut parts: Vec<String> = expr.split_whitespace().map(str::to_string).collect();
        if fields == 5 {
            parts.insert(0, "0".into());
        }
        let full = match fields {
            5..=7 => {
                parts[5] = weekday_names(&parts[5]).map_err(|message| CronError::Expression {
                    expr: expr.into(),
                    message,
                })?;
                parts.join(" ")
            }
            _ => {
                return Err(CronError::Expression {
                    expr: expr.into(),
                    message: format!(
                        "{fields} fields; expected 5 (min hour day month weekday) or 6 with seconds"
                    ),
                })
            }
        };
        let schedule = cron::Schedule::from_str(&full).map_err(|e| CronError::Expression {
            expr: expr.into(),
            message: e.to_string(),
        })?;
        let tz: Tz = tz.parse().map_err(|_| CronError::Zone(tz.into()))?;
        let probe = tz.from_utc_datetime(&Utc::now().naive_utc());
        if schedule.after(&probe).next().is_none() {
            return Err(CronError::Expression {
                expr: expr.into(),
                message: "it never fires again".into(),
            });
        }
        Ok(CronSchedule { schedule, tz })
    }

    /// The first slot strictly after `after_ms` (Unix ms), if any.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let t = DateTime::<Utc>::from_timestamp_millis(after_ms)?;
        self.schedule
            .after(&t.with_timezone(&self.tz))
            .next()
            .map(|d| d.timestamp_millis())
    }

    /// Slots in `(after_ms, until_ms]`, at most `limit` of them (oldest first), and whether there were more.
    pub fn slots_between(&self, after_ms: i64, until_ms: i64, limit: usize) -> (Vec<i64>, bool) {
        let mut out = Vec::new();
        let Some(t) = DateTime::<Utc>::from_timestamp_millis(after_ms) else {
            return (out, false);
        };
        for d in self.schedule.after(&t.with_timezone(&self.tz)) {
            let ms = d.timestamp_millis();
            if ms > until_ms {
                return (out, false);
            }
            if out.len() == limit {
                return (out, true);
            }
            out.push(ms);
        }
        (out, false)
    }
}

/// Standard cron weekday numbers (0 or 7 = Sunday, 1 = Monday … 6 = Saturday) as names, in one weekday field.
fn weekday_names(field: &str) -> Result<String, String> {
    const NAMES: [&str; 8] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
    let name = |t: &str| -> Result<String, String> {
        match t.parse::<usize>() {
            Ok(n) if n < NAMES.len() => Ok(NAMES[n].to_string()),
            Ok(n) => Err(format!("weekday {n} is out of range 0-7")),
            Err(_) => Ok(t.to_string()),
        }
    };
    let mut items = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        let with_step = |r: String| match step {
            Some(s) => format!("{r}/{s}"),
            None => r,
        };
        match range.split_once('-') {
            Some((a, b)) => {
                let (a_sun, b_sun) = (a == "0", b == "7");
                if (a_sun || b_sun) && step.is_some() {
                    return Err(format!("weekday range {range} with a step: write it with names"));
                }
                let from = if a_sun { "MON".to_string() } else { name(a)? };
                let to = if b_sun { "SAT".to_string() } else { name(b)? };
                if a_sun || b_sun {
                    items.push("SUN".to_string());
                }
                items.push(with_step(format!("{from}-{to}")));
            }
            None => items.push(with_step(name(range)?)),
        }
    }
    Ok(items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).expect("time").timestamp_millis()
    }

    #[test]
    fn five_and_six_fields() {
        let c = CronSchedule::parse("30 2 * * *", "UTC").expect("5 fields");
        assert_eq!(
            c.next_after(ms("2026-01-01T00:00:00Z")),
            Some(ms("2026-01-01T02:30:00Z"))
        );
        let c = CronSchedule::parse("*/10 * * * * *", "UTC").expect("6 fields");
        assert_eq!(
            c.next_after(ms("2026-01-01T00:00:01Z")),
            Some(ms("2026-01-01T00:00:10Z"))
        );
        let c = CronSchedule::parse("0 0 9 * * MON-FRI", "UTC").expect("names");
        // 2026-01-03 is a Saturday: next is Monday the 5th.
        assert_eq!(
            c.next_after(ms("2026-01-03T10:00:00Z")),
            Some(ms("2026-01-05T09:00:00Z"))
        );
    }

    #[test]
    fn weekday_numbers_are_standard_cron() {
        // 2026-01-03 is a Saturday; 2026-01-04 a Sunday; 2026-01-05 a Monday.
        let c = CronSchedule::parse("0 9 * * 1-5", "UTC").expect("weekdays");
        assert_eq!(
            c.next_after(ms("2026-01-03T10:00:00Z")),
            Some(ms("2026-01-05T09:00:00Z"))
        );
        for sunday in [
            "0 9 * * 0",
            "0 9 * * 7",
            "0 9 * * 0,6",
            "0 9 * * 6-7",
            "0 9 * * 0-3",
        ] {
            let c = CronSchedule::parse(sunday, "UTC").expect(sunday);
            assert_eq!(
                c.next_after(ms("2026-01-03T10:00:00Z")),
                Some(ms("2026-01-04T09:00:00Z")),
                "{sunday}"
            );
        }
        assert!(CronSchedule::parse("0 9 * * 8", "UTC").is_err());
        assert_eq!(weekday_names("*/2").expect("step"), "*/2");
        assert_eq!(weekday_names("MON-FRI").expect("names"), "MON-FRI");
    }

    #[test]
    fn follows_the_zone() {
        let c = CronSchedule::parse("0 2 * * *", "Europe/Bucharest").expect("zone");
        // UTC+2 in winter, UTC+3 in summer.
        assert_eq!(
            c.next_after(ms("2026-01-10T12:00:00Z")),
            Some(ms("2026-01-11T00:00:00Z"))
        );
        assert_eq!(
            c.next_after(ms("2026-07-10T12:00:00Z")),
            Some(ms("2026-07-10T23:00:00Z"))
        );
    }

    #[test]
    fn refuses_bad_input() {
        assert!(CronSchedule::parse("* * *", "UTC").is_err());
        assert!(CronSchedule::parse("61 * * * *", "UTC").is_err());
        assert!(CronSchedule::parse("* * * * *", "Mars/Olympus").is_err());
        assert!(CronSchedule::parse("0 0 0 1 1 * 2001", "UTC").is_err());
    }

    #[test]
    fn lists_slots() {
        let c = CronSchedule::parse("* * * * * *", "UTC").expect("every second");
        let (s, more) = c.slots_between(0, 3_500, 10);
        assert_eq!(s, vec![1_000, 2_000, 3_000]);
        assert!(!more);
        let (s, more) = c.slots_between(0, 100_000, 5);
        assert_eq!(s.len(), 5);
        assert!(more);
    }
}

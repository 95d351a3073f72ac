//! Cron expressions with optional seconds, evaluated in an IANA time zone.
//!
//! Five fields (`min hour day month weekday`) or six with seconds first (`sec min hour day month weekday`), an
//! optional seventh for the year. Names (`MON-FRI`, `JAN`) are accepted; weekday numbers count 1 = Sunday to
//! 7 = Saturday. Slots are computed in the zone, so `0 2 * * *` in `Europe/Paris` follows daylight saving time.

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
        let full = match fields {
            5 => format!("0 {}", expr.trim()),
            6 | 7 => expr.trim().to_string(),
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

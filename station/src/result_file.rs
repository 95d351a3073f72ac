//! The result file a test may write (`$TWISTER_RESULT_FILE`): its first line, `<status> [reason…]`, overrides
//! the status its exit code gives.

use twister_proto::TestStatus;

/// Statuses a test may report for itself.
pub const ALLOWED: [TestStatus; 6] = [
    TestStatus::Pass,
    TestStatus::Fail,
    TestStatus::Skipped,
    TestStatus::Aborted,
    TestStatus::Error,
    TestStatus::Timeout,
];

/// Parses the first line of a result file: `Ok(None)` when it is empty, `Err` with an explanation when the
/// status is not one of [`ALLOWED`].
pub fn parse(text: &str) -> Result<Option<(TestStatus, Option<String>)>, String> {
    let first = text.lines().next().unwrap_or("").trim();
    if first.is_empty() {
        return Ok(None);
    }
    let (word, rest) = match first.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (first, ""),
    };
    let status = word
        .to_ascii_lowercase()
        .parse::<TestStatus>()
        .ok()
        .filter(|s| ALLOWED.contains(s))
        .ok_or_else(|| {
            format!("result file status {word:?} is not one of pass, fail, skipped, aborted, error, timeout")
        })?;
    Ok(Some((status, (!rest.is_empty()).then(|| rest.to_string()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse("pass\n"), Ok(Some((TestStatus::Pass, None))));
        assert_eq!(
            parse("fail  link down on port 3\nmore\n"),
            Ok(Some((TestStatus::Fail, Some("link down on port 3".into()))))
        );
        assert_eq!(parse("SKIPPED no DUT").unwrap().unwrap().0, TestStatus::Skipped);
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("\n"), Ok(None));
        assert!(parse("running").is_err());
        assert!(parse("great").is_err());
    }
}

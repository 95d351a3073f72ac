//! Patterns to wait for: literal text or regular expressions.

use regex::Regex;

use crate::error::{Error, Result};

/// Something to wait for in a device's output.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// Exact text.
    Literal(String),
    /// A regular expression (Rust `regex` syntax; use `(?m)` for `^`/`$` at line boundaries).
    Regex(Regex),
}

/// Where a pattern was found and what it captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub start: usize,
    pub end: usize,
    pub captures: Vec<Option<String>>,
}

impl Pattern {
    /// A literal pattern.
    pub fn literal(text: impl Into<String>) -> Self {
        Pattern::Literal(text.into())
    }

    /// A regular-expression pattern.
    pub fn regex(re: &str) -> Result<Self> {
        Regex::new(re)
            .map(Pattern::Regex)
            .map_err(|source| Error::Pattern {
                pattern: re.to_string(),
                source,
            })
    }

    /// The pattern's text, for messages.
    pub fn describe(&self) -> String {
        match self {
            Pattern::Literal(s) => format!("{s:?}"),
            Pattern::Regex(r) => format!("/{}/", r.as_str()),
        }
    }

    /// Find the leftmost match in `hay` starting at byte `from` (a char boundary).
    pub(crate) fn find(&self, hay: &str, from: usize) -> Option<Found> {
        match self {
            Pattern::Literal(s) => hay[from..].find(s.as_str()).map(|i| Found {
                start: from + i,
                end: from + i + s.len(),
                captures: Vec::new(),
            }),
            Pattern::Regex(r) => r.captures_at(hay, from).and_then(|c| {
                let m = c.get(0)?;
                Some(Found {
                    start: m.start(),
                    end: m.end(),
                    captures: c
                        .iter()
                        .skip(1)
                        .map(|g| g.map(|g| g.as_str().to_string()))
                        .collect(),
                })
            }),
        }
    }
}

impl From<Regex> for Pattern {
    fn from(r: Regex) -> Self {
        Pattern::Regex(r)
    }
}

/// Descriptions of several patterns, for messages.
pub(crate) fn describe_all(patterns: &[&Pattern]) -> String {
    patterns
        .iter()
        .map(|p| p.describe())
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_regex() {
        let p = Pattern::literal("#");
        assert_eq!(p.find("R1#", 0).map(|f| f.start), Some(2));
        let r = Pattern::regex(r"(\w+)(\(config\))?#\s*$").unwrap();
        let f = r.find("x\nR1(config)# ", 0).unwrap();
        assert_eq!(f.captures, vec![Some("R1".into()), Some("(config)".into())]);
        assert!(Pattern::regex("(").is_err());
        assert_eq!(r.describe(), r"/(\w+)(\(config\))?#\s*$/");
    }
}

//! Printing: aligned tables for people, JSON for scripts (`--json`).

use serde::Serialize;

/// Prints `value` as pretty JSON on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot encode output: {e}"),
    }
}

/// A table with a header row, printed with columns aligned.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders the table (no trailing spaces).
    pub fn render(&self) -> String {
        let cols = self.header.len();
        let mut width = vec![0usize; cols];
        for r in std::iter::once(&self.header).chain(self.rows.iter()) {
            for (i, c) in r.iter().enumerate().take(cols) {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        for r in std::iter::once(&self.header).chain(self.rows.iter()) {
            let mut line = String::new();
            for (i, c) in r.iter().enumerate().take(cols) {
                if i + 1 < cols {
                    line.push_str(c);
                    line.push_str(&" ".repeat(width[i] - c.chars().count() + 2));
                } else {
                    line.push_str(c);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Prints the table, or `empty` when it has no rows.
    pub fn print(&self, empty: &str) {
        if self.rows.is_empty() {
            println!("{empty}");
        } else {
            print!("{}", self.render());
        }
    }
}

/// A JSON value as table text: strings as they are, null as empty, arrays of strings joined with ", ", anything
/// else as JSON.
pub fn cell(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(a) if a.iter().all(Value::is_string) => {
            a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

/// Shortens an RFC 3339 time to `YYYY-MM-DD HH:MM:SS` (UTC) for tables.
pub fn time(t: &str) -> String {
    let s = t.replace('T', " ");
    let s = s.trim_end_matches('Z');
    s.split('.').next().unwrap_or(s).chars().take(19).collect()
}

/// A time or `-`.
pub fn opt_time(t: &Option<String>) -> String {
    t.as_deref().map(time).unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_as_text() {
        use serde_json::json;
        assert_eq!(cell(&json!("a b")), "a b");
        assert_eq!(cell(&json!(null)), "");
        assert_eq!(cell(&json!(["run.start", "run.end"])), "run.start, run.end");
        assert_eq!(cell(&json!([1, 2])), "[1,2]");
        assert_eq!(cell(&json!(true)), "true");
    }

    #[test]
    fn columns_align() {
        let mut t = Table::new(&["A", "LONGER"]);
        t.row(vec!["wide cell".into(), "x".into()]);
        assert_eq!(t.render(), "A          LONGER\nwide cell  x\n");
    }

    #[test]
    fn times_are_shortened() {
        assert_eq!(time("2026-11-25T14:00:07.123Z"), "2026-11-25 14:00:07");
        assert_eq!(time("2026-11-25T14:00:07Z"), "2026-11-25 14:00:07");
    }
}

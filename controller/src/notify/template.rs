//! Subject and body templates: `{name}` (and the original Twister's `$name`) replaced by a run's variables.
//!
//! Unknown names are left as written, so a typo shows in the mail instead of vanishing.

use std::collections::BTreeMap;

/// Fills `template` from `vars`: `{name}` and `$name` (names of letters, digits, `_`, `.` and `-`).
///
/// ```
/// # use std::collections::BTreeMap;
/// let mut v = BTreeMap::new();
/// v.insert("build_id".to_string(), "15".to_string());
/// assert_eq!(twister_controller::notify::template::fill("B{build_id} $build_id {x}", &v), "B15 15 {x}");
/// ```
pub fn fill(template: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(pos) = rest.find(['{', '$']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let braced = tail.starts_with('{');
        let body = &tail[1..];
        let name_len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'))
            .unwrap_or(body.len());
        let name = &body[..name_len];
        let closed = !braced || body[name_len..].starts_with('}');
        match vars.get(name) {
            Some(value) if !name.is_empty() && closed => {
                out.push_str(value);
                rest = &body[name_len + usize::from(braced)..];
            }
            _ => {
                out.push_str(&tail[..1]);
                rest = body;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A subject line: control characters (line breaks that could start a new header) become spaces.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [
            ("release_id", "2"),
            ("build_id", "15"),
            ("suite", "Branch Test1"),
            ("date", "2012.03.23 13:24"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn fills_both_syntaxes() {
        assert_eq!(
            fill(
                "E-mail report for R{release_id} B{build_id} - {suite} [{date}]",
                &vars()
            ),
            "E-mail report for R2 B15 - Branch Test1 [2012.03.23 13:24]"
        );
        assert_eq!(
            fill("Report for $release_id $build_id [$date]", &vars()),
            "Report for 2 15 [2012.03.23 13:24]"
        );
    }

    #[test]
    fn leaves_unknown_and_broken() {
        assert_eq!(
            fill("{nope} {build_id $ $x { {", &vars()),
            "{nope} {build_id $ $x { {"
        );
        assert_eq!(fill("cost: $5 {}", &vars()), "cost: $5 {}");
        assert_eq!(fill("", &vars()), "");
        assert_eq!(fill("ünï{build_id}ç", &vars()), "ünï15ç");
    }

    #[test]
    fn escapes() {
        assert_eq!(
            html_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(one_line("a\r\nBcc: x\tb"), "a  Bcc: x b");
    }
}

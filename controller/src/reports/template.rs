//! SQL templates of the original db.xml (`$variable` and `@field@` placeholders) turned into statements with
//! bound parameters. The original pasted values into the SQL text, so a test's reason or a report parameter
//! could inject SQL; here every placeholder becomes `$N` and its value is bound, never pasted.
//!
//! The tokenizer knows SQL string literals (`'...'` with `''` escapes), quoted identifiers, and comments:
//! - a literal that is exactly one placeholder (`'$twister_tc_status'`) becomes one text parameter;
//! - a literal mixing text and placeholders (`'@Release@%'`, `'$release.$build'`) becomes a concatenation
//!   (`($1 || '%')`) of parameters and the literal's own text;
//! - a placeholder outside literals becomes a parameter bound as a number when its value is one;
//! - identifiers in double quotes and comments are copied untouched.
//!
//! Parameters are written for the target's [`Dialect`]: `$N` for PostgreSQL and SQLite, `?` for MySQL and
//! MariaDB (each placeholder is its own parameter, numbered in order of appearance, so `?` binds the same
//! values in the same order). Concatenation stays `||`: the report database's MySQL connections run with
//! `PIPES_AS_CONCAT` (see `reports::mysql`).
//!
//! ```
//! use twister_controller::reports::template::{Template, PlaceholderKind};
//! let t = Template::parse("SELECT * FROM r WHERE build LIKE '@Release@%' AND n > $limit").unwrap();
//! assert_eq!(t.sql, "SELECT * FROM r WHERE build LIKE ($1 || '%') AND n > $2");
//! assert_eq!(t.placeholders[0].kind, PlaceholderKind::Field);
//! assert!(t.placeholders[0].quoted && !t.placeholders[1].quoted);
//! ```

/// How the target database writes bound parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `$1`, `$2`, … (PostgreSQL, SQLite).
    Numbered,
    /// `?` in order, and `#` starts a comment (MySQL, MariaDB).
    MySql,
}

impl Dialect {
    fn param(self, n: usize) -> String {
        match self {
            Dialect::Numbered => format!("${n}"),
            Dialect::MySql => "?".to_string(),
        }
    }
}

/// What a placeholder names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceholderKind {
    /// `$name`: a run variable (`$twister_tc_status`) or a suite field value (`$build_id`).
    Variable,
    /// `@name@`: a DbSelect field (inserts) or a report field chosen by the user (reports).
    Field,
}

/// One parameter of a template, in `$N` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// Variable or field.
    pub kind: PlaceholderKind,
    /// Name without `$` or `@`.
    pub name: String,
    /// Written inside a string literal: always bound as text.
    pub quoted: bool,
}

/// A parsed template: SQL with `$1..$N` and what each parameter stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The statement with numbered parameters.
    pub sql: String,
    /// Parameter `$i+1` is `placeholders[i]`.
    pub placeholders: Vec<Placeholder>,
    /// Nothing but white space follows a `;` (one statement).
    pub single_statement: bool,
    /// Identifiers and key words outside literals and comments, lower-cased (quoted identifiers unquoted).
    pub words: Vec<String>,
}

/// A template that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A string literal, quoted identifier or comment never ends.
    #[error("unterminated {0} in SQL")]
    Unterminated(&'static str),
    /// `$` followed by a digit: positional parameters are not allowed in templates.
    #[error("positional parameter ${0} in SQL: use $name or @name@ placeholders")]
    Positional(String),
}

/// A value bound to a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum BoundValue {
    /// Text.
    Text(String),
    /// Integer (unquoted placeholders whose value is one).
    Int(i64),
    /// Real number (unquoted placeholders whose value is one).
    Real(f64),
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}
fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}
fn is_field_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// A placeholder starting at `chars[i]`, with the index just after it.
fn placeholder_at(
    chars: &[char],
    i: usize,
) -> Result<Option<(PlaceholderKind, String, usize)>, TemplateError> {
    match chars[i] {
        '$' => {
            let next = chars.get(i + 1).copied();
            if next.is_some_and(|c| c.is_ascii_digit()) {
                let digits: String = chars[i + 1..].iter().take_while(|c| c.is_ascii_digit()).collect();
                return Err(TemplateError::Positional(digits));
            }
            if !next.is_some_and(is_ident_start) {
                return Ok(None);
            }
            let mut j = i + 1;
            while j < chars.len() && is_ident(chars[j]) {
                j += 1;
            }
            Ok(Some((
                PlaceholderKind::Variable,
                chars[i + 1..j].iter().collect(),
                j,
            )))
        }
        '@' => {
            let mut j = i + 1;
            while j < chars.len() && is_field_char(chars[j]) {
                j += 1;
            }
            if j > i + 1 && chars.get(j) == Some(&'@') {
                Ok(Some((
                    PlaceholderKind::Field,
                    chars[i + 1..j].iter().collect(),
                    j + 1,
                )))
            } else {
                Ok(None)
            }
        }
        _ => Ok(None),
    }
}

impl Template {
    /// Parses `sql` with `$N` parameters, numbering placeholders in order of appearance.
    pub fn parse(sql: &str) -> Result<Template, TemplateError> {
        Template::parse_for(sql, Dialect::Numbered)
    }

    /// Parses `sql` with the parameters of `dialect`.
    pub fn parse_for(sql: &str, dialect: Dialect) -> Result<Template, TemplateError> {
        let chars: Vec<char> = sql.chars().collect();
        let mut out = String::with_capacity(sql.len() + 16);
        let mut placeholders: Vec<Placeholder> = Vec::new();
        let mut i = 0;
        let mut after_semicolon = false;
        let mut words: Vec<String> = Vec::new();
        let mut single_statement = true;
        while i < chars.len() {
            let c = chars[i];
            if c == ';' {
                after_semicolon = true;
            } else if after_semicolon && !c.is_whitespace() {
                single_statement = false;
            }
            match c {
                '\'' => {
                    // Collect the literal's content, then rewrite it.
                    let mut content = Vec::new();
                    let mut j = i + 1;
                    loop {
                        match chars.get(j) {
                            None => return Err(TemplateError::Unterminated("string literal")),
                            Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                                content.push('\'');
                                j += 2;
                            }
                            Some('\'') => break,
                            Some(&ch) => {
                                content.push(ch);
                                j += 1;
                            }
                        }
                    }
                    i = j + 1;
                    out.push_str(&rewrite_literal(&content, &mut placeholders, dialect)?);
                }
                '"' | '`' => {
                    let end = chars[i + 1..]
                        .iter()
                        .position(|&x| x == c)
                        .ok_or(TemplateError::Unterminated("quoted identifier"))?;
                    out.extend(&chars[i..i + end + 2]);
                    words.push(
                        chars[i + 1..i + 1 + end]
                            .iter()
                            .collect::<String>()
                            .to_lowercase(),
                    );
                    i += end + 2;
                }
                // A line comment: `-- …`, and `# …` on MySQL.
                c if (c == '-' && chars.get(i + 1) == Some(&'-'))
                    || (c == '#' && dialect == Dialect::MySql) =>
                {
                    let end = chars[i..]
                        .iter()
                        .position(|&x| x == '\n')
                        .map_or(chars.len(), |p| i + p);
                    out.extend(&chars[i..end]);
                    i = end;
                }
                '/' if chars.get(i + 1) == Some(&'*') => {
                    let rest: String = chars[i + 2..].iter().collect();
                    let end = rest.find("*/").ok_or(TemplateError::Unterminated("comment"))?;
                    let n = rest[..end].chars().count();
                    out.extend(&chars[i..i + 2 + n + 2]);
                    i += 2 + n + 2;
                }
                '$' | '@' => match placeholder_at(&chars, i)? {
                    Some((kind, name, next)) => {
                        placeholders.push(Placeholder {
                            kind,
                            name,
                            quoted: false,
                        });
                        out.push_str(&dialect.param(placeholders.len()));
                        i = next;
                    }
                    None => {
                        out.push(c);
                        i += 1;
                    }
                },
                c if is_ident_start(c) => {
                    let mut j = i;
                    while j < chars.len() && is_ident(chars[j]) {
                        j += 1;
                    }
                    let word: String = chars[i..j].iter().collect();
                    out.push_str(&word);
                    words.push(word.to_lowercase());
                    i = j;
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        Ok(Template {
            sql: out,
            placeholders,
            single_statement,
            words,
        })
    }

    /// Binds values: `value(placeholder)` gives each one's text (or `None` when unknown, which fails with
    /// that placeholder). Quoted placeholders are text; unquoted ones are numbers when their text is one.
    pub fn bind_values<E>(
        &self,
        mut value: impl FnMut(&Placeholder) -> Result<String, E>,
    ) -> Result<Vec<BoundValue>, E> {
        let mut out = Vec::with_capacity(self.placeholders.len());
        for p in &self.placeholders {
            let v = value(p)?;
            out.push(if p.quoted {
                BoundValue::Text(v)
            } else if let Ok(n) = v.trim().parse::<i64>() {
                BoundValue::Int(n)
            } else if let Some(f) = v.trim().parse::<f64>().ok().filter(|f| f.is_finite()) {
                BoundValue::Real(f)
            } else {
                BoundValue::Text(v)
            });
        }
        Ok(out)
    }

    /// Distinct names of the `@field@` placeholders, in order of first appearance.
    pub fn fields(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in &self.placeholders {
            if p.kind == PlaceholderKind::Field && !out.contains(&p.name) {
                out.push(p.name.clone());
            }
        }
        out
    }
}

/// A query with its parameters bound in order.
pub fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    values: &'q [BoundValue],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for v in values {
        q = match v {
            BoundValue::Text(s) => q.bind(s.as_str()),
            BoundValue::Int(n) => q.bind(*n),
            BoundValue::Real(f) => q.bind(*f),
        };
    }
    q
}

fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Rewrites one string literal's content: unchanged without placeholders, one parameter when it is exactly
/// one placeholder, a concatenation otherwise.
fn rewrite_literal(
    content: &[char],
    placeholders: &mut Vec<Placeholder>,
    dialect: Dialect,
) -> Result<String, TemplateError> {
    let mut parts: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut any = false;
    let mut i = 0;
    while i < content.len() {
        let found = if matches!(content[i], '$' | '@') {
            // Inside a literal a `$1` is just text.
            match placeholder_at(content, i) {
                Ok(p) => p,
                Err(TemplateError::Positional(_)) => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        match found {
            Some((kind, name, next)) => {
                any = true;
                if !text.is_empty() {
                    parts.push(quote_literal(&std::mem::take(&mut text)));
                }
                placeholders.push(Placeholder {
                    kind,
                    name,
                    quoted: true,
                });
                parts.push(dialect.param(placeholders.len()));
                i = next;
            }
            None => {
                text.push(content[i]);
                i += 1;
            }
        }
    }
    if !any {
        return Ok(quote_literal(&text));
    }
    if !text.is_empty() {
        parts.push(quote_literal(&text));
    }
    if parts.len() == 1 {
        Ok(parts.remove(0))
    } else {
        Ok(format!("({})", parts.join(" || ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_identifiers_and_comments() {
        let t = Template::parse(
            "INSERT INTO t VALUES ('$twister_suite_name', '$release.$build', @res_id@, $build_id, \
             'it''s $x', \"$col\", 'plain') -- $not_me\n/* @nor_me@ */",
        )
        .unwrap();
        assert_eq!(
            t.sql,
            "INSERT INTO t VALUES ($1, ($2 || '.' || $3), $4, $5, ('it''s ' || $6), \"$col\", 'plain') \
             -- $not_me\n/* @nor_me@ */"
        );
        let names: Vec<&str> = t.placeholders.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "twister_suite_name",
                "release",
                "build",
                "res_id",
                "build_id",
                "x"
            ]
        );
        assert_eq!(t.placeholders[3].kind, PlaceholderKind::Field);
        assert!(!t.placeholders[4].quoted);
    }

    #[test]
    fn values_never_reach_the_sql_text() {
        let t = Template::parse("SELECT * FROM r WHERE reason = '$reason' AND n = @N@").unwrap();
        let evil = "x'; DROP TABLE r; --";
        let vals = t
            .bind_values(|p| Ok::<_, ()>(if p.name == "N" { "42".into() } else { evil.into() }))
            .unwrap();
        assert_eq!(vals, [BoundValue::Text(evil.into()), BoundValue::Int(42)]);
        assert!(!t.sql.contains("DROP"));
        assert_eq!(t.fields(), ["N"]);
    }

    #[test]
    fn mysql_parameters_are_question_marks_in_order() {
        let t = Template::parse_for(
            "SELECT 'a?$x' FROM r WHERE b LIKE '@B@%' AND n = $n # $not_me 'x\n AND m = @M@",
            Dialect::MySql,
        )
        .unwrap();
        assert_eq!(
            t.sql,
            "SELECT ('a?' || ?) FROM r WHERE b LIKE (? || '%') AND n = ? # $not_me 'x\n AND m = ?"
        );
        let names: Vec<&str> = t.placeholders.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["x", "B", "n", "M"]);
        // Outside MySQL a `#` is no comment.
        assert!(Template::parse("SELECT 1 # 'open").is_err());
    }

    #[test]
    fn odd_input() {
        assert!(Template::parse("SELECT 'open").is_err());
        assert!(Template::parse("SELECT $1").is_err());
        assert_eq!(
            Template::parse("SELECT '$1', a@b, $ x, '@'").unwrap().sql,
            "SELECT '$1', a@b, $ x, '@'"
        );
        assert_eq!(Template::parse("SELECT '@a@'").unwrap().sql, "SELECT $1");
        assert!(Template::parse("SELECT 1 ;  ").unwrap().single_statement);
        assert!(
            !Template::parse("SELECT 1; DELETE FROM x")
                .unwrap()
                .single_statement
        );
    }
}

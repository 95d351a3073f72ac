//! Import of the original `db.xml`: the field section, the insert section and the reports section (fields,
//! reports, redirects) become a [`ReportConfig`]. The original's MySQL connection settings are not carried
//! over (set `database_url`); the import says so in its notes.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::config::{
    FieldKind, Redirect, ReportConfig, ReportDef, ReportField, ReportFieldKind, ReportKind, SuiteField,
};

/// A db.xml that cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum DbXmlError {
    /// Not well-formed XML.
    #[error("db.xml is not well-formed near byte {at}: {message}")]
    Syntax {
        /// Byte offset.
        at: u64,
        /// What the parser said.
        message: String,
    },
    /// An element lacks something it needs or has a value the importer does not know.
    #[error("db.xml: {0}")]
    Invalid(String),
}

fn attrs(tag: &BytesStart<'_>) -> Result<Vec<(String, String)>, DbXmlError> {
    let mut out = Vec::new();
    for a in tag.attributes() {
        let a = a.map_err(|e| DbXmlError::Invalid(e.to_string()))?;
        let key = String::from_utf8_lossy(a.key.as_ref()).to_ascii_lowercase();
        let value = a
            .unescape_value()
            .map_err(|e| DbXmlError::Invalid(e.to_string()))?
            .into_owned();
        out.push((key, value));
    }
    Ok(out)
}

fn get(a: &[(String, String)], key: &str) -> String {
    a.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn flag(a: &[(String, String)], key: &str) -> bool {
    matches!(
        get(a, key).trim().to_ascii_lowercase().as_str(),
        "true" | "yes" | "1"
    )
}

fn required(a: &[(String, String)], key: &str, what: &str) -> Result<String, DbXmlError> {
    let v = get(a, key);
    if v.trim().is_empty() {
        return Err(DbXmlError::Invalid(format!("a {what} has no {key} attribute")));
    }
    Ok(v)
}

/// Parses db.xml; returns the configuration and notes about what was not carried over.
pub fn parse(src: &str) -> Result<(ReportConfig, Vec<String>), DbXmlError> {
    let mut reader = Reader::from_str(src);
    let mut config = ReportConfig::default();
    let mut notes = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    loop {
        let event = reader.read_event().map_err(|e| DbXmlError::Syntax {
            at: reader.error_position(),
            message: e.to_string(),
        })?;
        let (event, is_start) = match event {
            Event::Start(tag) => (Event::Empty(tag), true),
            other => (other, false),
        };
        match event {
            Event::Empty(tag) => {
                let name = String::from_utf8_lossy(tag.name().as_ref()).to_ascii_lowercase();
                let a = attrs(&tag)?;
                let section = path.last().map(String::as_str).unwrap_or("");
                match (section, name.as_str()) {
                    ("field_section", "field") => {
                        let kind = match get(&a, "type").as_str() {
                            "UserSelect" => FieldKind::UserSelect,
                            "DbSelect" => FieldKind::DbSelect,
                            "UserText" => FieldKind::UserText,
                            "UserScript" => FieldKind::UserScript,
                            other => {
                                return Err(DbXmlError::Invalid(format!("field type {other:?}")));
                            }
                        };
                        config.fields.push(SuiteField {
                            id: required(&a, "id", "field")?,
                            kind,
                            sql_query: get(&a, "sqlquery"),
                            label: get(&a, "label"),
                            gui_defined: flag(&a, "guidefined"),
                            mandatory: flag(&a, "mandatory"),
                        });
                    }
                    ("reports_section", "field") => {
                        let kind = match get(&a, "type").as_str() {
                            "UserSelect" => ReportFieldKind::UserSelect,
                            "UserText" => ReportFieldKind::UserText,
                            other => {
                                return Err(DbXmlError::Invalid(format!("report field type {other:?}")));
                            }
                        };
                        config.report_fields.push(ReportField {
                            id: required(&a, "id", "report field")?,
                            kind,
                            sql_query: get(&a, "sqlquery"),
                            label: get(&a, "label"),
                            default: None,
                        });
                    }
                    ("reports_section", "report") => {
                        let kind = match get(&a, "type").as_str() {
                            "Table" => ReportKind::Table,
                            "PieChart" => ReportKind::PieChart,
                            "BarChart" => ReportKind::BarChart,
                            "LineChart" => ReportKind::LineChart,
                            other => return Err(DbXmlError::Invalid(format!("report type {other:?}"))),
                        };
                        let opt = |k: &str| Some(get(&a, k)).filter(|s| !s.trim().is_empty());
                        config.reports.push(ReportDef {
                            id: required(&a, "id", "report")?,
                            kind,
                            sql_query: required(&a, "sqlquery", "report")?,
                            sql_total: opt("sqltotal"),
                            sql_compare: opt("sqlcompare"),
                            description: String::new(),
                        });
                    }
                    ("reports_section", "redirect") => config.redirects.push(Redirect {
                        id: required(&a, "id", "redirect")?,
                        path: required(&a, "path", "redirect")?,
                    }),
                    (_, "db_config") => notes.push(
                        "db_config (the original MySQL server) is not imported: set database_url, or leave \
                         it empty to use the controller's database"
                            .into(),
                    ),
                    _ => {}
                }
                if is_start {
                    path.push(name);
                    text.clear();
                }
            }
            Event::End(tag) => {
                let name = String::from_utf8_lossy(tag.name().as_ref()).to_ascii_lowercase();
                if name == "sql_statement" {
                    let sql = text.trim().to_string();
                    if !sql.is_empty() {
                        config.inserts.push(sql);
                    }
                }
                if path.last() == Some(&name) {
                    path.pop();
                }
                text.clear();
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| DbXmlError::Invalid(e.to_string()))?;
                text.push_str(&s);
            }
            Event::CData(c) => text.push_str(&String::from_utf8_lossy(&c.into_inner())),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok((config, notes))
}

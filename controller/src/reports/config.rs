//! The reporting configuration, the native form of the original db.xml: suite fields, the insert statements
//! run for every saved test, report fields, reports and redirects, and the database they use.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scripts::UserScripts;
use super::template::Template;
use crate::api::error::ApiError;
use crate::execution::Project;
use crate::secrets::SecretBox;
use crate::store::{self, Store, StoreError};

/// Kinds of suite field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum FieldKind {
    /// The user picks one value from the field's query.
    UserSelect,
    /// Its query runs at insert time; not shown to users (referenced as `@id@`).
    DbSelect,
    /// Free text.
    UserText,
    /// What a script prints when results are saved (`sql_query` is its path under the report scripts
    /// directory); not asked of users.
    UserScript,
}

/// A suite field (the original "field section").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuiteField {
    /// Unique id; suites store their value under it.
    pub id: String,
    /// Kind.
    pub kind: FieldKind,
    /// Query giving the choices (UserSelect) or the value (DbSelect); the script's path (UserScript).
    #[serde(default)]
    pub sql_query: String,
    /// Label shown in the interface.
    #[serde(default)]
    pub label: String,
    /// Defined in the interface rather than per suite.
    #[serde(default)]
    pub gui_defined: bool,
    /// Every suite must have a value before a project is saved or run.
    #[serde(default)]
    pub mandatory: bool,
}

/// Kinds of report field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ReportFieldKind {
    /// One value chosen from the field's query.
    UserSelect,
    /// Free text.
    UserText,
}

/// A field of the reports section: a value the user chooses before a report shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportField {
    /// Unique id, used as `@id@` in report queries.
    pub id: String,
    /// Kind.
    pub kind: ReportFieldKind,
    /// Query giving the choices (first column the value, second an optional label).
    #[serde(default)]
    pub sql_query: String,
    /// Label.
    #[serde(default)]
    pub label: String,
    /// Value used when the user gives none (none: the field is required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// How a report is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ReportKind {
    /// Interactive table.
    Table,
    /// Pie chart (first column label, second value) and its table.
    PieChart,
    /// Bar chart and its table.
    BarChart,
    /// Line chart and its table.
    LineChart,
}

/// A report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportDef {
    /// Unique id (its name).
    pub id: String,
    /// Kind.
    pub kind: ReportKind,
    /// The query.
    pub sql_query: String,
    /// A query of totals: the report shows the main query's values as percentages of these (matched on the
    /// first column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_total: Option<String>,
    /// A query shown side by side with the main one (its fields may take other values: `cmp.Field`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_compare: Option<String>,
    /// What it shows.
    #[serde(default)]
    pub description: String,
}

impl ReportDef {
    /// Its queries: the main one, then SQLTotal and SQLCompare when it has them.
    pub fn queries(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.sql_query)
            .chain(self.sql_total.iter())
            .chain(self.sql_compare.iter())
    }
}

/// A link to another page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redirect {
    /// Unique id.
    pub id: String,
    /// URL.
    pub path: String,
}

/// The whole reporting configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// Database for inserts and configured reports (`postgres://…`, `mysql://…`, `mariadb://…` or
    /// `sqlite://…`); none: the controller's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Time limit of a report query, seconds (default 10).
    pub query_timeout_s: Option<u64>,
    /// Suite fields.
    pub fields: Vec<SuiteField>,
    /// Statements run for every saved test at the end of a run, in one transaction.
    pub inserts: Vec<String>,
    /// Report fields.
    pub report_fields: Vec<ReportField>,
    /// Reports.
    pub reports: Vec<ReportDef>,
    /// Redirects.
    pub redirects: Vec<Redirect>,
}

fn check_id(what: &str, id: &str) -> Result<(), ApiError> {
    if id.trim().is_empty() || id.len() > 200 || id.chars().any(char::is_control) || id.contains('/') {
        return Err(ApiError::invalid(format!(
            "{what} id {id:?}: 1-200 characters, no control characters or '/'"
        )));
    }
    Ok(())
}

fn check_sql(what: &str, sql: &str) -> Result<(), ApiError> {
    if sql.len() > 64 * 1024 {
        return Err(ApiError::invalid(format!("{what}: SQL longer than 64 KiB")));
    }
    Template::parse(sql).map_err(|e| ApiError::invalid(format!("{what}: {e}")))?;
    Ok(())
}

impl ReportConfig {
    /// Checks ids, URLs and that every SQL template parses; a problem is a 422 naming its place.
    pub fn validate(&self) -> Result<(), ApiError> {
        if let Some(url) = &self.database_url {
            let ok = [
                "postgres://",
                "postgresql://",
                "mysql://",
                "mariadb://",
                "sqlite:",
            ]
            .iter()
            .any(|p| url.starts_with(p));
            if !ok {
                return Err(ApiError::invalid(
                    "database_url: postgres://…, mysql://…, mariadb://… or sqlite://… (or none for the \
                     controller's database)",
                ));
            }
        }
        if self.query_timeout_s.is_some_and(|t| t == 0 || t > 3600) {
            return Err(ApiError::invalid("query_timeout_s: 1 to 3600"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for f in &self.fields {
            check_id("field", &f.id)?;
            if !seen.insert(("f", f.id.clone())) {
                return Err(ApiError::invalid(format!("two fields with id {:?}", f.id)));
            }
            if f.kind != FieldKind::UserScript {
                check_sql(&format!("field {}", f.id), &f.sql_query)?;
            }
        }
        for (i, s) in self.inserts.iter().enumerate() {
            check_sql(&format!("insert {}", i + 1), s)?;
        }
        for f in &self.report_fields {
            check_id("report field", &f.id)?;
            if !seen.insert(("rf", f.id.clone())) {
                return Err(ApiError::invalid(format!("two report fields with id {:?}", f.id)));
            }
            check_sql(&format!("report field {}", f.id), &f.sql_query)?;
        }
        for r in &self.reports {
            check_id("report", &r.id)?;
            if super::builtin::find(&r.id).is_some() || r.id == "config" {
                return Err(ApiError::invalid(format!("report id {:?} is reserved", r.id)));
            }
            if !seen.insert(("r", r.id.clone())) {
                return Err(ApiError::invalid(format!("two reports with id {:?}", r.id)));
            }
            for s in r.queries() {
                check_sql(&format!("report {}", r.id), s)?;
            }
        }
        for r in &self.redirects {
            check_id("redirect", &r.id)?;
            if !(r.path.starts_with("http://") || r.path.starts_with("https://") || r.path.starts_with('/')) {
                return Err(ApiError::invalid(format!(
                    "redirect {:?}: path must be an http(s) URL or start with /",
                    r.id
                )));
            }
        }
        Ok(())
    }

    /// Every UserScript field must name a script inside the report scripts directory (422 naming the field).
    pub fn check_scripts(&self, scripts: &UserScripts) -> Result<(), ApiError> {
        for f in self.fields.iter().filter(|f| f.kind == FieldKind::UserScript) {
            scripts.relative(&f.sql_query).map_err(|why| {
                ApiError::invalid(format!("field {}: script {:?}: {why}", f.id, f.sql_query))
            })?;
        }
        Ok(())
    }

    /// The report field with this id.
    pub fn report_field(&self, id: &str) -> Option<&ReportField> {
        self.report_fields.iter().find(|f| f.id == id)
    }

    /// Every suite of `project` must carry a value for each mandatory field (from the suite, an enclosing
    /// suite, or the project's fields); DbSelect fields get theirs from the database, UserScript fields from
    /// their scripts.
    pub fn check_mandatory(&self, project: &Project) -> Result<(), ApiError> {
        let mandatory: Vec<&SuiteField> = self
            .fields
            .iter()
            .filter(|f| f.mandatory && !matches!(f.kind, FieldKind::DbSelect | FieldKind::UserScript))
            .collect();
        if mandatory.is_empty() {
            return Ok(());
        }
        fn walk(
            suites: &[crate::execution::project::Suite],
            inherited: &std::collections::BTreeMap<String, String>,
            mandatory: &[&SuiteField],
        ) -> Result<(), ApiError> {
            for s in suites {
                let mut fields = inherited.clone();
                fields.extend(s.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                for f in mandatory {
                    if fields.get(&f.id).is_none_or(|v| v.trim().is_empty()) {
                        return Err(ApiError::invalid(format!(
                            "suite {:?}: mandatory field {:?} ({}) has no value",
                            s.name,
                            f.id,
                            if f.label.is_empty() { &f.id } else { &f.label }
                        )));
                    }
                }
                walk(&s.suites, &fields, mandatory)?;
            }
            Ok(())
        }
        walk(&project.suites, &project.settings.fields, &mandatory)
    }

    /// The form stored in the controller's database: `database_url` sealed (it may carry a password).
    pub fn sealed(&self, secrets: &SecretBox) -> ReportConfig {
        let mut c = self.clone();
        c.database_url = c.database_url.map(|u| secrets.seal(&u));
        c
    }

    /// The configuration with the database password hidden, for output.
    pub fn redacted(&self) -> ReportConfig {
        let mut c = self.clone();
        c.database_url = c.database_url.map(|u| store::redact_url(&u));
        c
    }
}

/// The stored configuration (empty when none was saved) and its version, its database URL opened.
/// A URL stored in clear by an earlier version is taken as it is (and sealed when the configuration is next
/// saved).
pub async fn load(store: &Store, secrets: &SecretBox) -> Result<(ReportConfig, i64), ApiError> {
    let (mut c, version) = load_sealed(store).await?;
    if let Some(stored) = c.database_url.take() {
        let url = secrets.open(&stored).map_err(|_| {
            ApiError::internal("the stored report database URL cannot be opened (secret key changed?)")
        })?;
        c.database_url = Some(url);
    }
    Ok((c, version))
}

/// The stored configuration as stored: `database_url`, if any, still sealed.
async fn load_sealed(store: &Store) -> Result<(ReportConfig, i64), ApiError> {
    let mut conn = store.pool().acquire().await.map_err(StoreError::from)?;
    match store::report_config::get(&mut conn).await? {
        None => Ok((ReportConfig::default(), 0)),
        Some(s) => {
            let c: ReportConfig = serde_json::from_str(&s.doc)
                .map_err(|e| ApiError::internal(format!("stored report configuration: {e}")))?;
            Ok((c, s.version))
        }
    }
}

/// Refuses a project whose suites lack a mandatory field (used when projects are saved and runs start).
pub async fn check_project(store: &Store, project: &Project) -> Result<(), ApiError> {
    let (config, _) = load_sealed(store).await?;
    config.check_mandatory(project)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_url_is_sealed_and_the_shown_one_redacted() {
        let secrets = SecretBox::from_key(&[3u8; 32]);
        let c = ReportConfig {
            database_url: Some("mysql://tw:hunter2@db:3306/reports".into()),
            ..Default::default()
        };
        let stored = serde_json::to_string(&c.sealed(&secrets)).unwrap();
        assert!(!stored.contains("hunter2"), "{stored}");
        let back: ReportConfig = serde_json::from_str(&stored).unwrap();
        let url = back.database_url.unwrap();
        assert_eq!(secrets.open(&url).unwrap(), "mysql://tw:hunter2@db:3306/reports");
        assert_eq!(
            c.redacted().database_url.as_deref(),
            Some("mysql://tw:***@db:3306/reports")
        );
        assert!(c.validate().is_ok());
        let bad = ReportConfig {
            database_url: Some("oracle://x".into()),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }
}

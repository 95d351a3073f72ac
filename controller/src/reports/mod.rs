//! Results and reporting: saving finished runs into the `results` table, the built-in reports over it, and
//! the configurable reporting of the original db.xml (suite fields, insert statements, reports with
//! `@Field@` placeholders shown as tables and charts), with every value bound as a parameter.
//!
//! It does not send e-mail, schedule runs or call webhooks (see the notify and schedule modules).

pub mod builtin;
pub mod config;
pub mod dbxml;
pub mod mysql;
pub mod query;
pub mod saving;
pub mod scripts;
pub mod template;

pub use config::ReportConfig;

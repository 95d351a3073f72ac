//! Setting table features (1.3 §7.3.5.5.1; TS-026 320.160, 320.180, 320.200, 330.110): a table-features
//! request with a body asks the switch to reconfigure its tables. A switch may refuse any such request
//! (TABLE_FEATURES_FAILED, or BAD_REQUEST/BAD_LEN as some switches answer); one that accepts must apply what
//! it was asked, must reject a table without its match property, and must keep max_entries as it is.
//!
//! Every request sends the whole pipeline (all tables, as the switch listed them, with the one change), split
//! over several messages when it is long; a switch that applied a change gets its original features back at
//! the end of the case.

use super::catalogue::{Named, V13};
use super::codes::{request, BAD_REQUEST, TABLE_FEATURES_FAILED};
use super::steps::{error_code, fail, unsupported};
use super::{CaseError, Context};
use crate::channel::is_error;
use crate::v13::multipart::MULTIPART_MORE;
use crate::v13::table_features::TableFeatureProp;
use crate::wire::Writer;
use crate::{v13, FixedStr, OfMessage};

/// (name, group, title, 1.0 section, 1.3 section, required, versions, TS-026 number)
pub(super) const NAMED: &[Named] = &[
    ("table_features_set_name", "stats", "A table-features request renaming table 0 is applied (read back), or refused with TABLE_FEATURES_FAILED", "", "§7.3.5.5.1", false, V13, None),
    ("table_features_set_omit_miss", "stats", "Table features set without the *_MISS properties are applied (the table-miss capabilities then equal the others), or refused with TABLE_FEATURES_FAILED", "", "§7.3.5.5.1, §7.3.5.5.2", false, V13, None),
    ("table_features_set_without_match", "errors", "Table features set without a table's match property are rejected with TABLE_FEATURES_FAILED (or BAD_REQUEST)", "", "§7.3.5.5.1", true, V13, None),
    ("table_features_max_entries", "stats", "Setting a table's max_entries is refused, or leaves max_entries as it was", "", "§7.3.5.5.1", true, V13, None),
];

/// Whether this module runs the named case in this version.
pub(super) fn handles(name: &str, version: u8) -> bool {
    super::catalogue::declares(NAMED, name, version)
}

/// The most table-features bytes in one request message (well under the 64 KiB message limit).
const PART_BYTES: usize = 32 * 1024;

/// A table-features set request for `tables`, in as many messages as it takes (REQ_MORE on all but the
/// last).
fn set_request(tables: &[v13::TableFeatures]) -> Vec<OfMessage> {
    let mut parts: Vec<Vec<v13::TableFeatures>> = Vec::new();
    let mut size = 0;
    for t in tables {
        let mut w = Writer::new();
        t.encode(&mut w);
        if parts.is_empty() || size + w.len() > PART_BYTES {
            parts.push(Vec::new());
            size = 0;
        }
        size += w.len();
        if let Some(p) = parts.last_mut() {
            p.push(t.clone());
        }
    }
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            OfMessage::V13(v13::Message::MultipartRequest(v13::MultipartRequest {
                flags: if i + 1 < n { MULTIPART_MORE } else { 0 },
                body: v13::MultipartRequestBody::TableFeatures(body),
            }))
        })
        .collect()
}

/// What the switch did with a set request.
enum Answer {
    /// It answered with the table features (applied).
    Applied,
    /// It answered with this error (type, code).
    Error(u16, u16),
}

/// Sends the set request for `tables`; then a barrier, so that the errors for later parts are out of the way.
async fn set(ctx: &Context<'_>, tables: &[v13::TableFeatures]) -> Result<Answer, CaseError> {
    let sw = ctx.switch();
    let parts = sw.request_split(&set_request(tables)).await?;
    sw.barrier().await?;
    Ok(match parts.iter().find(|m| is_error(m)) {
        Some(e) => {
            let (t, c) = error_code(e).unwrap_or_default();
            Answer::Error(t, c)
        }
        None => Answer::Applied,
    })
}

/// Whether an error is how a switch says it does not let a controller configure its tables.
fn refuses_configuration(t: u16, c: u16) -> bool {
    t == TABLE_FEATURES_FAILED || (t == BAD_REQUEST && c == request::BAD_LEN)
}

/// Unsupported for a switch that refuses table configuration; a failure for any other error.
fn refused(t: u16, c: u16) -> CaseError {
    if refuses_configuration(t, c) {
        unsupported(format!(
            "the switch does not let a controller configure its tables (error type {t} code {c})"
        ))
    } else {
        fail(format!(
            "a valid table-features request got error type {t} code {c}"
        ))
    }
}

/// Puts the original features back after a change was applied; a failure here is the case's.
async fn restore(ctx: &Context<'_>, original: &[v13::TableFeatures]) -> Result<(), CaseError> {
    match set(ctx, original).await? {
        Answer::Applied => Ok(()),
        Answer::Error(t, c) => Err(fail(format!(
            "the switch applied a change but refused its original table features back (error type {t} code {c})"
        ))),
    }
}

/// Whether `p` is a *_MISS property.
fn is_miss(p: &TableFeatureProp) -> bool {
    matches!(
        p,
        TableFeatureProp::InstructionsMiss(_)
            | TableFeatureProp::NextTablesMiss(_)
            | TableFeatureProp::WriteActionsMiss(_)
            | TableFeatureProp::ApplyActionsMiss(_)
            | TableFeatureProp::WriteSetfieldMiss(_)
            | TableFeatureProp::ApplySetfieldMiss(_)
            | TableFeatureProp::ExperimenterMiss { .. }
    )
}

/// Whether a *_MISS property lists what its regular property lists.
fn same_list(miss: &TableFeatureProp, regular: &TableFeatureProp) -> bool {
    use TableFeatureProp as P;
    match (miss, regular) {
        (P::InstructionsMiss(a), P::Instructions(b)) => a == b,
        (P::NextTablesMiss(a), P::NextTables(b)) => a == b,
        (P::WriteActionsMiss(a), P::WriteActions(b)) | (P::ApplyActionsMiss(a), P::ApplyActions(b)) => a == b,
        (P::WriteSetfieldMiss(a), P::WriteSetfield(b)) | (P::ApplySetfieldMiss(a), P::ApplySetfield(b)) => {
            a == b
        }
        (
            P::ExperimenterMiss {
                experimenter: e1,
                exp_type: t1,
                data: d1,
            },
            P::Experimenter {
                experimenter: e2,
                exp_type: t2,
                data: d2,
            },
        ) => (e1, t1, d1) == (e2, t2, d2),
        _ => false,
    }
}

/// Runs the named case.
pub(super) async fn run(name: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let original = ctx.table_features13().await?;
    let Some(first) = original.first() else {
        return Err(fail("the switch lists no table features"));
    };
    let first_id = first.table_id;
    let mut changed = original.clone();
    match name {
        "table_features_set_name" => {
            let new_name = if first.name.to_string() == "twister" {
                "twister-renamed"
            } else {
                "twister"
            };
            if let Some(t) = changed.first_mut() {
                t.name = FixedStr::new(new_name);
            }
            if let Answer::Error(t, c) = set(ctx, &changed).await? {
                return Err(refused(t, c));
            }
            // Read back, then put the original back whatever the reading gave.
            let now = ctx.table_features13().await;
            restore(ctx, &original).await?;
            let now = now?;
            match now.iter().find(|t| t.table_id == first_id) {
                Some(t) if t.name.to_string() == new_name => Ok(()),
                Some(t) => Err(fail(format!(
                    "the switch accepted the new name {new_name:?} for table {first_id} but lists {:?}",
                    t.name.to_string()
                ))),
                None => Err(fail(format!("table {first_id} is gone after renaming it"))),
            }
        }
        "table_features_set_omit_miss" => {
            for t in &mut changed {
                t.properties.retain(|p| !is_miss(p));
            }
            if let Answer::Error(t, c) = set(ctx, &changed).await? {
                return Err(refused(t, c));
            }
            let now = ctx.table_features13().await;
            restore(ctx, &original).await?;
            let now = now?;
            let mut result = Ok(());
            'tables: for t in &now {
                for p in t.properties.iter().filter(|p| is_miss(p)) {
                    let same = t.properties.iter().any(|r| same_list(p, r));
                    if !same {
                        result = Err(fail(format!(
                            "table {} was set without *_MISS properties but lists a table-miss capability that differs from the regular one ({p:?})",
                            t.table_id
                        )));
                        break 'tables;
                    }
                }
            }
            result
        }
        "table_features_set_without_match" => {
            if let Some(t) = changed.first_mut() {
                t.properties.retain(|p| !matches!(p, TableFeatureProp::Match(_)));
            }
            match set(ctx, &changed).await? {
                Answer::Error(TABLE_FEATURES_FAILED | BAD_REQUEST, _) => Ok(()),
                Answer::Error(t, c) => Err(fail(format!(
                    "rejected with error type {t} code {c}, not TABLE_FEATURES_FAILED (or BAD_REQUEST)"
                ))),
                Answer::Applied => {
                    restore(ctx, &original).await?;
                    Err(fail(format!(
                        "table features without table {first_id}'s match property were accepted"
                    )))
                }
            }
        }
        "table_features_max_entries" => {
            let before = first.max_entries;
            let asked = if before > 1 { before / 2 } else { before + 1 };
            if let Some(t) = changed.first_mut() {
                t.max_entries = asked;
            }
            match set(ctx, &changed).await? {
                Answer::Error(_, _) => Ok(()),
                Answer::Applied => {
                    let now = ctx.table_features13().await;
                    restore(ctx, &original).await?;
                    let after = now?
                        .iter()
                        .find(|t| t.table_id == first_id)
                        .map(|t| t.max_entries);
                    match after {
                        Some(m) if m == before => Ok(()),
                        Some(m) => Err(fail(format!(
                            "table {first_id}'s max_entries changed from {before} to {m}: it is read-only"
                        ))),
                        None => Err(fail(format!("table {first_id} is gone after the request"))),
                    }
                }
            }
        }
        other => Err(CaseError::Unknown(other.to_string())),
    }
}

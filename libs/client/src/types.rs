//! The API's documents as the client sees them. Fields the client does not know are ignored, so a newer
//! controller stays readable.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Who the current token belongs to (`GET /auth/whoami`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WhoAmI {
    /// User name.
    pub username: String,
    /// Role: `admin`, `engineer`, `viewer`.
    pub role: String,
    /// Kind of token: `session`, `api`, `station`, `test`.
    pub token_kind: String,
    /// Effective permissions.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Subtrees the token is limited to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
}

/// Answer to a login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Login {
    /// Bearer token.
    pub token: String,
    /// Expiry (RFC 3339).
    pub expires_at: String,
    /// Who logged in.
    pub user: WhoAmI,
}

/// A user account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    /// Login name.
    pub username: String,
    /// Human name.
    #[serde(default)]
    pub display_name: String,
    /// E-mail address.
    #[serde(default)]
    pub email: String,
    /// Role.
    pub role: String,
    /// Disabled accounts cannot log in.
    #[serde(default)]
    pub disabled: bool,
    /// Creation time.
    #[serde(default)]
    pub created_at: String,
}

/// Changes to a user; `None` leaves a field alone.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UserUpdate {
    /// New role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// New human name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// New e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Disable or enable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// An API token's description (never its secret, except right after creation).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    /// Id, for revoking.
    pub id: String,
    /// Owner.
    pub user: String,
    /// Label.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Scope (permissions, paths, …) as the controller describes it.
    #[serde(default)]
    pub scope: serde_json::Value,
    /// Creation time.
    #[serde(default)]
    pub created_at: String,
    /// Expiry, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Last use, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// The secret, only in the answer to a creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A request for a new API token.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewToken {
    /// Label.
    pub name: String,
    /// Limit to these permissions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// Limit inventory access to these subtrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// Lifetime, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_s: Option<u64>,
}

/// An inventory node.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Node {
    /// Short stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Full path.
    pub path: String,
    /// Properties (secret ones only when revealed).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Names of secret properties.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Child names.
    #[serde(default)]
    pub children: Vec<String>,
    /// `free`, `reserved` or `locked`.
    pub status: String,
    /// Holder, when reserved or locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_by: Option<String>,
    /// Holding reservation's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<String>,
    /// Path of the reserved node (this one or an ancestor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_at: Option<String>,
    /// End of the holding lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_until: Option<String>,
    /// Whether something below is reserved.
    #[serde(default)]
    pub descendants_reserved: bool,
    /// Requests queued for this node or an overlapping one.
    #[serde(default)]
    pub waiting: usize,
    /// Version, for `If-Match`.
    pub version: i64,
    /// Creation time.
    #[serde(default)]
    pub created_at: String,
    /// Last change.
    #[serde(default)]
    pub updated_at: String,
}

/// One property read through `PATH:key`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Property {
    /// Node path.
    #[serde(default)]
    pub path: String,
    /// Property name.
    #[serde(default)]
    pub key: String,
    /// Value (empty when secret and not revealed).
    #[serde(default)]
    pub value: Option<String>,
    /// Whether it is secret.
    #[serde(default)]
    pub secret: bool,
    /// Node version.
    #[serde(default)]
    pub version: i64,
}

/// A change to a node's properties (`PUT /resources/{path}`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeUpdate {
    /// Properties to set; `None` deletes one.
    pub properties: BTreeMap<String, Option<String>>,
    /// Extra names to store as secret.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secret_keys: Vec<String>,
    /// Replace the whole property set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub replace: bool,
}

/// Result of a delete.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deleted {
    /// Deleted path.
    pub path: String,
    /// Nodes removed.
    pub nodes: usize,
}

/// Result of an inventory import.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportReport {
    /// Nodes created.
    pub created: usize,
    /// Nodes updated.
    pub updated: usize,
    /// Nodes deleted (replace mode).
    pub deleted: usize,
    /// Ids that were taken and replaced.
    pub reassigned_ids: usize,
}

/// A reservation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reservation {
    /// Id.
    pub id: String,
    /// Reserved node's path.
    pub path: String,
    /// Reserved node's id.
    #[serde(default)]
    pub node_id: String,
    /// Holder.
    pub user: String,
    /// `waiting`, `active`, `released`, `expired`, `cancelled`, `revoked`.
    pub state: String,
    /// Queue priority.
    #[serde(default)]
    pub priority: i64,
    /// Lease length, seconds.
    #[serde(default)]
    pub duration_s: i64,
    /// Requester's note.
    #[serde(default)]
    pub note: String,
    /// Run that locks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_by: Option<String>,
    /// Request time.
    #[serde(default)]
    pub created_at: String,
    /// Grant time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_at: Option<String>,
    /// Lease end (active) or queue deadline (waiting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// End time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Why it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// Who ended it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
    /// Queue position (1 = next) while waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
}

/// A reservation request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReserveRequest {
    /// Node path or `~id`.
    pub path: String,
    /// Lease length, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u64>,
    /// Queue when busy.
    pub wait: bool,
    /// Queue priority.
    pub priority: i64,
    /// Longest time in the queue, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_timeout_s: Option<u64>,
    /// Free text for others.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// Filters for reservation listings; `None` means the server default.
#[derive(Debug, Clone, Default)]
pub struct ReservationFilter {
    /// Comma-separated states.
    pub state: Option<String>,
    /// Holder (`me` for the caller).
    pub user: Option<String>,
    /// Node.
    pub path: Option<String>,
    /// From (RFC 3339).
    pub since: Option<String>,
    /// To (RFC 3339).
    pub until: Option<String>,
    /// At most this many.
    pub limit: Option<i64>,
}

/// One audit record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What kind of change.
    pub action: String,
    /// The object.
    pub target: String,
    /// State before.
    #[serde(default)]
    pub before: Option<serde_json::Value>,
    /// State after.
    #[serde(default)]
    pub after: Option<serde_json::Value>,
}

/// Filters for the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Actor.
    pub actor: Option<String>,
    /// Action prefix.
    pub action: Option<String>,
    /// Target.
    pub target: Option<String>,
    /// Include targets below `target`.
    pub recursive: bool,
    /// From (RFC 3339).
    pub since: Option<String>,
    /// At most this many.
    pub limit: Option<i64>,
}

//! Permissions and the roles that group them.
//!
//! The permissions follow the original Twister's roles (RUN_TESTS, EDIT_TC, CHANGE_TESTBED, CHANGE_PROJECT,
//! VIEW_REPORTS, CHANGE_USERS, CHANGE_SERVICES, ...) and add what a shared lab needs on top (reserving,
//! revealing secrets, force-releasing, reading the audit log). Roles are fixed bundles: admin, engineer, viewer.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One right that an endpoint can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Read the inventory tree and reservations.
    ViewInventory,
    /// Create, edit, rename and delete inventory nodes (original CHANGE_TESTBED).
    ChangeTestbed,
    /// Reserve, renew and release nodes for oneself.
    Reserve,
    /// Release anybody's reservation.
    ForceRelease,
    /// Read secret property values when explicitly asked.
    RevealSecrets,
    /// Read the audit log.
    ViewAudit,
    /// Start, pause and stop runs (original RUN_TESTS).
    RunTests,
    /// Edit test sources (original EDIT_TC).
    EditTests,
    /// Create and change projects and suites (original CHANGE_PROJECT).
    ChangeProjects,
    /// Read results and reports (original VIEW_REPORTS).
    ViewReports,
    /// Change report and database configuration (original CHANGE_DB_CFG).
    ChangeReports,
    /// Change global parameters (original CHANGE_GLOBALS).
    ChangeGlobals,
    /// Manage users and their roles (original CHANGE_USERS).
    ChangeUsers,
    /// Start, stop and configure services (original CHANGE_SERVICES).
    ChangeServices,
    /// Register stations and issue station tokens.
    ManageStations,
    /// Scrape `/metrics`.
    ViewMetrics,
    /// Hold a station's link to the controller (station tokens only).
    StationLink,
}

impl Permission {
    /// Every permission, in a stable order (bit positions).
    pub const ALL: [Permission; 17] = [
        Permission::ViewInventory,
        Permission::ChangeTestbed,
        Permission::Reserve,
        Permission::ForceRelease,
        Permission::RevealSecrets,
        Permission::ViewAudit,
        Permission::RunTests,
        Permission::EditTests,
        Permission::ChangeProjects,
        Permission::ViewReports,
        Permission::ChangeReports,
        Permission::ChangeGlobals,
        Permission::ChangeUsers,
        Permission::ChangeServices,
        Permission::ManageStations,
        Permission::ViewMetrics,
        Permission::StationLink,
    ];

    fn bit(self) -> u64 {
        1 << (self as u64)
    }

    /// The snake_case name used in JSON and messages.
    pub fn name(self) -> &'static str {
        match self {
            Permission::ViewInventory => "view_inventory",
            Permission::ChangeTestbed => "change_testbed",
            Permission::Reserve => "reserve",
            Permission::ForceRelease => "force_release",
            Permission::RevealSecrets => "reveal_secrets",
            Permission::ViewAudit => "view_audit",
            Permission::RunTests => "run_tests",
            Permission::EditTests => "edit_tests",
            Permission::ChangeProjects => "change_projects",
            Permission::ViewReports => "view_reports",
            Permission::ChangeReports => "change_reports",
            Permission::ChangeGlobals => "change_globals",
            Permission::ChangeUsers => "change_users",
            Permission::ChangeServices => "change_services",
            Permission::ManageStations => "manage_stations",
            Permission::ViewMetrics => "view_metrics",
            Permission::StationLink => "station_link",
        }
    }
}

/// A set of permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PermissionSet(u64);

impl PermissionSet {
    /// The empty set.
    pub const fn empty() -> Self {
        PermissionSet(0)
    }

    /// Builds a set from a list.
    pub fn of(perms: &[Permission]) -> Self {
        PermissionSet(perms.iter().fold(0, |acc, p| acc | p.bit()))
    }

    /// Whether `p` is in the set.
    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    /// Permissions in both sets.
    pub fn intersect(self, other: PermissionSet) -> Self {
        PermissionSet(self.0 & other.0)
    }

    /// Whether every permission of `self` is in `other`.
    pub fn is_subset_of(self, other: PermissionSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// The members, in stable order.
    pub fn to_vec(self) -> Vec<Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(|p| self.contains(*p))
            .collect()
    }
}

/// A user's role: a fixed bundle of permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users, services and force-release.
    Admin,
    /// Day-to-day lab work: edit the inventory, reserve, run and edit tests and projects, view reports.
    Engineer,
    /// Read-only: inventory, reservations and reports.
    Viewer,
}

impl Role {
    /// The permissions this role grants.
    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        match self {
            Role::Admin => PermissionSet::of(
                &Permission::ALL
                    .iter()
                    .copied()
                    .filter(|p| *p != StationLink)
                    .collect::<Vec<_>>(),
            ),
            Role::Engineer => PermissionSet::of(&[
                ViewInventory,
                ChangeTestbed,
                Reserve,
                RevealSecrets,
                ViewAudit,
                RunTests,
                EditTests,
                ChangeProjects,
                ViewReports,
                ChangeGlobals,
                ViewMetrics,
            ]),
            Role::Viewer => PermissionSet::of(&[ViewInventory, ViewReports, ViewAudit]),
        }
    }

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Engineer => "engineer",
            Role::Viewer => "viewer",
        }
    }

    /// Parses a stored or user-given role name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "engineer" => Some(Role::Engineer),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_nest() {
        assert!(Role::Viewer
            .permissions()
            .is_subset_of(Role::Engineer.permissions()));
        assert!(Role::Engineer
            .permissions()
            .is_subset_of(Role::Admin.permissions()));
        assert!(!Role::Viewer.permissions().contains(Permission::Reserve));
        assert!(!Role::Engineer.permissions().contains(Permission::ChangeUsers));
        assert!(!Role::Admin.permissions().contains(Permission::StationLink));
    }

    #[test]
    fn names_match_serde() {
        for p in Permission::ALL {
            let json = serde_json::to_string(&p).expect("serialise");
            assert_eq!(json, format!("\"{}\"", p.name()));
        }
    }

    #[test]
    fn set_operations() {
        let a = PermissionSet::of(&[Permission::Reserve, Permission::ViewInventory]);
        let b = PermissionSet::of(&[Permission::Reserve]);
        assert!(b.is_subset_of(a));
        assert!(!a.is_subset_of(b));
        assert_eq!(a.intersect(b), b);
        assert_eq!(a.to_vec(), vec![Permission::ViewInventory, Permission::Reserve]);
    }
}

//! Test conventions shared by this crate's tests: what may be skipped outside CI.

/// Whether the tests run in CI (where nothing may be skipped).
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Call when a needed tool or privilege is missing: panics in CI, otherwise prints the reason and returns
/// `false` (the caller skips).
pub fn tool_missing(what: &str) -> bool {
    if in_ci() {
        panic!("{what} is required in CI but is not available (scripts/install-deps.sh installs it)");
    }
    eprintln!("SKIPPED: {what} is not available on this machine (runs in CI)");
    false
}

/// Whether the process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

//! Test work directories, `data_dir/work/<run>/<test>/`, and confining the files of a test to them.

use std::path::{Component, Path, PathBuf};

/// Checks that an id (run or test) is usable as one path component.
pub fn check_id(what: &str, id: &str) -> Result<(), String> {
    if id.is_empty() || id == "." || id == ".." || id.contains(['/', '\\', '\0']) {
        return Err(format!("bad {what} id {id:?}"));
    }
    Ok(())
}

/// The work directory of a test.
pub fn work_dir(data_dir: &Path, run: &str, test: &str) -> Result<PathBuf, String> {
    check_id("run", run)?;
    check_id("test", test)?;
    Ok(data_dir.join("work").join(run).join(test))
}

/// `root/rel` when `rel` is a relative path that stays inside `root` (no root, prefix or `..` components).
pub fn confine(root: &Path, rel: &str) -> Result<PathBuf, String> {
    let p = Path::new(rel);
    let mut out = root.to_path_buf();
    let mut any = false;
    for c in p.components() {
        match c {
            Component::Normal(part) => {
                out.push(part);
                any = true;
            }
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(format!("path {rel:?} leaves the work directory"));
            }
        }
    }
    if !any || rel.contains('\0') {
        return Err(format!("bad path {rel:?}"));
    }
    Ok(out)
}

/// The file name of a test file's path (`demo/ping.py` → `ping.py`).
pub fn file_name(rel: &str) -> Result<String, String> {
    match Path::new(rel).components().next_back() {
        Some(Component::Normal(n)) => Ok(n.to_string_lossy().into_owned()),
        _ => Err(format!("bad test file path {rel:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confinement() {
        let root = Path::new("/w");
        assert_eq!(confine(root, "lib/a.py").unwrap(), Path::new("/w/lib/a.py"));
        assert_eq!(confine(root, "./a.py").unwrap(), Path::new("/w/a.py"));
        for bad in ["/etc/passwd", "../x", "lib/../../x", "", ".", "a/.."] {
            assert!(confine(root, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_and_names() {
        assert!(work_dir(Path::new("/d"), "r1", "t1").is_ok());
        for bad in ["", "..", "a/b", "."] {
            assert!(work_dir(Path::new("/d"), bad, "t").is_err());
            assert!(work_dir(Path::new("/d"), "r", bad).is_err());
        }
        assert_eq!(file_name("demo/ping.py").unwrap(), "ping.py");
        assert_eq!(file_name("ping.py").unwrap(), "ping.py");
        assert!(file_name("demo/..").is_err());
        assert!(file_name("").is_err());
    }
}

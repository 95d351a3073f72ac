//! Choosing how to run a test file: a `#!` line wins (the file is executed); else its extension names the
//! interpreter; else the file is executed directly.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

pub use twister_proto::launch::BY_EXTENSION;

/// How a test file is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// Execute the file; its `#!` line names the interpreter.
    Shebang {
        /// The `#!` line, without `#!`.
        line: String,
    },
    /// Run an interpreter found on `PATH` with the file as its first argument.
    Interpreter {
        /// Interpreter name.
        name: String,
        /// Its full path.
        path: PathBuf,
    },
    /// Execute the file directly (no `#!`, unknown extension).
    Direct,
}

impl Launch {
    /// Words for the log line "running X with Y".
    pub fn describe(&self) -> String {
        match self {
            Launch::Shebang { line } => format!("#!{line}"),
            Launch::Interpreter { name, path } => format!("{name} ({})", path.display()),
            Launch::Direct => "direct execution".into(),
        }
    }
}

/// Chooses how to run `file` (its first bytes `head`), looking interpreters up on `path_var` (a `PATH`
/// value). `Err` names the missing interpreter.
pub fn choose(file: &Path, head: &[u8], path_var: Option<&OsStr>) -> Result<Launch, String> {
    if let Some(line) = twister_proto::launch::shebang(head) {
        return Ok(Launch::Shebang { line });
    }
    let Some(name) = twister_proto::launch::interpreter_for(file) else {
        return Ok(Launch::Direct);
    };
    match which(name, path_var) {
        Some(path) => Ok(Launch::Interpreter {
            name: name.to_string(),
            path,
        }),
        None => Err(format!("interpreter {name} not found on PATH")),
    }
}

/// Finds an executable `name` on `path_var`.
pub fn which(name: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path_var = path_var?;
    std::env::split_paths(path_var).map(|d| d.join(name)).find(|p| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_wins() {
        let l = choose(Path::new("t.py"), b"#!/bin/sh -e\necho", None).unwrap();
        assert_eq!(
            l,
            Launch::Shebang {
                line: "/bin/sh -e".into()
            }
        );
    }

    #[test]
    fn by_extension() {
        let path = std::env::var_os("PATH");
        match choose(Path::new("x/t.SH"), b"echo", path.as_deref()).unwrap() {
            Launch::Interpreter { name, path } => {
                assert_eq!(name, "bash");
                assert!(path.is_absolute());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            choose(Path::new("t.bin"), b"\x7fELF", path.as_deref()),
            Ok(Launch::Direct)
        );
        assert_eq!(
            choose(Path::new("noext"), b"", path.as_deref()),
            Ok(Launch::Direct)
        );
    }

    #[test]
    fn missing_interpreter() {
        let e = choose(Path::new("t.tcl"), b"puts hi", Some(OsStr::new("/nonexistent"))).unwrap_err();
        assert!(e.contains("tclsh"), "{e}");
    }
}

//! How a test file or a script is started, the same on stations and on the controller: a `#!` line wins;
//! else the file's extension names the interpreter.

use std::path::Path;

/// Interpreter by file extension (lower case).
pub const BY_EXTENSION: [(&str, &str); 6] = [
    ("py", "python3"),
    ("tcl", "tclsh"),
    ("pl", "perl"),
    ("sh", "bash"),
    ("bash", "bash"),
    ("exp", "expect"),
];

/// The `#!` line of a file whose first bytes are `head`, without `#!` and trimmed.
pub fn shebang(head: &[u8]) -> Option<String> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
    Some(String::from_utf8_lossy(line).trim().to_string())
}

/// The interpreter the extension of `file` names, if any.
pub fn interpreter_for(file: &Path) -> Option<&'static str> {
    let ext = file.extension()?.to_str()?.to_ascii_lowercase();
    BY_EXTENSION.iter().find(|(x, _)| *x == ext).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_and_extension() {
        assert_eq!(shebang(b"#!/bin/sh -e \necho"), Some("/bin/sh -e".into()));
        assert_eq!(shebang(b"echo"), None);
        assert_eq!(interpreter_for(Path::new("a/b.PY")), Some("python3"));
        assert_eq!(interpreter_for(Path::new("a/b")), None);
    }
}

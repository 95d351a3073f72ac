//! The original Twister's XML files (Luxoft, 2012-2014) and our native project model, both ways.
//!
//! # Project files (`Root`), read by [`project_from_xml`] and written by [`project_to_xml`]
//!
//! The same shape serves the project files the original applet saved (`config/projects/*.xml`) and the
//! `testsuites.xml` its server generated from them. Tag names are matched without regard to case.
//!
//! | original                                   | native                                              |
//! |--------------------------------------------|-----------------------------------------------------|
//! | `Root/stoponfail`                          | `settings.stop_on_fail`                             |
//! | `Root/dbautosave` (`true`, `save` / `false`, `nosave`; `ask` → false, kept) | `settings.db_autosave` |
//! | `Root/tcdelay` (seconds)                   | `settings.delay_s`                                  |
//! | `Root/libraries` (`a.py;b.py;`)            | `settings.libraries`                                |
//! | `Root/ScriptPre`, `Root/ScriptPost`        | `settings.pre_script`, `settings.post_script`       |
//! | `Root/PrePostMandatory`                    | `settings.scripts_mandatory`                        |
//! | `Root/UserDefined` (`propName`/`propValue`)| `settings.fields`                                   |
//! | `TestSuite/tsName`                         | `name` (sanitised, siblings de-duplicated " (2)")   |
//! | `TestSuite/EpId` (`EP-1;EP-2`)             | `eps`                                               |
//! | `TestSuite/SutName`, older `TbName`        | `testbed` (the first of a `;` list)                 |
//! | `TestSuite/PanicDetect`, `Repeat`, `ID`    | `panic_detect`, `repeat`, `id`                      |
//! | `TestSuite/Dependency` (`id:status;`)      | `depends_on`                                        |
//! | `TestSuite/UserDefined`                    | `fields`                                            |
//! | `TestSuite/TestSuite`, `TestSuite/TestCase`| `suites`, `tests`                                   |
//! | `TestCase/tcName`                          | `file` (made relative, see below)                   |
//! | `TestCase/Title`, `Summary`, `Repeat`      | `title`, `summary`, `repeat`                        |
//! | `TestCase/ID`, older `tcID`                | `id`                                                |
//! | `TestCase/Dependency` (`id:status;`), older `Dependancy` (`id`) | `depends_on`, `depends_status` |
//! | `TestCase/Timeout` (ours; the original had none) | `timeout_s`                                   |
//! | `Property` `Runnable`, `Optional`          | `runnable`, `optional`                              |
//! | `Property` `setup_file` (older `Prerequisite`), `teardown_file` | `setup`, `teardown`            |
//! | `Property` `param` (each one argument; also `params`, `parameter`, `parameters`) | `args`        |
//! | `Property` `Running` = `true` (the applet's check box, the default) | dropped: it means nothing more |
//! | any other `Property`                       | `properties`                                        |
//!
//! Nothing is dropped silently. What has no place in the model is kept under a key starting with
//! [`LEGACY_PREFIX`]: in the project's or suite's `fields` for the project and suite levels, in the test's
//! `properties` for the test level. An element the model does not know (`ClearCaseView`,
//! `DownloadLibraries`, `ConfigFiles`, `Priority`, `iterationSave`, `ClearCase`, a suite's `libraries`...)
//! becomes `legacy.<Tag>` (its text, or its inner XML when it holds elements), an attribute
//! `legacy.<Tag>@<attribute>`, stray text `legacy.<Tag>#text`; a value that cannot be mapped (a delay of
//! `abc`, `dbautosave` = `ask`, a dependency on a test that is not in the file, a second testbed...) keeps
//! its original text as `legacy.<Tag>` next to whatever could be mapped. The writer puts `legacy.<Tag>`
//! entries back as `<Tag>` elements (when the tag is not one it writes itself), everything else as
//! `UserDefined` or `Property` entries, so the original tools see them again.
//!
//! The model runs a suite's tests before its nested suites; when a file interleaves them, the original
//! order is recorded in the suite's `legacy.order` field.
//!
//! ## File paths
//!
//! Test files, libraries and scripts are relative to the test-source directory. An absolute original path
//! (`/...`, `~/...`, `$HOME/...`, `C:\...`) keeps the part after its first `tests/` or `testsuites/` folder;
//! without one, it loses its leading slash (or home prefix). A relative path is kept (`.` and `..` resolved;
//! leaving the directory is an error). The writer writes relative paths, prefixed with `./` when they would
//! otherwise read as absolute.
//!
//! ## Lists
//!
//! `EpId`, `libraries`, `SutName` and `Dependency` are `;`-separated lists. The writer escapes a `;`, a `%`
//! and spaces at either end of an entry as `%3B`, `%25`, `%20` (`%09`, `%0A`, `%0D`) when an entry holds
//! them; the reader decodes these codes.
//!
//! ## Property names
//!
//! A test property whose name the reader would take for one of the known properties above (or one that
//! starts with [`ESCAPED_PROPERTY_PREFIX`]) is written with that prefix, which the reader removes.
//!
//! # Globals (`globals.xml`), read by [`globals_from_xml`] and written by [`globals_to_xml`]
//!
//! `root/folder(fname, fdesc, param*, folder*)`, `param(name, value, desc, type)`: each `param` becomes
//! `("/folder/sub/name", value)`. A `/` or `%` inside a name is written `%2F`, `%25` in the path.
//! Descriptions (`fdesc`, `desc`) and types are not part of the pairs; the writer leaves them empty and
//! writes the type `string`.

use std::collections::{BTreeMap, BTreeSet};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::project::{check_relative_file, Project, ProjectSettings, Suite, TestCase, MAX_DEPTH, MAX_NAME};
use super::project::{MAX_ITEMS, MAX_REPEAT};
use crate::inventory::NodePath;

/// Prefix of the `fields` and `properties` keys that keep original data the model has no place for.
pub const LEGACY_PREFIX: &str = "legacy.";

/// Prefix the writer puts before a test property name that would otherwise read as a known property.
pub const ESCAPED_PROPERTY_PREFIX: &str = "prop:";

/// Deepest element nesting accepted in a file.
const MAX_NESTING: usize = 200;
/// Longest timeout, seconds (as the model allows).
const MAX_TIMEOUT_S: u64 = 7 * 86_400;

/// Why an original XML file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyXmlError {
    /// The text is not well-formed XML.
    #[error("not well-formed XML at line {line}: {message}")]
    Syntax {
        /// Line of the problem (1-based).
        line: usize,
        /// What the parser said.
        message: String,
    },
    /// The text holds no element at all.
    #[error("no XML element found: expected a <{expected}> document")]
    NoRoot {
        /// The root element expected.
        expected: &'static str,
    },
    /// The root element is not the expected one.
    #[error("line {line}: the root element is <{found}>, expected <{expected}>")]
    WrongRoot {
        /// The root element found.
        found: String,
        /// The root element expected.
        expected: &'static str,
        /// Its line.
        line: usize,
    },
    /// A required element is missing or empty.
    #[error("line {line}: <{parent}> has no <{tag}>")]
    Missing {
        /// The element missing.
        tag: &'static str,
        /// The element that should hold it.
        parent: String,
        /// Line of the parent.
        line: usize,
    },
    /// An element (or text) stands where it has no meaning.
    #[error("line {line}: unexpected <{tag}> inside <{parent}>")]
    Unexpected {
        /// The element found (`#text` for text).
        tag: String,
        /// Its parent.
        parent: String,
        /// Its line.
        line: usize,
    },
    /// An element's content cannot be mapped.
    #[error("line {line}: <{tag}>: {message}")]
    Invalid {
        /// The element.
        tag: String,
        /// Its line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Elements nest too deeply.
    #[error("line {line}: elements nest deeper than {max}")]
    TooDeep {
        /// Line of the first element too deep.
        line: usize,
        /// The limit.
        max: usize,
    },
    /// The converted project breaks a rule of the native model.
    #[error("the converted project is not valid: {0}")]
    Project(String),
}

type Result<T> = std::result::Result<T, LegacyXmlError>;

// ----------------------------------------------------------------------------------------------------------
// A small element tree over quick-xml, keeping lines and the source range of each element's content.

#[derive(Debug)]
struct Elem {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
    line: usize,
    self_closing: bool,
    /// Byte range of the content (between the start and end tags) in the source.
    inner: (usize, usize),
}

#[derive(Debug)]
enum Node {
    Elem(Elem),
    /// Text or CDATA, unescaped.
    Text(String),
    /// A comment, processing instruction, declaration or doctype.
    Other,
}

impl Elem {
    fn elems(&self) -> impl Iterator<Item = &Elem> {
        self.children.iter().filter_map(|n| match n {
            Node::Elem(e) => Some(e),
            _ => None,
        })
    }

    fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    fn lower(&self) -> String {
        self.name.to_ascii_lowercase()
    }

    /// Whether the content holds anything but text.
    fn has_markup(&self) -> bool {
        self.children.iter().any(|n| !matches!(n, Node::Text(_)))
    }

    /// The text content (text and CDATA children, concatenated).
    fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// Text of an element that must hold text only; `None` for a self-closing element.
    fn simple_text(&self) -> Result<Option<String>> {
        if let Some(child) = self.elems().next() {
            return Err(LegacyXmlError::Unexpected {
                tag: child.name.clone(),
                parent: self.name.clone(),
                line: child.line,
            });
        }
        Ok(if self.self_closing {
            None
        } else {
            Some(self.text())
        })
    }

    /// The value kept for an element the model does not know: its text, or its inner XML if it holds markup.
    fn kept_value(&self, src: &str) -> String {
        if self.has_markup() {
            src.get(self.inner.0..self.inner.1)
                .unwrap_or_default()
                .to_string()
        } else {
            self.text()
        }
    }
}

struct Lines(Vec<usize>);

impl Lines {
    fn new(src: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(
            src.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines(starts)
    }

    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&s| s <= offset).max(1)
    }
}

fn offset(pos: u64) -> usize {
    usize::try_from(pos).unwrap_or(usize::MAX)
}

fn element(tag: &BytesStart<'_>, line: usize, self_closing: bool, at: usize) -> Result<Elem> {
    let syntax = |message: String| LegacyXmlError::Syntax { line, message };
    let mut attrs = Vec::new();
    for a in tag.attributes() {
        let a = a.map_err(|e| syntax(e.to_string()))?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|e| syntax(e.to_string()))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Elem {
        name: String::from_utf8_lossy(tag.name().as_ref()).into_owned(),
        attrs,
        children: Vec::new(),
        line,
        self_closing,
        inner: (at, at),
    })
}

/// Parses a whole document into its root element.
fn parse_document(src: &str, expected: &'static str, max_depth: usize) -> Result<Elem> {
    let lines = Lines::new(src);
    // XML 1.0 has no place for most control characters, and the writer could not give them back.
    if let Some((i, c)) = src
        .char_indices()
        .find(|(_, c)| (*c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}'))
    {
        return Err(LegacyXmlError::Syntax {
            line: lines.line(i),
            message: format!("character U+{:04X} is not allowed in XML", u32::from(c)),
        });
    }
    let mut reader = Reader::from_str(src);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Elem> = Vec::new();
    let mut root: Option<Elem> = None;
    loop {
        let before = offset(reader.buffer_position());
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                return Err(LegacyXmlError::Syntax {
                    line: lines.line(offset(reader.error_position())),
                    message: e.to_string(),
                })
            }
        };
        let after = offset(reader.buffer_position());
        let line = lines.line(before);
        let text = match event {
            Event::Start(tag) => {
                if stack.len() >= max_depth {
                    return Err(LegacyXmlError::TooDeep { line, max: max_depth });
                }
                let el = element(&tag, line, false, after)?;
                if root.is_some() {
                    return Err(second_root(&el));
                }
                stack.push(el);
                continue;
            }
            Event::Empty(tag) => {
                let el = element(&tag, line, true, after)?;
                attach(&mut stack, &mut root, el)?;
                continue;
            }
            Event::End(_) => {
                let Some(mut el) = stack.pop() else {
                    return Err(LegacyXmlError::Syntax {
                        line,
                        message: "end tag without a start tag".into(),
                    });
                };
                el.inner.1 = before;
                attach(&mut stack, &mut root, el)?;
                continue;
            }
            Event::Text(t) => t
                .unescape()
                .map_err(|e| LegacyXmlError::Syntax {
                    line,
                    message: e.to_string(),
                })?
                .into_owned(),
            Event::CData(c) => String::from_utf8_lossy(&c.into_inner()).into_owned(),
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::DocType(_) => {
                if let Some(top) = stack.last_mut() {
                    top.children.push(Node::Other);
                }
                continue;
            }
            Event::Eof => break,
        };
        match stack.last_mut() {
            Some(top) => top.children.push(Node::Text(text)),
            None if text.trim().is_empty() => {}
            None => {
                return Err(LegacyXmlError::Syntax {
                    line,
                    message: "text outside the root element".into(),
                })
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(LegacyXmlError::Syntax {
            line: open.line,
            message: format!("<{}> is never closed", open.name),
        });
    }
    root.ok_or(LegacyXmlError::NoRoot { expected })
}

fn second_root(el: &Elem) -> LegacyXmlError {
    LegacyXmlError::Syntax {
        line: el.line,
        message: format!("a second root element <{}>", el.name),
    }
}

fn attach(stack: &mut [Elem], root: &mut Option<Elem>, el: Elem) -> Result<()> {
    if let Some(parent) = stack.last_mut() {
        parent.children.push(Node::Elem(el));
    } else if root.is_some() {
        return Err(second_root(&el));
    } else {
        *root = Some(el);
    }
    Ok(())
}

fn parse_root<'a>(xml: &'a str, expected: &'static str) -> Result<(Elem, &'a str)> {
    let src = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let root = parse_document(src, expected, MAX_NESTING)?;
    if !root.is(expected) {
        return Err(LegacyXmlError::WrongRoot {
            found: root.name,
            expected,
            line: root.line,
        });
    }
    Ok((root, src))
}

// ----------------------------------------------------------------------------------------------------------
// Small value helpers shared by both directions.

/// Characters a list entry escapes, with their codes.
const LIST_CODES: [(char, &str); 6] = [
    ('%', "25"),
    (';', "3B"),
    (' ', "20"),
    ('\t', "09"),
    ('\n', "0A"),
    ('\r', "0D"),
];
/// Characters a globals path segment escapes.
const SEGMENT_CODES: [(char, &str); 2] = [('%', "25"), ('/', "2F")];

fn is_list_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn has_code(s: &str, codes: &[(char, &str)]) -> bool {
    let lower = s.to_ascii_lowercase();
    codes
        .iter()
        .any(|(_, code)| lower.contains(&format!("%{}", code.to_ascii_lowercase())))
}

/// Decodes the `%XX` codes of `codes`; any other `%` stays as it is.
fn pct_decode(s: &str, codes: &[(char, &str)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let hit = after.get(..2).and_then(|hex| {
            codes
                .iter()
                .find(|(_, code)| code.eq_ignore_ascii_case(hex))
                .map(|(c, _)| *c)
        });
        match hit {
            Some(c) => {
                out.push(c);
                rest = &after[2..];
            }
            None => {
                out.push('%');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Encodes one entry of a `;` list, only when it needs it.
fn list_encode(s: &str) -> String {
    let edges = s.starts_with(is_list_space) || s.ends_with(is_list_space);
    if !edges && !s.contains(';') && !has_code(s, &LIST_CODES) {
        return s.to_string();
    }
    let lead = s.len() - s.trim_start_matches(is_list_space).len();
    let core_end = s.trim_end_matches(is_list_space).len().max(lead);
    let code = |c: char| {
        LIST_CODES
            .iter()
            .find(|(k, _)| *k == c)
            .map(|(_, code)| format!("%{code}"))
    };
    let mut out = String::new();
    for (i, c) in s.char_indices() {
        let at_edge = i < lead || i >= core_end;
        match code(c) {
            Some(e) if c == '%' || c == ';' || at_edge => out.push_str(&e),
            _ => out.push(c),
        }
    }
    out
}

/// The entries of a `;` list: trimmed, empty ones left out, decoded.
fn list_decode(s: &str) -> Vec<String> {
    s.split(';')
        .map(|e| e.trim_matches(is_list_space))
        .filter(|e| !e.is_empty())
        .map(|e| pct_decode(e, &LIST_CODES))
        .collect()
}

fn segment_encode(s: &str) -> String {
    if !s.contains('/') && !has_code(s, &SEGMENT_CODES) {
        return s.to_string();
    }
    s.replace('%', "%25").replace('/', "%2F")
}

/// `true`, `false`, or nothing for an empty text; `Err` for anything else.
fn parse_bool(s: &str) -> std::result::Result<Option<bool>, ()> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "yes" | "1" | "on" => Ok(Some(true)),
        "false" | "no" | "0" | "off" => Ok(Some(false)),
        _ => Err(()),
    }
}

/// A status named in an original dependency, as the model names it.
fn map_status(s: &str) -> Option<Option<&'static str>> {
    let s = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    Some(Some(match s.as_str() {
        "" => return Some(None),
        "pass" | "passed" | "success" | "ok" | "2" => "pass",
        "fail" | "failed" | "failure" | "3" => "fail",
        "skip" | "skipped" | "4" => "skipped",
        "abort" | "aborted" | "5" => "aborted",
        "not_executed" | "not_exec" | "notexec" | "6" => "not_executed",
        "timeout" | "7" => "timeout",
        "error" | "crash" | "crashed" => "error",
        "pending" | "10" => "pending",
        "waiting" | "9" => "waiting",
        "running" | "working" | "1" => "running",
        _ => return None,
    }))
}

/// Inserts under `key`, or `key (2)`, `key (3)`... when it is taken.
fn insert_unique(map: &mut BTreeMap<String, String>, key: String, value: String) {
    let mut n = 2usize;
    let mut k = key.clone();
    while map.contains_key(&k) {
        k = format!("{key} ({n})");
        n += 1;
    }
    map.insert(k, value);
}

fn legacy(tag: &str) -> String {
    format!("{LEGACY_PREFIX}{tag}")
}

/// Keeps an element the model does not know (and its attributes) under `legacy.` keys.
fn keep_element(map: &mut BTreeMap<String, String>, el: &Elem, src: &str) {
    for (a, v) in &el.attrs {
        insert_unique(map, legacy(&format!("{}@{a}", el.name)), v.clone());
    }
    insert_unique(map, legacy(&el.name), el.kept_value(src));
}

/// Keeps the attributes and stray text of a structural element.
fn keep_extras(map: &mut BTreeMap<String, String>, el: &Elem) {
    for (a, v) in &el.attrs {
        insert_unique(map, legacy(&format!("{}@{a}", el.name)), v.clone());
    }
    let stray: String = el
        .children
        .iter()
        .filter_map(|n| match n {
            Node::Text(t) if !t.trim().is_empty() => Some(t.trim()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ");
    if !stray.is_empty() {
        insert_unique(map, legacy(&format!("{}#text", el.name)), stray);
    }
}

fn is_absolute(p: &str) -> bool {
    let b = p.as_bytes();
    p.starts_with('/')
        || p == "~"
        || p.starts_with("~/")
        || p == "$HOME"
        || p.starts_with("$HOME/")
        || p.starts_with("${HOME}")
        || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
}

/// Maps an original file path to a path relative to the test-source directory.
fn normalize_path(raw: &str) -> std::result::Result<String, String> {
    let p = raw.trim().replace('\\', "/");
    let (absolute, body) = if let Some(rest) = p.strip_prefix("./") {
        (false, rest.to_string())
    } else if is_absolute(&p) {
        let b = p.as_bytes();
        let rest = if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
            &p[2..]
        } else if let Some(r) = p.strip_prefix("${HOME}") {
            r
        } else if let Some(r) = p.strip_prefix("$HOME") {
            r
        } else if let Some(r) = p.strip_prefix('~') {
            r
        } else {
            &p
        };
        (true, rest.to_string())
    } else {
        (false, p.clone())
    };
    let mut segs: Vec<&str> = Vec::new();
    for s in body.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                if segs.pop().is_none() && !absolute {
                    return Err(format!("{raw:?} leaves the test-source directory"));
                }
            }
            s => segs.push(s),
        }
    }
    if absolute {
        let cut = segs.iter().position(|s| {
            let l = s.to_ascii_lowercase();
            l == "tests" || l == "testsuites"
        });
        if let Some(i) = cut {
            if i + 1 < segs.len() {
                segs.drain(..=i);
            }
        }
    }
    let out = segs.join("/");
    check_relative_file("path", &out).map_err(|e| e.message)?;
    Ok(out)
}

/// Writes a relative path so that [`normalize_path`] reads it back unchanged: a path that would read as
/// absolute (or lose spaces at its start) gets a leading `./`, one that would lose spaces at its end a
/// trailing `/.`.
fn path_out(p: &str) -> String {
    if normalize_path(p).as_deref() == Ok(p) {
        return p.to_string();
    }
    let trail = if p.ends_with(char::is_whitespace) {
        "/."
    } else {
        ""
    };
    format!("./{p}{trail}")
}

fn name_ok(s: &str) -> bool {
    !s.trim().is_empty() && s.len() <= MAX_NAME && !s.chars().any(char::is_control)
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A valid suite name made from an original one.
fn sanitize_name(raw: &str) -> String {
    if name_ok(raw) {
        return raw.to_string();
    }
    let cleaned: String = raw
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cleaned = cut(&cleaned, MAX_NAME).to_string();
    if cleaned.trim().is_empty() {
        "Suite".to_string()
    } else {
        cleaned
    }
}

// ----------------------------------------------------------------------------------------------------------
// Reading a project.

const ROOT_TAGS: [&str; 10] = [
    "stoponfail",
    "dbautosave",
    "tcdelay",
    "libraries",
    "scriptpre",
    "scriptpost",
    "prepostmandatory",
    "userdefined",
    "testsuite",
    "testcase",
];
const SUITE_TAGS: [&str; 11] = [
    "tsname",
    "epid",
    "sutname",
    "tbname",
    "panicdetect",
    "repeat",
    "id",
    "dependency",
    "userdefined",
    "testsuite",
    "testcase",
];
const TEST_TAGS: [&str; 12] = [
    "tcname",
    "title",
    "summary",
    "repeat",
    "id",
    "tcid",
    "dependency",
    "dependancy",
    "timeout",
    "property",
    "testsuite",
    "testcase",
];

/// A dependency read from the file, resolved once every id is known.
struct PendingDep {
    /// Suite indexes from the top.
    suite: Vec<usize>,
    /// The test's index in the suite, or `None` for the suite itself.
    test: Option<usize>,
    /// The element it came from (for the `legacy.` key).
    tag: String,
    raw: String,
}

struct Importer<'s> {
    src: &'s str,
    deps: Vec<PendingDep>,
    items: usize,
}

/// A `propName`/`propValue` pair; `None` for an entirely empty element.
fn prop_pair(el: &Elem) -> Result<Option<(String, String)>> {
    let mut name: Option<String> = None;
    let mut value: Option<String> = None;
    for c in el.elems() {
        let slot = if c.is("propName") {
            &mut name
        } else if c.is("propValue") {
            &mut value
        } else {
            return Err(LegacyXmlError::Unexpected {
                tag: c.name.clone(),
                parent: el.name.clone(),
                line: c.line,
            });
        };
        if slot.is_none() {
            *slot = Some(c.simple_text()?.unwrap_or_default());
        }
    }
    if let Some(t) = el.children.iter().find_map(|n| match n {
        Node::Text(t) if !t.trim().is_empty() => Some(t),
        _ => None,
    }) {
        return Err(LegacyXmlError::Invalid {
            tag: el.name.clone(),
            line: el.line,
            message: format!("stray text {:?}; expected <propName> and <propValue>", t.trim()),
        });
    }
    if name.is_none() && value.is_none() {
        return Ok(None);
    }
    Ok(Some((name.unwrap_or_default(), value.unwrap_or_default())))
}

fn stray_text(el: &Elem) -> bool {
    el.children
        .iter()
        .any(|n| matches!(n, Node::Text(t) if !t.trim().is_empty()))
}

impl<'s> Importer<'s> {
    fn text(&self, el: &Elem) -> Result<String> {
        Ok(el.simple_text()?.unwrap_or_default())
    }

    fn project(&mut self, root: &Elem, name: &str) -> Result<Project> {
        let mut s = ProjectSettings::default();
        let mut fields = BTreeMap::new();
        keep_extras(&mut fields, root);
        let mut seen = BTreeSet::new();
        let mut suites = Vec::new();
        for el in root.elems() {
            let tag = el.lower();
            if tag == "testcase" {
                return Err(LegacyXmlError::Unexpected {
                    tag: el.name.clone(),
                    parent: root.name.clone(),
                    line: el.line,
                });
            }
            if tag == "testsuite" {
                let index = suites.len();
                suites.push(self.suite(el, vec![index])?);
                continue;
            }
            if tag == "userdefined" {
                if let Some((k, v)) = prop_pair(el)? {
                    insert_unique(&mut fields, k, v);
                }
                continue;
            }
            if !ROOT_TAGS.contains(&tag.as_str()) || !seen.insert(tag.clone()) {
                keep_element(&mut fields, el, self.src);
                continue;
            }
            let raw = self.text(el)?;
            let mut bad = false;
            match tag.as_str() {
                "stoponfail" | "prepostmandatory" => match parse_bool(&raw) {
                    Ok(v) => {
                        let v = v.unwrap_or(false);
                        if tag == "stoponfail" {
                            s.stop_on_fail = v;
                        } else {
                            s.scripts_mandatory = v;
                        }
                    }
                    Err(()) => bad = true,
                },
                "dbautosave" => match raw.trim().to_ascii_lowercase().as_str() {
                    "save" | "always" => s.db_autosave = true,
                    "nosave" | "never" => s.db_autosave = false,
                    _ => match parse_bool(&raw) {
                        Ok(v) => s.db_autosave = v.unwrap_or(false),
                        Err(()) => bad = true,
                    },
                },
                "tcdelay" => {
                    let t = raw.trim();
                    if !t.is_empty() {
                        match t.parse::<f64>() {
                            Ok(d) if d.is_finite() && (0.0..=3600.0).contains(&d) => s.delay_s = d,
                            _ => bad = true,
                        }
                    }
                }
                "libraries" => {
                    for entry in list_decode(&raw) {
                        match normalize_path(&entry) {
                            Ok(p) => s.libraries.push(p),
                            Err(_) => bad = true,
                        }
                    }
                }
                _ => {
                    // scriptpre, scriptpost
                    if !raw.trim().is_empty() {
                        match normalize_path(&raw) {
                            Ok(p) if tag == "scriptpre" => s.pre_script = Some(p),
                            Ok(p) => s.post_script = Some(p),
                            Err(_) => bad = true,
                        }
                    }
                }
            }
            if bad {
                insert_unique(&mut fields, legacy(&el.name), raw);
            }
        }
        s.fields = fields;
        dedupe_names(&mut suites);
        let mut p = Project {
            name: name.to_string(),
            settings: s,
            suites,
        };
        self.resolve_dependencies(&mut p);
        p.validate().map_err(|e| LegacyXmlError::Project(e.message))?;
        Ok(p)
    }

    fn count(&mut self, el: &Elem) -> Result<()> {
        self.items += 1;
        if self.items > MAX_ITEMS {
            return Err(LegacyXmlError::Invalid {
                tag: el.name.clone(),
                line: el.line,
                message: format!("more than {MAX_ITEMS} suites and tests"),
            });
        }
        Ok(())
    }

    fn suite(&mut self, el: &Elem, addr: Vec<usize>) -> Result<Suite> {
        if addr.len() > MAX_DEPTH + 1 {
            return Err(LegacyXmlError::Invalid {
                tag: el.name.clone(),
                line: el.line,
                message: format!("suites nest deeper than {MAX_DEPTH}"),
            });
        }
        self.count(el)?;
        let mut suite = Suite {
            repeat: 1,
            ..Suite::default()
        };
        let mut fields = BTreeMap::new();
        keep_extras(&mut fields, el);
        let mut seen = BTreeSet::new();
        let mut name: Option<String> = None;
        let mut testbeds: Vec<(String, Option<String>)> = Vec::new();
        let mut order: Vec<String> = Vec::new();
        let mut interleaved = false;
        for c in el.elems() {
            let tag = c.lower();
            match tag.as_str() {
                "testsuite" => {
                    let index = suite.suites.len();
                    let mut a = addr.clone();
                    a.push(index);
                    let child = self.suite(c, a)?;
                    order.push(format!("TestSuite {}", child.name));
                    suite.suites.push(child);
                    continue;
                }
                "testcase" => {
                    interleaved |= !suite.suites.is_empty();
                    let index = suite.tests.len();
                    let t = self.test(c, &addr, index)?;
                    order.push(format!("TestCase {}", t.file));
                    suite.tests.push(t);
                    continue;
                }
                "userdefined" => {
                    if let Some((k, v)) = prop_pair(c)? {
                        insert_unique(&mut fields, k, v);
                    }
                    continue;
                }
                "sutname" | "tbname" => {
                    testbeds.push((c.name.clone(), c.simple_text()?));
                    continue;
                }
                _ => {}
            }
            if !SUITE_TAGS.contains(&tag.as_str()) || !seen.insert(tag.clone()) {
                keep_element(&mut fields, c, self.src);
                continue;
            }
            let raw = c.simple_text()?;
            let text = raw.clone().unwrap_or_default();
            let mut bad = false;
            match tag.as_str() {
                "tsname" => name = Some(text.clone()),
                "epid" => {
                    for ep in list_decode(&text) {
                        if name_ok(&ep) {
                            suite.eps.push(ep);
                        } else {
                            bad = true;
                        }
                    }
                }
                "panicdetect" => match parse_bool(&text) {
                    Ok(v) => suite.panic_detect = v.unwrap_or(false),
                    Err(()) => bad = true,
                },
                "repeat" => match parse_repeat(&text) {
                    Some(n) => suite.repeat = n,
                    None => bad = true,
                },
                "id" => suite.id = raw,
                _ => {
                    // dependency
                    if !text.trim().is_empty() {
                        self.deps.push(PendingDep {
                            suite: addr.clone(),
                            test: None,
                            tag: c.name.clone(),
                            raw: text.clone(),
                        });
                    }
                }
            }
            if bad {
                insert_unique(&mut fields, legacy(&c.name), text);
            }
        }
        let Some(raw_name) = name else {
            return Err(LegacyXmlError::Missing {
                tag: "tsName",
                parent: el.name.clone(),
                line: el.line,
            });
        };
        suite.name = sanitize_name(&raw_name);
        if suite.name != raw_name {
            insert_unique(&mut fields, legacy("tsName"), raw_name);
        }
        // SutName (newer) before TbName (older).
        testbeds.sort_by_key(|(tag, _)| !tag.eq_ignore_ascii_case("sutname"));
        for (i, (tag, value)) in testbeds.into_iter().enumerate() {
            let Some(value) = value else { continue };
            let entries = list_decode(&value);
            let chosen = entries.first().filter(|tb| NodePath::parse(tb).is_ok());
            match chosen {
                Some(tb) if suite.testbed.is_none() => {
                    if entries.len() > 1 {
                        insert_unique(&mut fields, legacy(&tag), value.clone());
                    }
                    suite.testbed = Some(tb.clone());
                }
                Some(tb) if i > 0 && entries.len() == 1 && suite.testbed.as_ref() == Some(tb) => {}
                _ if entries.is_empty() => {}
                _ => insert_unique(&mut fields, legacy(&tag), value),
            }
        }
        if interleaved {
            insert_unique(&mut fields, legacy("order"), order.join("; "));
        }
        suite.fields = fields;
        dedupe_names(&mut suite.suites);
        Ok(suite)
    }

    fn test(&mut self, el: &Elem, addr: &[usize], index: usize) -> Result<TestCase> {
        self.count(el)?;
        let mut t = TestCase {
            file: String::new(),
            id: None,
            title: String::new(),
            summary: String::new(),
            runnable: true,
            optional: false,
            setup: false,
            teardown: false,
            args: Vec::new(),
            properties: BTreeMap::new(),
            depends_on: None,
            depends_status: None,
            repeat: 1,
            timeout_s: 0,
        };
        let mut props = BTreeMap::new();
        keep_extras(&mut props, el);
        let mut seen = BTreeSet::new();
        let mut file: Option<(String, usize)> = None;
        let mut tcid: Option<String> = None;
        let mut dep: Option<(String, String)> = None;
        let mut old_dep: Option<(String, String)> = None;
        let mut pairs = Vec::new();
        for c in el.elems() {
            let tag = c.lower();
            if tag == "testsuite" || tag == "testcase" {
                return Err(LegacyXmlError::Unexpected {
                    tag: c.name.clone(),
                    parent: el.name.clone(),
                    line: c.line,
                });
            }
            if tag == "property" {
                if let Some(pair) = prop_pair(c)? {
                    pairs.push(pair);
                }
                continue;
            }
            if !TEST_TAGS.contains(&tag.as_str()) || !seen.insert(tag.clone()) {
                keep_element(&mut props, c, self.src);
                continue;
            }
            let raw = c.simple_text()?;
            let text = raw.clone().unwrap_or_default();
            let mut bad = false;
            match tag.as_str() {
                "tcname" => file = Some((text.clone(), c.line)),
                "title" => {
                    if name_ok(&text) {
                        t.title = text.clone();
                    } else if !text.trim().is_empty() {
                        bad = true;
                    }
                }
                "summary" => t.summary = text.clone(),
                "repeat" => match parse_repeat(&text) {
                    Some(n) => t.repeat = n,
                    None => bad = true,
                },
                "timeout" => {
                    let v = text.trim();
                    if !v.is_empty() {
                        match v.parse::<u64>() {
                            Ok(n) if n <= MAX_TIMEOUT_S => t.timeout_s = n,
                            _ => bad = true,
                        }
                    }
                }
                "id" => t.id = raw,
                "tcid" => tcid = raw,
                "dependency" => dep = Some((c.name.clone(), text.clone())),
                _ => old_dep = Some((c.name.clone(), text.clone())), // dependancy
            }
            if bad {
                insert_unique(&mut props, legacy(&c.name), text);
            }
        }
        // The newer <ID> wins over the older <tcID>.
        match (&t.id, tcid) {
            (None, Some(id)) => t.id = Some(id),
            (Some(_), Some(id)) => insert_unique(&mut props, legacy("tcID"), id),
            _ => {}
        }
        let Some((raw_file, line)) = file.filter(|(f, _)| !f.trim().is_empty()) else {
            return Err(LegacyXmlError::Missing {
                tag: "tcName",
                parent: el.name.clone(),
                line: el.line,
            });
        };
        t.file = normalize_path(&raw_file).map_err(|message| LegacyXmlError::Invalid {
            tag: "tcName".into(),
            line,
            message,
        })?;
        // The newer <Dependency> wins over the older <Dependancy>.
        let dep = dep.filter(|(_, d)| !d.trim().is_empty());
        let old_dep = old_dep.filter(|(_, d)| !d.trim().is_empty());
        let chosen = match (dep, old_dep) {
            (Some(d), Some((tag, raw))) => {
                insert_unique(&mut props, legacy(&tag), raw);
                Some(d)
            }
            (d, o) => d.or(o),
        };
        if let Some((tag, raw)) = chosen {
            self.deps.push(PendingDep {
                suite: addr.to_vec(),
                test: Some(index),
                tag,
                raw,
            });
        }
        for (name, value) in pairs {
            if let Some(plain) = name.strip_prefix(ESCAPED_PROPERTY_PREFIX) {
                insert_unique(&mut props, plain.to_string(), value);
                continue;
            }
            let lower = name.to_ascii_lowercase();
            let flag = match lower.as_str() {
                "runnable" => Some(&mut t.runnable),
                "optional" => Some(&mut t.optional),
                "setup_file" | "prerequisite" => Some(&mut t.setup),
                "teardown_file" => Some(&mut t.teardown),
                _ => None,
            };
            if let Some(flag) = flag {
                match parse_bool(&value) {
                    Ok(Some(v)) => *flag = v,
                    Ok(None) => {}
                    Err(()) => insert_unique(&mut props, legacy(&name), value),
                }
                continue;
            }
            if is_param(&lower) {
                t.args.push(value);
            } else if !(lower == "running" && value.trim().eq_ignore_ascii_case("true")) {
                insert_unique(&mut props, name, value);
            }
        }
        if t.setup && t.teardown {
            t.teardown = false;
            insert_unique(&mut props, legacy("teardown_file"), "true".into());
        }
        t.properties = props;
        Ok(t)
    }

    fn resolve_dependencies(&mut self, p: &mut Project) {
        let mut test_keys = BTreeSet::new();
        let mut suite_keys = BTreeSet::new();
        collect_keys(&p.suites, &mut test_keys, &mut suite_keys);
        for dep in std::mem::take(&mut self.deps) {
            let Some(suite) = suite_at(&mut p.suites, &dep.suite) else {
                continue;
            };
            let entries: Vec<&str> = dep
                .raw
                .split(';')
                .map(|e| e.trim_matches(is_list_space))
                .filter(|e| !e.is_empty())
                .collect();
            let Some(first) = entries.first() else { continue };
            let (id, status) = match first.rsplit_once(':') {
                Some((id, st)) => (
                    pct_decode(id.trim_matches(is_list_space), &LIST_CODES),
                    map_status(st),
                ),
                None => (pct_decode(first, &LIST_CODES), Some(None)),
            };
            let complete = entries.len() == 1;
            match dep.test {
                None => {
                    let ok = matches!(status, Some(None) | Some(Some("pass")))
                        && suite_keys.contains(&id)
                        && id != suite.key();
                    if ok {
                        suite.depends_on = Some(id);
                    }
                    if !ok || !complete {
                        insert_unique(&mut suite.fields, legacy(&dep.tag), dep.raw);
                    }
                }
                Some(i) => {
                    let Some(t) = suite.tests.get_mut(i) else { continue };
                    let ok = status.is_some() && test_keys.contains(&id) && id != t.key();
                    if ok {
                        t.depends_on = Some(id);
                        t.depends_status = status.flatten().map(str::to_string);
                    }
                    if !ok || !complete {
                        insert_unique(&mut t.properties, legacy(&dep.tag), dep.raw);
                    }
                }
            }
        }
    }
}

fn is_param(lower: &str) -> bool {
    matches!(lower, "param" | "params" | "parameter" | "parameters")
}

fn parse_repeat(s: &str) -> Option<u32> {
    let t = s.trim();
    if t.is_empty() {
        return Some(1);
    }
    t.parse::<u32>().ok().filter(|n| (1..=MAX_REPEAT).contains(n))
}

fn collect_keys(suites: &[Suite], tests: &mut BTreeSet<String>, keys: &mut BTreeSet<String>) {
    for s in suites {
        keys.insert(s.key().to_string());
        for t in &s.tests {
            tests.insert(t.key().to_string());
        }
        collect_keys(&s.suites, tests, keys);
    }
}

fn suite_at<'a>(suites: &'a mut [Suite], addr: &[usize]) -> Option<&'a mut Suite> {
    let (first, rest) = addr.split_first()?;
    let s = suites.get_mut(*first)?;
    if rest.is_empty() {
        Some(s)
    } else {
        suite_at(&mut s.suites, rest)
    }
}

/// Renames sibling suites that share a name: the second `S` becomes `S (2)`, and so on.
fn dedupe_names(suites: &mut [Suite]) {
    let mut taken: BTreeSet<String> = suites.iter().map(|s| s.name.clone()).collect();
    let mut used = BTreeSet::new();
    for s in suites.iter_mut() {
        if used.insert(s.name.clone()) {
            continue;
        }
        let mut n = 2usize;
        let new = loop {
            let suffix = format!(" ({n})");
            let candidate = format!("{}{suffix}", cut(&s.name, MAX_NAME - suffix.len()));
            if !taken.contains(&candidate) {
                break candidate;
            }
            n += 1;
        };
        taken.insert(new.clone());
        used.insert(new.clone());
        s.name = new;
    }
}

/// Reads an original project file or `testsuites.xml` into a [`Project`] named `name`.
///
/// Every tag with a meaning in the model is mapped (see the module documentation); original-only data is
/// kept under `legacy.` keys. The result passes [`Project::validate`]; a file whose content cannot fit the
/// model (a test file outside the test-source directory, suites nested too deeply) is an error naming the
/// line, as is text that is not XML or whose root is not `<Root>`.
pub fn project_from_xml(xml: &str, name: &str) -> std::result::Result<Project, LegacyXmlError> {
    let (root, src) = parse_root(xml, "Root")?;
    let mut importer = Importer {
        src,
        deps: Vec::new(),
        items: 0,
    };
    importer.project(&root, name)
}

// ----------------------------------------------------------------------------------------------------------
// Writing.

const INDENT: &str = "    ";

/// Escapes text content; control characters other than tab and newline become character references.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}') => {
                out.push_str(&format!("&#x{:X};", u32::from(c)))
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether a value can be written as raw XML content (it is a well-formed fragment holding markup).
fn is_fragment(value: &str) -> bool {
    if !value.contains('<') {
        return false;
    }
    match parse_document(&format!("<x>{value}</x>"), "x", 64) {
        Ok(root) => root.has_markup(),
        Err(_) => false,
    }
}

fn is_tag_name(t: &str) -> bool {
    let mut chars = t.chars();
    let Some(first) = chars.next() else { return false };
    (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !t.to_ascii_lowercase().starts_with("xml")
}

/// The element a `legacy.<Tag>` key goes back to, unless the level writes or reads `<Tag>` itself.
fn kept_tag<'k>(key: &'k str, known: &[&str]) -> Option<&'k str> {
    let t = key.strip_prefix(LEGACY_PREFIX)?;
    let lower = t.to_ascii_lowercase();
    let structural = [
        "root",
        "testsuite",
        "testcase",
        "property",
        "userdefined",
        "propname",
        "propvalue",
    ];
    (is_tag_name(t) && !known.contains(&lower.as_str()) && !structural.contains(&lower.as_str())).then_some(t)
}

struct Writer {
    out: String,
    /// Give mapped elements the original text kept under `legacy.<Tag>` (see [`project_to_xml`]).
    restore: bool,
}

/// The mapped elements whose original text a `legacy.<Tag>` entry can give back, per level.
const RESTORABLE_ROOT: [&str; 7] = [
    "stoponfail",
    "PrePostMandatory",
    "ScriptPre",
    "libraries",
    "ScriptPost",
    "dbautosave",
    "tcdelay",
];
const RESTORABLE_SUITE: [&str; 6] = ["tsName", "Repeat", "PanicDetect", "Dependency", "SutName", "EpId"];
const RESTORABLE_TEST: [&str; 4] = ["Title", "Repeat", "Dependency", "Timeout"];

impl Writer {
    fn pad(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str(INDENT);
        }
    }

    fn open(&mut self, depth: usize, tag: &str) {
        self.pad(depth);
        self.out.push_str(&format!("<{tag}>\n"));
    }

    fn close(&mut self, depth: usize, tag: &str) {
        self.pad(depth);
        self.out.push_str(&format!("</{tag}>\n"));
    }

    /// `<tag>text</tag>`, or `<tag/>` for an empty text.
    fn leaf(&mut self, depth: usize, tag: &str, text: &str) {
        self.pad(depth);
        if text.is_empty() {
            self.out.push_str(&format!("<{tag}/>\n"));
        } else {
            self.out.push_str(&format!("<{tag}>{}</{tag}>\n", esc(text)));
        }
    }

    /// `<tag/>` for `None`, `<tag>text</tag>` (even empty) for `Some`.
    fn leaf_opt(&mut self, depth: usize, tag: &str, text: Option<&str>) {
        match text {
            None => self.leaf(depth, tag, ""),
            Some(t) => {
                self.pad(depth);
                self.out.push_str(&format!("<{tag}>{}</{tag}>\n", esc(t)));
            }
        }
    }

    /// A kept element: raw when the value is an XML fragment, escaped text otherwise.
    fn kept(&mut self, depth: usize, tag: &str, value: &str) {
        if is_fragment(value) {
            self.pad(depth);
            self.out.push_str(&format!("<{tag}>{value}</{tag}>\n"));
        } else {
            self.leaf(depth, tag, value);
        }
    }

    /// A mapped element: the model's text, or (when restoring) the original text kept under `legacy.<tag>`.
    fn mapped(
        &mut self,
        depth: usize,
        tag: &str,
        text: &str,
        kept: &BTreeMap<String, String>,
        used: &mut BTreeSet<String>,
    ) {
        let key = legacy(tag);
        match kept.get(&key).filter(|_| self.restore) {
            Some(raw) => {
                self.leaf(depth, tag, raw);
                used.insert(key);
            }
            None => self.leaf(depth, tag, text),
        }
    }

    fn pair(&mut self, depth: usize, tag: &str, name: &str, value: &str) {
        self.open(depth, tag);
        self.leaf(depth + 1, "propName", name);
        self.leaf(depth + 1, "propValue", value);
        self.close(depth, tag);
    }

    /// Fields: `legacy.<Tag>` back as elements, the rest as `UserDefined`.
    fn fields(
        &mut self,
        depth: usize,
        fields: &BTreeMap<String, String>,
        known: &[&str],
        used: &BTreeSet<String>,
    ) {
        for (k, v) in fields {
            if let Some(tag) = kept_tag(k, known) {
                self.kept(depth, tag, v);
            }
        }
        for (k, v) in fields {
            if kept_tag(k, known).is_none() && !used.contains(k) {
                self.pair(depth, "UserDefined", k, v);
            }
        }
    }

    fn suite(&mut self, depth: usize, s: &Suite) {
        self.open(depth, "TestSuite");
        let d = depth + 1;
        let (kept, mut used) = (&s.fields, BTreeSet::new());
        self.mapped(d, "tsName", &s.name, kept, &mut used);
        self.mapped(d, "Repeat", &s.repeat.to_string(), kept, &mut used);
        self.mapped(d, "PanicDetect", bool_text(s.panic_detect), kept, &mut used);
        let dep = s
            .depends_on
            .as_ref()
            .map(|id| format!("{}:pass;", list_encode(id)));
        self.mapped(d, "Dependency", dep.as_deref().unwrap_or(""), kept, &mut used);
        self.leaf_opt(d, "ID", s.id.as_deref());
        let testbed = match s.testbed.as_deref() {
            // An empty testbed names the inventory root, as "/" does.
            Some("") => "/".to_string(),
            Some(tb) => list_encode(tb),
            None => String::new(),
        };
        self.mapped(d, "SutName", &testbed, kept, &mut used);
        let eps: Vec<String> = s.eps.iter().map(|e| list_encode(e)).collect();
        self.mapped(d, "EpId", &eps.join(";"), kept, &mut used);
        self.fields(d, &s.fields, &SUITE_TAGS, &used);
        for t in &s.tests {
            self.test(d, t);
        }
        for child in &s.suites {
            self.suite(d, child);
        }
        self.close(depth, "TestSuite");
    }

    fn test(&mut self, depth: usize, t: &TestCase) {
        self.open(depth, "TestCase");
        let d = depth + 1;
        let (kept, mut used) = (&t.properties, BTreeSet::new());
        self.leaf(d, "tcName", &path_out(&t.file));
        self.mapped(d, "Title", &t.title, kept, &mut used);
        self.leaf(d, "Summary", &t.summary);
        self.mapped(d, "Repeat", &t.repeat.to_string(), kept, &mut used);
        self.leaf_opt(d, "ID", t.id.as_deref());
        let dep = t.depends_on.as_ref().map(|id| {
            let status = t.depends_status.as_deref().unwrap_or_default();
            format!("{}:{status};", list_encode(id))
        });
        self.mapped(d, "Dependency", dep.as_deref().unwrap_or(""), kept, &mut used);
        if t.timeout_s > 0 || (self.restore && kept.contains_key(&legacy("Timeout"))) {
            self.mapped(d, "Timeout", &t.timeout_s.to_string(), kept, &mut used);
        }
        for (k, v) in kept {
            if let Some(tag) = kept_tag(k, &TEST_TAGS) {
                self.kept(d, tag, v);
            }
        }
        self.pair(d, "Property", "Runnable", bool_text(t.runnable));
        for (flag, name) in [
            (t.optional, "Optional"),
            (t.setup, "setup_file"),
            (t.teardown, "teardown_file"),
        ] {
            if flag {
                self.pair(d, "Property", name, "true");
            }
        }
        for a in &t.args {
            self.pair(d, "Property", "param", a);
        }
        for (k, v) in kept {
            if kept_tag(k, &TEST_TAGS).is_some() || used.contains(k) {
                continue;
            }
            if property_needs_escape(k, v) {
                self.pair(d, "Property", &format!("{ESCAPED_PROPERTY_PREFIX}{k}"), v);
            } else {
                self.pair(d, "Property", k, v);
            }
        }
        self.close(depth, "TestCase");
    }
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// Whether a property written under its own name would read back as something else.
fn property_needs_escape(name: &str, value: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.starts_with(ESCAPED_PROPERTY_PREFIX)
        || matches!(
            lower.as_str(),
            "runnable" | "optional" | "setup_file" | "prerequisite" | "teardown_file"
        )
        || is_param(&lower)
        || (lower == "running" && value.trim().eq_ignore_ascii_case("true"))
}

/// Writes a project in the original project-file format (the shape of the 2014 `config/projects/*.xml`).
///
/// Where a project read by [`project_from_xml`] kept the original text of a mapped element under
/// `legacy.<Tag>` (`dbautosave` = `ask`, several SUTs, several dependencies, a suite name that had to be
/// cleaned...), that text goes back into the element, provided the file still reads back as the same
/// project; otherwise it is written as a `UserDefined` or `Property` entry.
///
/// `project_from_xml(&project_to_xml(p), &p.name)` gives `p` back for every valid `p`, with two exceptions:
/// an empty testbed is written as `/`, the inventory root it stands for, and a NUL character, which XML
/// cannot carry, makes the written file unreadable.
pub fn project_to_xml(p: &Project) -> String {
    let plain = write_project(p, false);
    if !has_restorable(p) {
        return plain;
    }
    let restored = write_project(p, true);
    if project_from_xml(&restored, &p.name).ok().as_ref() == Some(p) {
        restored
    } else {
        plain
    }
}

fn has_restorable(p: &Project) -> bool {
    fn any(map: &BTreeMap<String, String>, tags: &[&str]) -> bool {
        tags.iter().any(|t| map.contains_key(&legacy(t)))
    }
    fn suites(list: &[Suite]) -> bool {
        list.iter().any(|s| {
            any(&s.fields, &RESTORABLE_SUITE)
                || s.tests.iter().any(|t| any(&t.properties, &RESTORABLE_TEST))
                || suites(&s.suites)
        })
    }
    any(&p.settings.fields, &RESTORABLE_ROOT) || suites(&p.suites)
}

fn write_project(p: &Project, restore: bool) -> String {
    let s = &p.settings;
    let mut w = Writer {
        out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"),
        restore,
    };
    let (kept, mut used) = (&s.fields, BTreeSet::new());
    w.open(0, "Root");
    w.mapped(1, "stoponfail", bool_text(s.stop_on_fail), kept, &mut used);
    w.mapped(
        1,
        "PrePostMandatory",
        bool_text(s.scripts_mandatory),
        kept,
        &mut used,
    );
    let pre = s.pre_script.as_deref().map(path_out).unwrap_or_default();
    w.mapped(1, "ScriptPre", &pre, kept, &mut used);
    let libs: String = s
        .libraries
        .iter()
        .map(|l| format!("{};", list_encode(&path_out(l))))
        .collect();
    w.mapped(1, "libraries", &libs, kept, &mut used);
    let post = s.post_script.as_deref().map(path_out).unwrap_or_default();
    w.mapped(1, "ScriptPost", &post, kept, &mut used);
    w.mapped(1, "dbautosave", bool_text(s.db_autosave), kept, &mut used);
    w.mapped(1, "tcdelay", &format!("{}", s.delay_s), kept, &mut used);
    w.fields(1, &s.fields, &ROOT_TAGS, &used);
    for suite in &p.suites {
        w.suite(1, suite);
    }
    w.close(0, "Root");
    w.out
}

// ----------------------------------------------------------------------------------------------------------
// Globals.

fn globals_walk(
    el: &Elem,
    prefix: &mut Vec<String>,
    out: &mut Vec<(String, String)>,
    src: &str,
) -> Result<()> {
    if stray_text(el) {
        return Err(LegacyXmlError::Unexpected {
            tag: "#text".into(),
            parent: el.name.clone(),
            line: el.line,
        });
    }
    let is_root = prefix.is_empty() && el.is("root");
    for c in el.elems() {
        if c.is("folder") {
            let fname = c.elems().find(|x| x.is("fname"));
            let name = match fname {
                Some(f) => f.simple_text()?.unwrap_or_default(),
                None => String::new(),
            };
            if name.is_empty() {
                return Err(LegacyXmlError::Missing {
                    tag: "fname",
                    parent: c.name.clone(),
                    line: c.line,
                });
            }
            prefix.push(segment_encode(&name));
            globals_walk(c, prefix, out, src)?;
            prefix.pop();
        } else if c.is("param") {
            let mut name = None;
            let mut value = None;
            for x in c.elems() {
                if x.is("name") {
                    name = name.or(Some(x.simple_text()?.unwrap_or_default()));
                } else if x.is("value") {
                    value = value.or(Some(x.kept_value(src)));
                } else if !(x.is("desc") || x.is("type")) {
                    return Err(LegacyXmlError::Unexpected {
                        tag: x.name.clone(),
                        parent: c.name.clone(),
                        line: x.line,
                    });
                }
            }
            let name = name.unwrap_or_default();
            if name.is_empty() {
                return Err(LegacyXmlError::Missing {
                    tag: "name",
                    parent: c.name.clone(),
                    line: c.line,
                });
            }
            let mut path = String::new();
            for seg in prefix.iter() {
                path.push('/');
                path.push_str(seg);
            }
            path.push('/');
            path.push_str(&segment_encode(&name));
            out.push((path, value.unwrap_or_default()));
        } else if is_root || !(c.is("fname") || c.is("fdesc")) {
            return Err(LegacyXmlError::Unexpected {
                tag: c.name.clone(),
                parent: el.name.clone(),
                line: c.line,
            });
        }
    }
    Ok(())
}

/// Reads the original `globals.xml` (folders of variables) into `(path, value)` pairs in file order, the path
/// being `/folder/sub/name`. Descriptions and types are not part of the pairs.
pub fn globals_from_xml(xml: &str) -> std::result::Result<Vec<(String, String)>, LegacyXmlError> {
    let (root, src) = parse_root(xml, "root")?;
    let mut out = Vec::new();
    globals_walk(&root, &mut Vec::new(), &mut out, src)?;
    Ok(out)
}

#[derive(Default)]
struct Folder {
    params: Vec<(String, String)>,
    folders: Vec<(String, Folder)>,
}

impl Folder {
    fn insert(&mut self, path: &[String], value: &str) {
        match path {
            [] => {}
            [name] => self.params.push((name.clone(), value.to_string())),
            [first, rest @ ..] => {
                let i = match self.folders.iter().position(|(n, _)| n == first) {
                    Some(i) => i,
                    None => {
                        self.folders.push((first.clone(), Folder::default()));
                        self.folders.len() - 1
                    }
                };
                if let Some((_, f)) = self.folders.get_mut(i) {
                    f.insert(rest, value);
                }
            }
        }
    }

    fn write(&self, w: &mut Writer, depth: usize) {
        for (name, value) in &self.params {
            w.open(depth, "param");
            w.leaf(depth + 1, "name", name);
            w.kept(depth + 1, "value", value);
            w.leaf(depth + 1, "desc", "");
            w.leaf(depth + 1, "type", "string");
            w.close(depth, "param");
        }
        for (name, f) in &self.folders {
            w.open(depth, "folder");
            w.leaf(depth + 1, "fname", name);
            w.leaf(depth + 1, "fdesc", "");
            f.write(w, depth + 1);
            w.close(depth, "folder");
        }
    }
}

/// Writes `(path, value)` pairs as the original `globals.xml`: one `folder` per path segment, one `param` per
/// pair. Pairs are grouped by folder (a folder's variables, then its sub-folders, each in first-seen order),
/// which is the order [`globals_from_xml`] returns them in.
pub fn globals_to_xml(entries: &[(String, String)]) -> String {
    let mut root = Folder::default();
    for (path, value) in entries {
        let segs: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| pct_decode(s, &SEGMENT_CODES))
            .collect();
        if segs.is_empty() {
            root.params.push((path.clone(), value.clone()));
        } else {
            root.insert(&segs, value);
        }
    }
    let mut w = Writer {
        out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        restore: false,
    };
    w.open(0, "root");
    root.write(&mut w, 1);
    w.close(0, "root");
    w.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const V1: &str = include_str!("../../tests/fixtures/legacy/v1_minimal.xml");
    const V2: &str = include_str!("../../tests/fixtures/legacy/v2_testsuites.xml");
    const V3: &str = include_str!("../../tests/fixtures/legacy/v3_project.xml");
    const GLOBALS: &str = include_str!("../../tests/fixtures/legacy/globals.xml");

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn read(xml: &str) -> Project {
        project_from_xml(xml, "imported").unwrap()
    }

    /// Reading what the writer wrote gives the project back.
    fn assert_round_trip(p: &Project) {
        let xml = project_to_xml(p);
        let back = project_from_xml(&xml, &p.name).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(&back, p, "{xml}");
    }

    #[test]
    fn v2_testsuites_field_by_field() {
        let p = read(V2);
        assert_eq!(p.name, "imported");
        let s = &p.settings;
        assert!(s.stop_on_fail);
        assert!(s.db_autosave);
        assert_eq!(s.delay_s, 3.0);
        assert_eq!(s.libraries, strings(&["lib_ssh.py", "lib_snmp.py"]));
        assert_eq!(s.pre_script.as_deref(), Some("twister/scripts/prepare_lab.sh"));
        assert_eq!(s.post_script, None);
        assert!(!s.scripts_mandatory);
        assert!(s.fields.is_empty());

        assert_eq!(p.suites.len(), 2);
        let smoke = &p.suites[0];
        assert_eq!(smoke.name, "Router smoke");
        assert_eq!(smoke.id, None);
        assert_eq!(smoke.eps, strings(&["EP-LAB-1"]));
        assert_eq!(smoke.testbed.as_deref(), Some("rack7"));
        assert!(smoke.panic_detect);
        assert_eq!(smoke.repeat, 1);
        assert_eq!(smoke.depends_on, None);
        assert_eq!(
            smoke.fields,
            map(&[
                ("release", "4.2"),
                ("build", "4.2.117"),
                ("legacy.libraries", "suite_helpers.py;"),
                (
                    "legacy.order",
                    "TestCase router/boot_check.py; TestCase router/ping_all.tcl; TestSuite Interfaces; \
                     TestCase router/cleanup.py"
                ),
            ])
        );
        assert_eq!(smoke.tests.len(), 3);
        let boot = &smoke.tests[0];
        assert_eq!(boot.file, "router/boot_check.py");
        assert_eq!(boot.id.as_deref(), Some("2001"));
        assert_eq!(boot.title, "Router boots");
        assert_eq!(boot.summary, "Power cycles the router and waits for the prompt");
        assert!(boot.runnable && boot.setup && !boot.teardown && !boot.optional);
        assert!(boot.args.is_empty());
        assert_eq!(boot.properties, map(&[("legacy.Priority", "High")]));
        assert_eq!(boot.depends_on, None);
        assert_eq!((boot.repeat, boot.timeout_s), (1, 0));

        let ping = &smoke.tests[1];
        assert_eq!(ping.file, "router/ping_all.tcl");
        assert_eq!(ping.id.as_deref(), Some("2002"));
        assert_eq!(ping.title, "");
        assert!(ping.optional && ping.runnable && !ping.setup);
        assert_eq!(ping.args, strings(&["-c 5", "--quiet"]));
        assert_eq!(
            ping.properties,
            map(&[("legacy.Priority", "Medium"), ("target_ip", "10.0.0.1")])
        );
        assert_eq!(ping.depends_on.as_deref(), Some("2001"));
        assert_eq!(ping.depends_status, None);

        let cleanup = &smoke.tests[2];
        assert_eq!(cleanup.file, "router/cleanup.py");
        assert!(cleanup.teardown && !cleanup.setup);

        assert_eq!(smoke.suites.len(), 1);
        let ifs = &smoke.suites[0];
        assert_eq!(ifs.name, "Interfaces");
        assert_eq!(ifs.testbed.as_deref(), Some("rack7"));
        assert!(!ifs.panic_detect);
        assert_eq!(ifs.tests.len(), 1);
        assert!(!ifs.tests[0].runnable);
        assert_eq!(ifs.tests[0].file, "router/if_up.py");

        let second = &p.suites[1];
        assert_eq!(second.name, "Router smoke (2)");
        assert_eq!(second.eps, strings(&["EP-LAB-2"]));
        assert_eq!(second.tests[0].id.as_deref(), Some("2005"));
        assert!(p.validate().is_ok());
        assert_round_trip(&p);
    }

    #[test]
    fn v3_project_field_by_field() {
        let p = read(V3);
        let s = &p.settings;
        assert!(!s.stop_on_fail);
        assert!(s.scripts_mandatory);
        assert!(!s.db_autosave);
        assert_eq!(s.delay_s, 2.5);
        assert_eq!(s.pre_script.as_deref(), Some("scripts/start_capture.sh"));
        assert_eq!(s.post_script, None);
        assert_eq!(s.libraries, strings(&["net/pcap_tools.py", "ssh_helper.py"]));
        assert_eq!(
            s.fields,
            map(&[
                ("campaign", "nightly"),
                ("legacy.ClearCaseView", "qa_integration_view"),
                ("legacy.DownloadLibraries", "flat"),
                ("legacy.dbautosave", "ask"),
            ])
        );

        let [suite] = p.suites.as_slice() else {
            panic!("one suite")
        };
        assert_eq!(suite.name, "Switch_regression");
        assert_eq!(suite.repeat, 2);
        assert!(suite.panic_detect);
        assert_eq!(suite.id.as_deref(), Some("5b0e2b9a-1d7c-4c42-9a55-0f1e8c3d7a01"));
        assert_eq!(suite.testbed.as_deref(), Some("edge_switch(qa)"));
        assert!(suite.eps.is_empty());
        assert_eq!(suite.depends_on, None);
        assert_eq!(
            suite.fields,
            map(&[("Run_Number", "17"), ("legacy.ConfigFiles", "")])
        );
        let [setup, stp, restore] = suite.tests.as_slice() else {
            panic!("three tests")
        };
        let (setup_id, stp_id) = (
            "0c6f3f0e-5a51-4d0e-8d64-3f4c2b6a9e10",
            "7a9d2c41-8e0b-4f5a-b7c3-2d1e9f6a4b22",
        );

        assert_eq!(setup.file, "twister/demo/switch/setup_vlans.py");
        assert_eq!(setup.id.as_deref(), Some(setup_id));
        assert!(setup.setup && setup.runnable);
        assert_eq!(
            setup.properties,
            map(&[("legacy.ConfigFiles", ""), ("legacy.iterationSave", "all")])
        );

        assert_eq!(stp.repeat, 3);
        assert_eq!(stp.depends_on.as_deref(), Some(setup_id));
        assert_eq!(stp.depends_status.as_deref(), Some("pass"));
        assert_eq!(stp.properties["Running"], "false");
        assert_eq!(stp.properties["vlan"], "100");
        assert_eq!(stp.properties["legacy.iterationSave"], "failed");
        assert_eq!(
            stp.properties["legacy.ClearCase"],
            "/vobs/tests/switch/stp_convergence.py@@/main/12"
        );
        let config = &stp.properties["legacy.ConfigFiles"];
        assert!(config.trim().starts_with("<Config enabled=\"true\""), "{config}");
        assert!(config.contains("name=\"stp_params\""));

        assert!(restore.teardown);
        assert_eq!(restore.depends_on.as_deref(), Some(stp_id));
        assert_eq!(restore.depends_status.as_deref(), Some("fail"));
        // Only the first of two dependencies fits the model: the whole list is kept.
        assert_eq!(
            restore.properties["legacy.Dependency"],
            format!("{stp_id}:Fail;{setup_id}:Pass;")
        );
        assert_round_trip(&p);

        // The writer gives the original elements back.
        let xml = project_to_xml(&p);
        for part in [
            "<ClearCaseView>qa_integration_view</ClearCaseView>",
            "<DownloadLibraries>flat</DownloadLibraries>",
            "<SutName>edge_switch(qa)</SutName>",
            "<iterationSave>failed</iterationSave>",
            "<Config enabled=\"true\"",
            "<libraries>net/pcap_tools.py;ssh_helper.py;</libraries>",
            "<tcdelay>2.5</tcdelay>",
            "<Dependency>0c6f3f0e-5a51-4d0e-8d64-3f4c2b6a9e10:pass;</Dependency>",
        ] {
            assert!(xml.contains(part), "{part} missing from\n{xml}");
        }
    }

    #[test]
    fn v1_minimal_field_by_field() {
        let p = read(V1);
        assert_eq!(p.settings, ProjectSettings::default());
        let [suite] = p.suites.as_slice() else {
            panic!("one suite")
        };
        assert_eq!(suite.name, "first suite");
        assert_eq!(suite.eps, strings(&["EP-1001", "EP-1002"]));
        assert_eq!(suite.testbed, None);
        assert_eq!(suite.fields, BTreeMap::new());
        let files: Vec<_> = suite.tests.iter().map(|t| t.file.as_str()).collect();
        assert_eq!(files, ["suite1/check_time.tcl", "suite1/check_disk.py"]);
        for t in &suite.tests {
            assert!(t.runnable && !t.optional && !t.setup && !t.teardown);
            assert_eq!(t.properties, map(&[("legacy.Priority", "Medium")]));
            assert_eq!(t.depends_on, None);
        }
        assert_round_trip(&p);
    }

    #[test]
    fn globals_fixture() {
        let g = globals_from_xml(GLOBALS).unwrap();
        let want = [
            ("/lab/gateway", "192.0.2.1"),
            ("/lab/retries", "3"),
            ("/lab/rack_7/console", "telnet 192.0.2.70 2007"),
            ("/credentials/user", "admin"),
            ("/credentials/empty", ""),
        ];
        let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(g, want);
        let xml = globals_to_xml(&g);
        assert!(xml.contains("<fname>rack_7</fname>"), "{xml}");
        assert_eq!(globals_from_xml(&xml).unwrap(), want);
    }

    #[test]
    fn globals_variants() {
        // Root-level variables, a folder's description after its variables, slashes in names, markup values.
        let xml = "<ROOT><param><name>top</name><value>1</value></param>\
            <folder><param><name>a/b</name><value><x y='1'/></value></param><fname>f</fname></folder></ROOT>";
        let g = globals_from_xml(xml).unwrap();
        assert_eq!(
            g,
            vec![
                ("/top".to_string(), "1".to_string()),
                ("/f/a%2Fb".to_string(), "<x y='1'/>".to_string())
            ]
        );
        assert_eq!(globals_from_xml(&globals_to_xml(&g)).unwrap(), g);
    }

    #[test]
    fn globals_errors() {
        let e = globals_from_xml("<globals/>").unwrap_err();
        assert!(
            e.to_string().contains("<globals>") && e.to_string().contains("<root>"),
            "{e}"
        );
        let e = globals_from_xml("<root>\n<folder>\n<param><value>1</value></param></folder></root>")
            .unwrap_err();
        assert_eq!(e.to_string(), "line 2: <folder> has no <fname>");
        let e = globals_from_xml(
            "<root><folder><fname>a</fname>\n<param><value>1</value></param></folder></root>",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "line 2: <param> has no <name>");
        let e = globals_from_xml("<root>\n\n<bogus/></root>").unwrap_err();
        assert_eq!(e.to_string(), "line 3: unexpected <bogus> inside <root>");
        assert!(matches!(
            globals_from_xml("not xml"),
            Err(LegacyXmlError::Syntax { line: 1, .. })
        ));
    }

    #[test]
    fn errors_name_the_line_or_tag() {
        let e = project_from_xml("this is not XML", "p").unwrap_err();
        assert_eq!(
            e.to_string(),
            "not well-formed XML at line 1: text outside the root element"
        );
        let e = project_from_xml("", "p").unwrap_err();
        assert_eq!(e, LegacyXmlError::NoRoot { expected: "Root" });
        assert!(e.to_string().contains("<Root>"));
        let e = project_from_xml("<?xml version=\"1.0\"?>\n<project>\n</project>", "p").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: the root element is <project>, expected <Root>"
        );
        let e = project_from_xml("<Root>\n  <TestSuite>\n    <tsName>a</tsName>\n</Root>", "p").unwrap_err();
        assert!(matches!(e, LegacyXmlError::Syntax { line: 4, .. }), "{e}");
        assert!(e.to_string().starts_with("not well-formed XML at line 4"), "{e}");
        let e = project_from_xml("<Root>\n<TestSuite>\n<tsName>a</tsName>\n", "p").unwrap_err();
        assert!(e.to_string().contains("never closed"), "{e}");
        let e = project_from_xml("<Root/><Root/>", "p").unwrap_err();
        assert!(e.to_string().contains("second root"), "{e}");
        let e = project_from_xml("<Root><a>&nbsp;</a></Root>", "p").unwrap_err();
        assert!(matches!(e, LegacyXmlError::Syntax { line: 1, .. }), "{e}");
        let e = project_from_xml("<Root>\n<x>\u{1}</x></Root>", "p").unwrap_err();
        assert_eq!(
            e.to_string(),
            "not well-formed XML at line 2: character U+0001 is not allowed in XML"
        );

        let e = project_from_xml("<Root>\n\n<TestSuite><EpId>x</EpId></TestSuite></Root>", "p").unwrap_err();
        assert_eq!(e.to_string(), "line 3: <TestSuite> has no <tsName>");
        let e = project_from_xml(
            "<Root><TestSuite><tsName>s</tsName>\n<TestCase><Title>t</Title></TestCase></TestSuite></Root>",
            "p",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "line 2: <TestCase> has no <tcName>");
        let e = project_from_xml(
            "<Root><TestSuite><tsName>s</tsName><TestCase>\n<tcName>../../etc/passwd</tcName></TestCase>\
             </TestSuite></Root>",
            "p",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("line 2: <tcName>: "), "{e}");
        assert!(e.to_string().contains("leaves the test-source directory"), "{e}");
        let e = project_from_xml("<Root>\n<TestCase><tcName>a</tcName></TestCase></Root>", "p").unwrap_err();
        assert_eq!(e.to_string(), "line 2: unexpected <TestCase> inside <Root>");
        let e =
            project_from_xml("<Root><TestSuite><tsName>a<b/></tsName></TestSuite></Root>", "p").unwrap_err();
        assert_eq!(e.to_string(), "line 1: unexpected <b> inside <tsName>");
        let e = project_from_xml(
            "<Root><TestSuite><tsName>a</tsName><TestCase><tcName>a</tcName>\
             <Property><propName>x</propName><other/></Property></TestCase></TestSuite></Root>",
            "p",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "line 1: unexpected <other> inside <Property>");

        let deep = format!(
            "<Root>{}{}</Root>",
            "<TestSuite><tsName>s</tsName>".repeat(MAX_DEPTH + 2),
            "</TestSuite>".repeat(MAX_DEPTH + 2)
        );
        let e = project_from_xml(&deep, "p").unwrap_err();
        assert!(e.to_string().contains("suites nest deeper than 16"), "{e}");
        let very_deep = format!("<Root>{}{}</Root>", "<a>".repeat(500), "</a>".repeat(500));
        assert!(matches!(
            project_from_xml(&very_deep, "p"),
            Err(LegacyXmlError::TooDeep { max: MAX_NESTING, .. })
        ));
        // The name must suit the model.
        assert!(matches!(
            project_from_xml("<Root/>", ""),
            Err(LegacyXmlError::Project(_))
        ));
    }

    #[test]
    fn paths_become_relative() {
        for (raw, want) in [
            ("/home/qa/twister/tests/a/b.py", "a/b.py"),
            ("/opt/testsuites/x.tcl", "x.tcl"),
            ("/home/qa/twister/demo/x.py", "home/qa/twister/demo/x.py"),
            (
                "~/twister/demo/testsuite-python/init.py",
                "twister/demo/testsuite-python/init.py",
            ),
            ("$HOME/twister/testsuites/s/t.py", "s/t.py"),
            ("${HOME}/x.py", "x.py"),
            ("C:\\lab\\Tests\\win.py", "win.py"),
            ("/test_py_printnlogs.py", "test_py_printnlogs.py"),
            ("/a/tests", "a/tests"),
            ("/x/tests/y/tests/z.py", "y/tests/z.py"),
            ("//srv//tests/./a/../b.py", "b.py"),
            ("relative/tests/kept.py", "relative/tests/kept.py"),
            ("  \n /lab/tests/t.py \n", "t.py"),
            ("./~/odd.py", "~/odd.py"),
            ("a /.", "a "),
        ] {
            assert_eq!(normalize_path(raw).as_deref(), Ok(want), "{raw}");
        }
        for bad in ["", "/", "../up.py", "a/../../up.py", "~", "\t"] {
            assert!(normalize_path(bad).is_err(), "{bad}");
        }
        for p in [
            "a/b.py", "~/x", "$HOME/y", "C:/z", " lead", "trail ", "tests/x", "${HOME}q",
        ] {
            assert_eq!(normalize_path(&path_out(p)).as_deref(), Ok(p), "{p}");
        }
        assert_eq!(path_out("a/b.py"), "a/b.py");
        assert_eq!(path_out("~/x"), "./~/x");
    }

    #[test]
    fn list_escapes() {
        for s in [
            "plain", "a;b", "50%", "%3B", " lead", "trail\t", "in side", "%25;%3b", "%",
        ] {
            let enc = list_encode(s);
            assert!(!enc.contains(';'), "{enc}");
            assert_eq!(
                list_decode(&format!("{enc};")),
                vec![s.to_string()],
                "{s} -> {enc}"
            );
        }
        assert_eq!(list_encode("EP 1"), "EP 1");
        assert_eq!(list_decode(" a ; b;;c; "), strings(&["a", "b", "c"]));
        assert_eq!(pct_decode("%41%3b%zz%", &LIST_CODES), "%41;%zz%");
    }

    #[test]
    fn sibling_names_are_deduplicated() {
        let mut suites: Vec<Suite> = ["S", "S", "S (2)", "S"]
            .iter()
            .map(|n| Suite {
                name: n.to_string(),
                repeat: 1,
                ..Suite::default()
            })
            .collect();
        dedupe_names(&mut suites);
        let names: Vec<_> = suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["S", "S (3)", "S (2)", "S (4)"]);
        let long = "x".repeat(MAX_NAME);
        let mut two = vec![
            Suite {
                name: long.clone(),
                repeat: 1,
                ..Suite::default()
            },
            Suite {
                name: long,
                repeat: 1,
                ..Suite::default()
            },
        ];
        dedupe_names(&mut two);
        assert_eq!(two[1].name.len(), MAX_NAME);
        assert!(two[1].name.ends_with(" (2)"));
    }

    #[test]
    fn unmappable_values_are_kept() {
        let xml = r#"<Root a="1">
            <stoponfail>maybe</stoponfail>
            <tcdelay>soon</tcdelay>
            <libraries>ok.py;../bad.py;</libraries>
            <ScriptPost>../../outside.sh</ScriptPost>
            <stoponfail>true</stoponfail>
            <TestSuite>
                <tsName>line one
line two</tsName>
                <Repeat>0</Repeat>
                <PanicDetect>sometimes</PanicDetect>
                <EpId>EP-1;bad&#x7;ep</EpId>
                <SutName>sut_a;sut_b</SutName>
                <TbName>other_tb</TbName>
                <Dependency>nowhere:pass;</Dependency>
                <TestCase note="n">
                    <tcName>t1.py</tcName>
                    <Title>bad
title</Title>
                    <Repeat>many</Repeat>
                    <Timeout>forever</Timeout>
                    <Dependency>t1.py:pass;</Dependency>
                    <Property><propName>Runnable</propName><propValue>perhaps</propValue></Property>
                    <Property><propName>setup_file</propName><propValue>true</propValue></Property>
                    <Property><propName>teardown_file</propName><propValue>true</propValue></Property>
                    <Property><propName>prop:Optional</propName><propValue>yes</propValue></Property>
                    stray words
                </TestCase>
                <TestCase>
                    <tcName>t2.py</tcName>
                    <Timeout>30</Timeout>
                    <Dependency>t1.py:exploded;</Dependency>
                    <Dependancy>t1.py</Dependancy>
                </TestCase>
            </TestSuite>
        </Root>"#;
        let p = read(xml);
        let s = &p.settings;
        assert!(!s.stop_on_fail);
        assert_eq!(s.delay_s, 0.0);
        assert_eq!(s.libraries, strings(&["ok.py"]));
        assert_eq!(s.post_script, None);
        assert_eq!(
            s.fields,
            map(&[
                ("legacy.Root@a", "1"),
                ("legacy.stoponfail", "maybe"),
                ("legacy.stoponfail (2)", "true"),
                ("legacy.tcdelay", "soon"),
                ("legacy.libraries", "ok.py;../bad.py;"),
                ("legacy.ScriptPost", "../../outside.sh"),
            ])
        );
        let suite = &p.suites[0];
        assert_eq!(suite.name, "line one line two");
        assert_eq!(suite.repeat, 1);
        assert!(!suite.panic_detect);
        assert_eq!(suite.eps, strings(&["EP-1"]));
        assert_eq!(suite.testbed.as_deref(), Some("sut_a"));
        assert_eq!(suite.depends_on, None);
        assert_eq!(
            suite.fields,
            map(&[
                ("legacy.tsName", "line one\nline two"),
                ("legacy.Repeat", "0"),
                ("legacy.PanicDetect", "sometimes"),
                ("legacy.EpId", "EP-1;bad\u{7}ep"),
                ("legacy.SutName", "sut_a;sut_b"),
                ("legacy.TbName", "other_tb"),
                ("legacy.Dependency", "nowhere:pass;"),
            ])
        );
        let [t1, t2] = suite.tests.as_slice() else {
            panic!("two tests")
        };
        assert_eq!(t1.title, "");
        assert_eq!((t1.repeat, t1.timeout_s), (1, 0));
        assert!(t1.runnable && t1.setup && !t1.teardown && !t1.optional);
        assert_eq!(t1.depends_on, None);
        assert_eq!(
            t1.properties,
            map(&[
                ("legacy.TestCase@note", "n"),
                ("legacy.TestCase#text", "stray words"),
                ("legacy.Title", "bad\ntitle"),
                ("legacy.Repeat", "many"),
                ("legacy.Timeout", "forever"),
                ("legacy.Dependency", "t1.py:pass;"),
                ("legacy.Runnable", "perhaps"),
                ("legacy.teardown_file", "true"),
                ("Optional", "yes"),
            ])
        );
        assert_eq!(t2.timeout_s, 30);
        assert_eq!(t2.depends_on, None);
        assert_eq!(
            t2.properties,
            map(&[
                ("legacy.Dependency", "t1.py:exploded;"),
                ("legacy.Dependancy", "t1.py")
            ])
        );
        assert_round_trip(&p);
    }

    #[test]
    fn dependencies_and_ids() {
        let xml = "<Root><TestSuite><tsName>a</tsName><ID>sa</ID>\
            <TestCase><tcName>x.py</tcName><ID>tx</ID></TestCase>\
            <TestCase><tcName>y.py</tcName><tcID>7</tcID><Dependency> tx : Timeout ; </Dependency></TestCase>\
            <TestCase><tcName>z.py</tcName><ID>tz</ID><tcID>8</tcID><Dependancy>7</Dependancy></TestCase>\
            </TestSuite>\
            <TestSuite><tsName>b</tsName><Dependency>sa:Pass</Dependency>\
            <TestCase><tcName>w.py</tcName><Dependency>y.py:4;</Dependency></TestCase></TestSuite>\
            <TestSuite><tsName>c</tsName><Dependency>b:fail</Dependency></TestSuite></Root>";
        let p = read(xml);
        let a = &p.suites[0];
        assert_eq!(a.id.as_deref(), Some("sa"));
        assert_eq!(a.tests[1].id.as_deref(), Some("7"));
        assert_eq!(a.tests[1].depends_on.as_deref(), Some("tx"));
        assert_eq!(a.tests[1].depends_status.as_deref(), Some("timeout"));
        assert_eq!(a.tests[2].id.as_deref(), Some("tz"));
        assert_eq!(a.tests[2].properties, map(&[("legacy.tcID", "8")]));
        assert_eq!(a.tests[2].depends_on.as_deref(), Some("7"));
        assert_eq!(a.tests[2].depends_status, None);
        let b = &p.suites[1];
        assert_eq!(b.depends_on.as_deref(), Some("sa"));
        // A file id is no key once the test has an id; numeric statuses are the original codes.
        assert_eq!(b.tests[0].depends_on, None);
        assert_eq!(b.tests[0].properties, map(&[("legacy.Dependency", "y.py:4;")]));
        // A suite can only wait for a pass.
        let c = &p.suites[2];
        assert_eq!(c.depends_on, None);
        assert_eq!(c.fields, map(&[("legacy.Dependency", "b:fail")]));
        assert_round_trip(&p);
    }

    #[test]
    fn property_names_escape_and_running() {
        let xml = "<Root><TestSuite><tsName>a</tsName><TestCase><tcName>x.py</tcName>\
            <Property><propName>Running</propName><propValue>true</propValue></Property>\
            <Property><propName>RUNNABLE</propName><propValue>False</propValue></Property>\
            <Property><propName>parameters</propName><propValue>a,b</propValue></Property>\
            <Property><propName>param</propName><propValue></propValue></Property>\
            <Property><propName>prop:prop:x</propName><propValue>1</propValue></Property>\
            <Property/>\
            </TestCase></TestSuite></Root>";
        let p = read(xml);
        let t = &p.suites[0].tests[0];
        assert!(!t.runnable);
        assert_eq!(t.args, strings(&["a,b", ""]));
        assert_eq!(t.properties, map(&[("prop:x", "1")]));

        let mut q = p.clone();
        q.suites[0].tests[0].properties = map(&[
            ("Runnable", "x"),
            ("running", " TRUE "),
            ("Running", "false"),
            ("param", "p"),
            ("prop:y", "2"),
            ("legacy.Priority", "High"),
            ("legacy.Title", "kept as a property"),
            ("legacy.ConfigFiles", "<Config name=\"c\"/>"),
            ("legacy.Bad name", "v"),
            ("", ""),
        ]);
        let xml = project_to_xml(&q);
        assert!(xml.contains("<propName>prop:Runnable</propName>"), "{xml}");
        assert!(xml.contains("<propName>prop:running</propName>"), "{xml}");
        assert!(xml.contains("<propName>Running</propName>"), "{xml}");
        assert!(xml.contains("<propName>prop:prop:y</propName>"), "{xml}");
        assert!(xml.contains("<Priority>High</Priority>"), "{xml}");
        assert!(xml.contains("<propName>legacy.Title</propName>"), "{xml}");
        assert!(
            xml.contains("<ConfigFiles><Config name=\"c\"/></ConfigFiles>"),
            "{xml}"
        );
        assert_round_trip(&q);
    }

    #[test]
    fn writer_shape() {
        let mut p = read(V1);
        p.settings.pre_script = Some("~/odd/pre.sh".into());
        p.settings.libraries = strings(&["a;b.py", "c.py"]);
        p.settings.fields = map(&[("legacy.ClearCaseView", "v"), ("release", "1 < 2 & 3")]);
        p.suites[0].eps = strings(&["EP 1", "EP;2"]);
        p.suites[0].tests[0].timeout_s = 90;
        p.suites[0].tests[0].summary = "tab\there\r\nand \u{1} control".into();
        let xml = project_to_xml(&p);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<Root>\n"));
        for part in [
            "    <stoponfail>false</stoponfail>\n",
            "    <ScriptPre>./~/odd/pre.sh</ScriptPre>\n",
            "    <ScriptPost/>\n",
            "    <libraries>a%3Bb.py;c.py;</libraries>\n",
            "    <ClearCaseView>v</ClearCaseView>\n",
            "<propValue>1 &lt; 2 &amp; 3</propValue>",
            "        <EpId>EP 1;EP%3B2</EpId>\n",
            "            <Timeout>90</Timeout>\n",
            "<Summary>tab\there&#xD;\nand &#x1; control</Summary>",
            "<propName>Runnable</propName>",
        ] {
            assert!(xml.contains(part), "{part:?} missing from\n{xml}");
        }
        assert_round_trip(&p);
        // The degenerate empty testbed is the inventory root.
        p.suites[0].testbed = Some(String::new());
        let back = project_from_xml(&project_to_xml(&p), &p.name).unwrap();
        assert_eq!(back.suites[0].testbed.as_deref(), Some("/"));
    }

    #[test]
    fn writer_gives_original_text_back() {
        let xml = project_to_xml(&read(V3));
        for part in [
            "<dbautosave>ask</dbautosave>",
            "<Dependency>7a9d2c41-8e0b-4f5a-b7c3-2d1e9f6a4b22:Fail;\
             0c6f3f0e-5a51-4d0e-8d64-3f4c2b6a9e10:Pass;</Dependency>",
        ] {
            assert!(xml.contains(part), "{part} missing from\n{xml}");
        }
        assert!(
            !xml.contains("legacy.dbautosave") && !xml.contains("legacy.Dependency"),
            "{xml}"
        );

        let p = read(
            "<Root><dbautosave>nosave</dbautosave><tcdelay>soon</tcdelay><TestSuite><tsName>a\nb</tsName>\
             <SutName>s1;s2</SutName><Repeat>0</Repeat><TestCase><tcName>x.py</tcName><Timeout>-1</Timeout>\
             </TestCase></TestSuite></Root>",
        );
        assert_eq!(p.suites[0].name, "a b");
        assert_eq!(p.suites[0].testbed.as_deref(), Some("s1"));
        let xml = project_to_xml(&p);
        for part in [
            "<dbautosave>false</dbautosave>",
            "<tcdelay>soon</tcdelay>",
            "<tsName>a\nb</tsName>",
            "<SutName>s1;s2</SutName>",
            "<Repeat>0</Repeat>",
            "<Timeout>-1</Timeout>",
        ] {
            assert!(xml.contains(part), "{part} missing from\n{xml}");
        }
        assert!(!xml.contains("<propName>legacy."), "{xml}");
        assert_round_trip(&p);

        // Text that would not read back the same stays an entry of its own.
        let mut q = p.clone();
        q.settings
            .fields
            .insert("legacy.stoponfail".into(), "true".into());
        let xml = project_to_xml(&q);
        assert!(xml.contains("<stoponfail>false</stoponfail>"), "{xml}");
        assert!(xml.contains("<propName>legacy.stoponfail</propName>"), "{xml}");
        assert_round_trip(&q);
    }

    #[test]
    fn fixtures_survive_a_second_trip() {
        for f in [V1, V2, V3] {
            let p = read(f);
            let again = read(&project_to_xml(&p));
            assert_eq!(again, p);
        }
    }

    // ------------------------------------------------------------------------------------------------------
    // Property tests.

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => "[a-zA-Z0-9 _.;:%<>&/'\"\t\n-]{0,10}",
            1 => Just("<a/>".to_string()),
            1 => Just("x<b>y</b> <!-- c -->".to_string()),
            1 => Just("]]>&amp;%3B".to_string()),
            1 => Just(" \u{1}\r\u{7f}\u{85}ü ".to_string()),
        ]
    }

    fn name() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_][a-zA-Z0-9 _.;%<>&-]{0,10}"
    }

    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => "[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,6}",
            1 => Just("~".to_string()),
            1 => Just("$HOME".to_string()),
            1 => Just("tests".to_string()),
            1 => Just("C:".to_string()),
            1 => Just("a;b".to_string()),
            1 => Just("50%3B".to_string()),
            1 => Just(" sp ".to_string()),
        ]
    }

    fn file() -> impl Strategy<Value = String> {
        prop::collection::vec(segment(), 1..4).prop_map(|s| s.join("/"))
    }

    fn key(special: &'static [&'static str]) -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[a-zA-Z_][a-zA-Z0-9_.:@ -]{0,8}",
            2 => prop::sample::select(special).prop_map(str::to_string),
        ]
    }

    const PROPERTY_KEYS: &[&str] = &[
        "Runnable",
        "running",
        "Running",
        "param",
        "Parameters",
        "prop:x",
        "Optional",
        "legacy.Priority",
        "legacy.Title",
        "legacy.ConfigFiles",
        "legacy.Dependency",
        "legacy.x y",
        "",
    ];
    const FIELD_KEYS: &[&str] = &[
        "legacy.ClearCaseView",
        "legacy.tsName",
        "legacy.libraries",
        "legacy.order",
        "legacy.TestSuite",
        "legacy.Root@a",
        "release",
        "",
    ];

    fn test_case() -> impl Strategy<Value = TestCase> {
        (
            (file(), prop::option::of(name()), prop::option::of(name()), text()),
            (
                any::<bool>(),
                any::<bool>(),
                0u8..3,
                prop::collection::vec(text(), 0..3),
            ),
            (
                prop::collection::btree_map(key(PROPERTY_KEYS), text(), 0..4),
                1u32..=MAX_REPEAT,
                prop_oneof![Just(0u64), 1u64..=MAX_TIMEOUT_S],
            ),
        )
            .prop_map(
                |(
                    (file, id, title, summary),
                    (runnable, optional, role, args),
                    (properties, repeat, timeout_s),
                )| {
                    TestCase {
                        file,
                        id,
                        title: title.unwrap_or_default(),
                        summary,
                        runnable,
                        optional,
                        setup: role == 1,
                        teardown: role == 2,
                        args,
                        properties,
                        depends_on: None,
                        depends_status: None,
                        repeat,
                        timeout_s,
                    }
                },
            )
    }

    fn testbed() -> impl Strategy<Value = Option<String>> {
        prop::option::of(prop_oneof![
            "/?[a-z]{1,5}(/[a-z0-9_]{1,5}){0,2}",
            Just("lab;1".to_string()),
            Just("/".to_string()),
            Just("sut(user)".to_string()),
        ])
    }

    fn suite(depth: u32) -> BoxedStrategy<Suite> {
        let children = if depth == 0 {
            Just(Vec::new()).boxed()
        } else {
            prop::collection::vec(suite(depth - 1), 0..3).boxed()
        };
        (
            (
                name(),
                prop::option::of(name()),
                prop::collection::vec(name(), 0..3),
                testbed(),
            ),
            (any::<bool>(), 1u32..=MAX_REPEAT),
            prop::collection::btree_map(key(FIELD_KEYS), text(), 0..3),
            children,
            prop::collection::vec(test_case(), 0..3),
        )
            .prop_map(
                |((name, id, eps, testbed), (panic_detect, repeat), fields, mut suites, tests)| {
                    dedupe_names(&mut suites);
                    Suite {
                        name,
                        id,
                        eps,
                        testbed,
                        panic_detect,
                        repeat,
                        depends_on: None,
                        fields,
                        suites,
                        tests,
                    }
                },
            )
            .boxed()
    }

    fn walk_tests<'a>(suites: &'a mut [Suite], out: &mut Vec<&'a mut TestCase>) {
        for s in suites {
            out.extend(s.tests.iter_mut());
            walk_tests(&mut s.suites, out);
        }
    }

    fn project() -> impl Strategy<Value = Project> {
        let settings = (
            (any::<bool>(), any::<bool>(), any::<bool>()),
            prop_oneof![Just(0.0f64), Just(3600.0), 0.0f64..=3600.0],
            (prop::option::of(file()), prop::option::of(file())),
            prop::collection::vec(file(), 0..3),
            prop::collection::btree_map(key(FIELD_KEYS), text(), 0..3),
        )
            .prop_map(
                |(
                    (stop_on_fail, db_autosave, scripts_mandatory),
                    delay_s,
                    (pre, post),
                    libraries,
                    fields,
                )| {
                    ProjectSettings {
                        stop_on_fail,
                        db_autosave,
                        delay_s,
                        pre_script: pre,
                        post_script: post,
                        scripts_mandatory,
                        libraries,
                        fields,
                    }
                },
            );
        let picks = prop::collection::vec((any::<bool>(), any::<usize>(), prop::option::of(0usize..10)), 24);
        (settings, prop::collection::vec(suite(2), 0..3), picks).prop_map(|(settings, mut suites, picks)| {
            dedupe_names(&mut suites);
            let mut p = Project {
                name: "prop".into(),
                settings,
                suites,
            };
            add_dependencies(&mut p, &picks);
            p
        })
    }

    /// Points some tests and suites at others (never at themselves).
    fn add_dependencies(p: &mut Project, picks: &[(bool, usize, Option<usize>)]) {
        let mut test_keys = BTreeSet::new();
        let mut suite_keys = BTreeSet::new();
        collect_keys(&p.suites, &mut test_keys, &mut suite_keys);
        let test_keys: Vec<String> = test_keys.into_iter().collect();
        let suite_keys: Vec<String> = suite_keys.into_iter().collect();
        let mut tests = Vec::new();
        walk_tests(&mut p.suites, &mut tests);
        for (i, t) in tests.into_iter().enumerate() {
            let (on, k, st) = picks[i % picks.len()];
            let target = &test_keys[k % test_keys.len()];
            if on && target != t.key() {
                t.depends_on = Some(target.clone());
                t.depends_status = st
                    .and_then(|s| twister_proto::TestStatus::ALL.get(s))
                    .map(|s| s.as_str().into());
            }
        }
        fn suites_dep(
            suites: &mut [Suite],
            keys: &[String],
            picks: &[(bool, usize, Option<usize>)],
            n: &mut usize,
        ) {
            for s in suites {
                let (on, k, _) = picks[(*n + 7) % picks.len()];
                *n += 1;
                let target = &keys[k % keys.len()];
                if on && target != s.key() {
                    s.depends_on = Some(target.clone());
                }
                suites_dep(&mut s.suites, keys, picks, n);
            }
        }
        if !suite_keys.is_empty() {
            suites_dep(&mut p.suites, &suite_keys, picks, &mut 0);
        }
    }

    fn global_segment() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => "[a-zA-Z0-9_][a-zA-Z0-9 _.-]{0,6}",
            1 => Just("a/b".to_string()),
            1 => Just("%2F%".to_string()),
        ]
    }

    /// The pairs of one folder, in the order the reader returns them: its variables, then its sub-folders.
    fn globals_tree(depth: u32) -> BoxedStrategy<Vec<(String, String)>> {
        let folders = if depth == 0 {
            Just(BTreeMap::new()).boxed()
        } else {
            prop::collection::btree_map(global_segment(), globals_tree(depth - 1), 0..3).boxed()
        };
        (prop::collection::vec((global_segment(), text()), 0..3), folders)
            .prop_map(|(params, folders)| {
                let mut out: Vec<(String, String)> = params
                    .into_iter()
                    .map(|(n, v)| (format!("/{}", segment_encode(&n)), v))
                    .collect();
                for (name, entries) in folders {
                    for (path, v) in entries {
                        out.push((format!("/{}{path}", segment_encode(&name)), v));
                    }
                }
                out
            })
            .boxed()
    }

    fn mutate(base: &str, ops: &[(u8, usize, usize, usize)]) -> String {
        const SNIPPETS: &[&str] = &[
            "<",
            ">",
            "</TestSuite>",
            "<TestSuite>",
            "<TestCase>",
            "</TestCase>",
            "<tsName>x</tsName>",
            "<tcName>/t/tests/a.py</tcName>",
            "&",
            "&amp;",
            "&#0;",
            "<![CDATA[",
            "]]>",
            "<!--",
            "-->",
            "\"",
            "ü",
            "\u{feff}",
            "\u{0}",
            "<Property><propName>Runnable</propName><propValue>x</propValue></Property>",
            "<Dependency>a:b;c</Dependency>",
            "<ID></ID>",
            "<?pi x?>",
            "<!DOCTYPE x>",
            "/",
            ";",
            "%3B",
            "<UserDefined><propName>k</propName></UserDefined>",
        ];
        let mut s = base.to_string();
        for &(kind, at, len, snippet) in ops {
            let mut at = at % (s.len() + 1);
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + len % 40).min(s.len());
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            let snippet = SNIPPETS[snippet % SNIPPETS.len()];
            match kind % 4 {
                0 => s.replace_range(at..end, ""),
                1 => s.insert_str(at, snippet),
                2 => {
                    let copy = s[at..end].to_string();
                    s.insert_str(end, &copy);
                }
                _ => s.replace_range(at..end, snippet),
            }
        }
        s
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_valid_project_round_trips(p in project()) {
            prop_assert!(p.validate().is_ok(), "{:?}", p.validate().err().map(|e| e.message));
            let xml = project_to_xml(&p);
            let back = project_from_xml(&xml, &p.name);
            prop_assert_eq!(back.as_ref().ok(), Some(&p), "{:?}\n{}", back.as_ref().err(), xml);
        }

        #[test]
        fn globals_round_trip(entries in globals_tree(2)) {
            let xml = globals_to_xml(&entries);
            prop_assert_eq!(globals_from_xml(&xml), Ok(entries), "{}", xml);
        }

        #[test]
        fn random_text_never_panics(s in "\\PC{0,200}", t in ".{0,200}") {
            let _ = project_from_xml(&s, "p");
            let _ = project_from_xml(&t, "p");
            let _ = globals_from_xml(&s);
            let _ = globals_from_xml(&format!("<root>{t}</root>"));
            let suite = format!("<Root><TestSuite><tsName>{t}</tsName></TestSuite></Root>");
            let _ = project_from_xml(&suite, "p");
        }

        #[test]
        fn mutated_files_never_panic(
            which in 0usize..4,
            ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), any::<usize>()), 1..6),
        ) {
            let base = [V1, V2, V3, GLOBALS][which];
            let xml = mutate(base, &ops);
            if let Ok(p) = project_from_xml(&xml, "mutant") {
                prop_assert!(p.validate().is_ok());
                // Whatever was read is written and read back unchanged.
                let again = project_from_xml(&project_to_xml(&p), "mutant");
                prop_assert_eq!(again.as_ref().ok(), Some(&p), "{:?}\n{}", again.as_ref().err(), xml);
            }
            if let Ok(g) = globals_from_xml(&xml) {
                let again = globals_from_xml(&globals_to_xml(&g));
                prop_assert!(again.is_ok());
            }
        }
    }
}

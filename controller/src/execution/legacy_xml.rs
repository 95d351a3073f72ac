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

// ------------------------------------------------------------------------------------------------------------
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

    /// The value kept for an element the model does not know: its text, or its inner XML when it holds markup.
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

// ------------------------------------------------------------------------------------------------------------
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

/// Writes a relative path so that [`normalize_path`] reads it back unchanged.
fn path_out(p: &str) -> String {
    if normalize_path(p).as_deref() == Ok(p) {
        p.to_string()
    } else {
        format!("./{p}")
    }
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

// ------------------------------------------------------------------------------------------------------------
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
                Some((id, st)) => (pct_decode(id, &LIST_CODES), map_status(st)),
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

// ------------------------------------------------------------------------------------------------------------
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
            c if c.is_control() => out.push_str(&format!("&#x{:X};", u32::from(c))),
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
}

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

    fn pair(&mut self, depth: usize, tag: &str, name: &str, value: &str) {
        self.open(depth, tag);
        self.leaf(depth + 1, "propName", name);
        self.leaf(depth + 1, "propValue", value);
        self.close(depth, tag);
    }

    /// Fields: `legacy.<Tag>` back as elements, the rest as `UserDefined`.
    fn fields(&mut self, depth: usize, fields: &BTreeMap<String, String>, known: &[&str]) {
        for (k, v) in fields {
            if let Some(tag) = kept_tag(k, known) {
                self.kept(depth, tag, v);
            }
        }
        for (k, v) in fields {
            if kept_tag(k, known).is_none() {
                self.pair(depth, "UserDefined", k, v);
            }
        }
    }

    fn suite(&mut self, depth: usize, s: &Suite) {
        self.open(depth, "TestSuite");
        let d = depth + 1;
        self.leaf_opt(d, "tsName", Some(&s.name));
        self.leaf(d, "Repeat", &s.repeat.to_string());
        self.leaf(d, "PanicDetect", bool_text(s.panic_detect));
        let dep = s
            .depends_on
            .as_ref()
            .map(|id| format!("{}:pass;", list_encode(id)));
        self.leaf(d, "Dependency", dep.as_deref().unwrap_or(""));
        self.leaf_opt(d, "ID", s.id.as_deref());
        match s.testbed.as_deref() {
            // An empty testbed names the inventory root, as "/" does.
            Some("") => self.leaf(d, "SutName", "/"),
            Some(tb) => self.leaf(d, "SutName", &list_encode(tb)),
            None => self.leaf(d, "SutName", ""),
        }
        let eps: Vec<String> = s.eps.iter().map(|e| list_encode(e)).collect();
        self.leaf(d, "EpId", &eps.join(";"));
        self.fields(d, &s.fields, &SUITE_TAGS);
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
        self.leaf(d, "tcName", &path_out(&t.file));
        self.leaf(d, "Title", &t.title);
        self.leaf(d, "Summary", &t.summary);
        self.leaf(d, "Repeat", &t.repeat.to_string());
        self.leaf_opt(d, "ID", t.id.as_deref());
        let dep = t.depends_on.as_ref().map(|id| {
            format!(
                "{}:{};",
                list_encode(id),
                t.depends_status.as_deref().unwrap_or_default()
            )
        });
        self.leaf(d, "Dependency", dep.as_deref().unwrap_or(""));
        if t.timeout_s > 0 {
            self.leaf(d, "Timeout", &t.timeout_s.to_string());
        }
        for (k, v) in &t.properties {
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
        for (k, v) in &t.properties {
            if kept_tag(k, &TEST_TAGS).is_some() {
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
/// `project_from_xml(&project_to_xml(p), &p.name)` gives `p` back for every valid `p`, with one exception:
/// an empty testbed is written as `/`, the inventory root it stands for.
pub fn project_to_xml(p: &Project) -> String {
    let s = &p.settings;
    let mut w = Writer {
        out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"),
    };
    w.open(0, "Root");
    w.leaf(1, "stoponfail", bool_text(s.stop_on_fail));
    w.leaf(1, "PrePostMandatory", bool_text(s.scripts_mandatory));
    w.leaf(
        1,
        "ScriptPre",
        &s.pre_script.as_deref().map(path_out).unwrap_or_default(),
    );
    let libs: String = s
        .libraries
        .iter()
        .map(|l| format!("{};", list_encode(&path_out(l))))
        .collect();
    w.leaf(1, "libraries", &libs);
    w.leaf(
        1,
        "ScriptPost",
        &s.post_script.as_deref().map(path_out).unwrap_or_default(),
    );
    w.leaf(1, "dbautosave", bool_text(s.db_autosave));
    w.leaf(1, "tcdelay", &format!("{}", s.delay_s));
    w.fields(1, &s.fields, &ROOT_TAGS);
    for suite in &p.suites {
        w.suite(1, suite);
    }
    w.close(0, "Root");
    w.out
}

// ------------------------------------------------------------------------------------------------------------
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
    };
    w.open(0, "root");
    root.write(&mut w, 1);
    w.close(0, "root");
    w.out
}

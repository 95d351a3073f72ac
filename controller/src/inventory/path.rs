//! Inventory paths (`/tb1/dev1/mod2`), node names, and the `~id` and `:property` address forms.

use std::fmt;

/// A validated absolute path of a node; the root is `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodePath(String);

/// A parse failure, naming the offending input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// A segment is not a valid node name.
    #[error("invalid name {name:?}: {why}")]
    BadName {
        /// The segment.
        name: String,
        /// What rule it breaks.
        why: &'static str,
    },
    /// The whole path is too long or too deep.
    #[error("path too long: at most {MAX_DEPTH} levels and {MAX_PATH_LEN} bytes")]
    TooLong,
    /// A property name is empty or malformed.
    #[error("invalid property name {0:?}: use 1-128 characters without '/' or control characters")]
    BadProperty(String),
}

/// Maximum length of a node name in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Maximum depth of the tree.
pub const MAX_DEPTH: usize = 32;
/// Maximum length of a path in bytes.
pub const MAX_PATH_LEN: usize = 2048;

/// Checks a node name: 1-128 bytes, no `/`, `:` or control characters, not `.`/`..`, not starting with `~`.
pub fn validate_name(name: &str) -> Result<(), PathError> {
    let bad = |why| {
        Err(PathError::BadName {
            name: name.to_string(),
            why,
        })
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("longer than 128 bytes");
    }
    if name == "." || name == ".." {
        return bad("'.' and '..' are reserved");
    }
    if name.starts_with('~') {
        return bad("'~' starts an id reference");
    }
    if name.trim() != name {
        return bad("leading or trailing spaces");
    }
    if name.chars().any(|c| c == '/' || c == ':' || c.is_control()) {
        return bad("'/', ':' and control characters are not allowed");
    }
    Ok(())
}

/// Checks a property name.
pub fn validate_property(key: &str) -> Result<(), PathError> {
    if key.is_empty() || key.len() > 128 || key.chars().any(|c| c == '/' || c.is_control()) {
        return Err(PathError::BadProperty(key.to_string()));
    }
    Ok(())
}

impl NodePath {
    /// The root.
    pub fn root() -> Self {
        NodePath("/".into())
    }

    /// Parses `/a/b/c` (a missing leading slash and a trailing slash are accepted; empty segments are not).
    pub fn parse(s: &str) -> Result<Self, PathError> {
        if s.len() > MAX_PATH_LEN {
            return Err(PathError::TooLong);
        }
        let trimmed = s.trim_start_matches('/').trim_end_matches('/');
        if trimmed.is_empty() {
            return Ok(Self::root());
        }
        let segments: Vec<&str> = trimmed.split('/').collect();
        if segments.len() > MAX_DEPTH {
            return Err(PathError::TooLong);
        }
        for seg in &segments {
            validate_name(seg)?;
        }
        Ok(NodePath(format!("/{}", segments.join("/"))))
    }

    /// The path text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `/`.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The segments, root having none.
    pub fn segments(&self) -> Vec<&str> {
        if self.is_root() {
            Vec::new()
        } else {
            self.0[1..].split('/').collect()
        }
    }

    /// The last segment (empty for the root).
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// The parent path, `None` for the root.
    pub fn parent(&self) -> Option<NodePath> {
        if self.is_root() {
            return None;
        }
        match self.0.rfind('/') {
            Some(0) => Some(Self::root()),
            Some(i) => Some(NodePath(self.0[..i].to_string())),
            None => None,
        }
    }

    /// A child of this path; `name` must be valid.
    pub fn child(&self, name: &str) -> Result<NodePath, PathError> {
        validate_name(name)?;
        if self.segments().len() >= MAX_DEPTH {
            return Err(PathError::TooLong);
        }
        Ok(if self.is_root() {
            NodePath(format!("/{name}"))
        } else {
            NodePath(format!("{}/{name}", self.0))
        })
    }

    /// Every ancestor from the root down, excluding self.
    pub fn ancestors(&self) -> Vec<NodePath> {
        let mut out = Vec::new();
        let mut cur = self.parent();
        while let Some(p) = cur {
            cur = p.parent();
            out.push(p);
        }
        out.reverse();
        out
    }

    /// Whether `self` is `other` or one of its ancestors.
    pub fn is_ancestor_or_self_of(&self, other: &NodePath) -> bool {
        self.is_root()
            || self.0 == other.0
            || (other.0.starts_with(&self.0) && other.0[self.0.len()..].starts_with('/'))
    }

    /// Whether the two paths lie on one line from the root (one contains the other).
    pub fn overlaps(&self, other: &NodePath) -> bool {
        self.is_ancestor_or_self_of(other) || other.is_ancestor_or_self_of(self)
    }

    /// `other` rebased from `self` onto `new_base`, if `other` lies within `self`.
    pub fn rebase(&self, other: &NodePath, new_base: &NodePath) -> Option<NodePath> {
        if !self.is_ancestor_or_self_of(other) {
            return None;
        }
        let rest = &other.0[self.0.len()..];
        let rest = rest.trim_start_matches('/');
        if rest.is_empty() {
            return Some(new_base.clone());
        }
        Some(if new_base.is_root() {
            NodePath(format!("/{rest}"))
        } else {
            NodePath(format!("{}/{rest}", new_base.0))
        })
    }
}

impl fmt::Display for NodePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a request names a node: by path or by id, optionally with one property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The node.
    pub node: NodeRef,
    /// The property after `:`, if any.
    pub property: Option<String>,
}

/// A node reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRef {
    /// By path.
    Path(NodePath),
    /// By id (`~f1950165cd`, or `~f1950165cd/child` resolved later is not supported: ids address one node).
    Id(String),
}

impl Address {
    /// Parses `/tb1/dev1`, `/tb1/dev1:ip`, `~f1950165cd`, `~f1950165cd:ip`.
    pub fn parse(s: &str) -> Result<Address, PathError> {
        let s = s.trim();
        let body = s.trim_start_matches('/');
        let (node_part, property) = match body.find(':') {
            Some(i) => {
                let key = &body[i + 1..];
                validate_property(key)?;
                (&body[..i], Some(key.to_string()))
            }
            None => (body, None),
        };
        let node = if let Some(id) = node_part.strip_prefix('~') {
            if id.is_empty()
                || id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(PathError::BadName {
                    name: node_part.to_string(),
                    why: "malformed id",
                });
            }
            NodeRef::Id(id.to_string())
        } else {
            NodeRef::Path(NodePath::parse(node_part)?)
        };
        Ok(Address { node, property })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_and_normalise() {
        assert_eq!(NodePath::parse("/tb1/dev1/").expect("ok").as_str(), "/tb1/dev1");
        assert_eq!(NodePath::parse("tb1").expect("ok").as_str(), "/tb1");
        assert!(NodePath::parse("/").expect("ok").is_root());
        assert!(NodePath::parse("/a//b").is_err());
        assert!(NodePath::parse("/a/../b").is_err());
        assert!(NodePath::parse("/a/~b").is_err());
        assert!(NodePath::parse("/a/b:c").is_err());
        assert!(NodePath::parse("/a/\u{7}").is_err());
        assert!(NodePath::parse(&"/a".repeat(40)).is_err());
    }

    #[test]
    fn family() {
        let p = NodePath::parse("/tb1/dev1/mod2").expect("ok");
        assert_eq!(p.name(), "mod2");
        assert_eq!(p.parent().expect("parent").as_str(), "/tb1/dev1");
        let anc: Vec<String> = p.ancestors().iter().map(|a| a.to_string()).collect();
        assert_eq!(anc, vec!["/", "/tb1", "/tb1/dev1"]);
        let tb1 = NodePath::parse("/tb1").expect("ok");
        let tb10 = NodePath::parse("/tb10").expect("ok");
        assert!(tb1.is_ancestor_or_self_of(&p));
        assert!(!tb10.is_ancestor_or_self_of(&p));
        assert!(!tb1.overlaps(&tb10));
        assert!(tb1.overlaps(&p) && p.overlaps(&tb1));
        let moved = tb1
            .rebase(&p, &NodePath::parse("/lab/x").expect("ok"))
            .expect("inside");
        assert_eq!(moved.as_str(), "/lab/x/dev1/mod2");
        assert_eq!(tb1.rebase(&tb10, &NodePath::root()), None);
    }

    #[test]
    fn addresses() {
        let a = Address::parse("/tb1/dev1:ip").expect("ok");
        assert_eq!(a.node, NodeRef::Path(NodePath::parse("/tb1/dev1").expect("ok")));
        assert_eq!(a.property.as_deref(), Some("ip"));
        let b = Address::parse("~f1950165cd").expect("ok");
        assert_eq!(b.node, NodeRef::Id("f1950165cd".into()));
        assert!(Address::parse("~").is_err());
        assert!(Address::parse("/tb1:").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = NodePath::parse(&s);
            let _ = Address::parse(&s);
        }

        #[test]
        fn parent_child_round_trip(segs in proptest::collection::vec("[a-zA-Z0-9_.-]{1,12}", 1..8)) {
            prop_assume!(segs.iter().all(|s| s != "." && s != ".."));
            let p = NodePath::parse(&format!("/{}", segs.join("/"))).expect("valid");
            let parent = p.parent().expect("has parent");
            prop_assert_eq!(parent.child(p.name()).expect("valid"), p.clone());
            prop_assert!(parent.is_ancestor_or_self_of(&p));
            prop_assert!(!p.is_ancestor_or_self_of(&parent));
            prop_assert_eq!(p.ancestors().len(), segs.len());
        }
    }
}

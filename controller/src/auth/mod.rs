//! Users, roles, tokens, and the extractor that authorises a request.
//!
//! Passwords are hashed with Argon2id. Tokens are 256-bit random strings shown once and stored only as their
//! SHA-256 digest (they carry enough entropy that a slow hash adds nothing). Every token has a kind and a
//! scope that can only narrow what its user's role allows:
//! - `session`: from a login, expires;
//! - `api`: named, for automation, optionally limited to some permissions and some inventory subtrees;
//! - `station`: lets one station hold its link and nothing else;
//! - `test`: given to one test process of one run, limited to that run's testbed.

pub mod bootstrap;
pub mod caller;
pub mod password;
pub mod roles;

pub use caller::Caller;
pub use roles::{Permission, PermissionSet, Role};

use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// What a token was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Issued by a login; expires.
    Session,
    /// Named token for scripts and CI.
    Api,
    /// A station's link token.
    Station,
    /// A single test process's token.
    Test,
}

impl TokenKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
            TokenKind::Station => "station",
            TokenKind::Test => "test",
        }
    }

    /// Parses a stored kind.
    pub fn parse(s: &str) -> Option<TokenKind> {
        match s {
            "session" => Some(TokenKind::Session),
            "api" => Some(TokenKind::Api),
            "station" => Some(TokenKind::Station),
            "test" => Some(TokenKind::Test),
            _ => None,
        }
    }
}

/// What a token may do beyond its user's role: always a narrowing, never a widening.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenScope {
    /// If set, only these permissions (intersected with the user's role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
    /// If set, inventory access is limited to these subtrees (paths such as `/tb1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// The station a station token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    /// The run a test token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The test (within the run) a test token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
}

/// A newly generated token: the secret to hand out once, and the digest to store.
pub struct GeneratedToken {
    /// The bearer string, shown to the user once.
    pub secret: String,
    /// Its SHA-256 digest in hex, the only form stored.
    pub hash: String,
}

/// Generates a random bearer token.
pub fn generate_token() -> GeneratedToken {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = format!(
        "tw_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = hash_token(&secret);
    GeneratedToken { secret, hash }
}

/// The stored digest of a bearer token.
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Checks a user name: 1 to 64 characters of letters, digits, `.`, `_`, `-`, starting with a letter or digit.
pub fn validate_username(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid user name {name:?}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with("tw_"));
        assert_eq!(hash_token(&a.secret), a.hash);
        assert_eq!(a.hash.len(), 64);
    }

    #[test]
    fn usernames() {
        assert!(validate_username("alice").is_ok());
        assert!(validate_username("ci-bot.2").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username("-x").is_err());
        assert!(validate_username("a b").is_err());
        assert!(validate_username("a/b").is_err());
        assert!(validate_username(&"x".repeat(65)).is_err());
    }

    #[test]
    fn scope_json_is_compact() {
        let s = TokenScope {
            paths: Some(vec!["/tb1".into()]),
            ..Default::default()
        };
        assert_eq!(serde_json::to_string(&s).expect("json"), r#"{"paths":["/tb1"]}"#);
    }
}

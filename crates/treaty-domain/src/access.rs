//! Who may do what: roles, which role each request needs, tokens limited to
//! some pacticipants, and the tamper-evident chain of the audit log.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Read,
    /// Publish, verify, record deployments.
    Write,
    /// Environments, webhooks, policies, tokens, the audit log.
    Admin,
}

impl Role {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw.to_ascii_lowercase().as_str() {
            "read" | "read-only" | "readonly" => Self::Read,
            "write" | "read-write" => Self::Write,
            "admin" => Self::Admin,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }
}

/// The caller, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// A user or token name: the audit log's actor and the default `deployed_by`.
    pub name: String,
    pub role: Role,
    /// Glob patterns (`payments-*`) of the pacticipants it may write for; `None`: all.
    pub pacticipants: Option<Vec<String>>,
}

impl Identity {
    pub fn may_act_for(&self, pacticipant: &str) -> bool {
        self.pacticipants
            .as_ref()
            .is_none_or(|patterns| patterns.iter().any(|p| glob_matches(p, pacticipant)))
    }
}

/// `*` matches any run of characters, everything else itself.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(after) = rest.strip_prefix(part) else {
                return false;
            };
            rest = after;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn is_read_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// The role a request needs; `None` for what anyone may call (the heartbeat).
pub fn required_role(method: &str, path: &str) -> Option<Role> {
    let path = path.trim_end_matches('/');
    if path == "/diagnostic/status/heartbeat" {
        return None;
    }
    let admin_area = [
        "/tokens",
        "/audit",
        "/webhooks",
        "/policies",
        "/environments",
    ]
    .iter()
    .any(|prefix| path == *prefix || path.starts_with(&format!("{prefix}/")));
    if path.starts_with("/tokens") || path.starts_with("/audit") {
        return Some(Role::Admin);
    }
    if is_read_method(method) {
        return Some(Role::Read);
    }
    // Questions asked with a body change nothing.
    let asks = path.ends_with("/for-verification")
        || path == "/release-plans"
        || path == "/matrix"
        || path.starts_with("/can-i-deploy");
    if asks {
        return Some(Role::Read);
    }
    // Webhooks (and their test executions), policies and environments are
    // administration; so is deleting every integration. Deployments into an
    // environment are recorded under /environments, and stay writes.
    let records_into_environment =
        path.contains("/deployed-versions") || path.contains("/released-versions");
    if (admin_area && !records_into_environment)
        || path == "/integrations"
        || path.contains("/webhooks")
    {
        return Some(Role::Admin);
    }
    Some(Role::Write)
}

/// The pacticipant a write acts for, read from the path (a body names it
/// for `/contracts/publish` and `/deployment-events`): the provider of a
/// verification result, the consumer of a pact, the pacticipant of a version.
pub fn acting_pacticipant(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let after = |key: &str| {
        segments
            .iter()
            .position(|s| *s == key)
            .and_then(|i| segments.get(i + 1))
            .map(|s| percent_decode(s))
    };
    if path.contains("/verification-results") {
        return after("provider");
    }
    after("consumer")
        .or_else(|| after("pacticipants"))
        .or_else(|| after("provider"))
}

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (
                (bytes[i + 1] as char).to_digit(16),
                bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The hex SHA-256 a token is stored as (tokens themselves are never stored).
pub fn token_hash(token: &str) -> String {
    hex_digest(token.as_bytes())
}

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares secrets in time that does not depend on where they differ.
pub fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (
        Sha256::digest(given.as_bytes()),
        Sha256::digest(expected.as_bytes()),
    );
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub address: String,
    pub method: String,
    pub target: String,
    pub status: u16,
    pub summary: String,
    pub previous_hash: String,
    pub hash: String,
}

/// The hash that seals an entry to the one before it.
pub fn audit_hash(previous_hash: &str, entry: &AuditEntry) -> String {
    let sealed = format!(
        "{previous_hash}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        entry.id,
        entry.at.timestamp_micros(),
        entry.actor,
        entry.address,
        entry.method,
        entry.target,
        entry.status,
        entry.summary
    );
    hex_digest(sealed.as_bytes())
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {id} was altered: its hash does not match its contents")]
    Altered { id: i64 },
    #[error(
        "the entry before {id} was removed (or reordered): its link to the previous entry is broken"
    )]
    Removed { id: i64 },
}

/// Checks every link of the chain, oldest first; names the first break.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<usize, ChainBreak> {
    let mut previous = String::new();
    for entry in entries {
        if entry.previous_hash != previous {
            return Err(ChainBreak::Removed { id: entry.id });
        }
        if audit_hash(&entry.previous_hash, entry) != entry.hash {
            return Err(ChainBreak::Altered { id: entry.id });
        }
        previous = entry.hash.clone();
    }
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_needs_the_role_its_effect_needs() {
        for (method, path, role) in [
            ("GET", "/", Some(Role::Read)),
            ("GET", "/diagnostic/status/heartbeat", None),
            ("POST", "/contracts/publish", Some(Role::Write)),
            (
                "POST",
                "/pacts/provider/Bar/for-verification",
                Some(Role::Read),
            ),
            (
                "POST",
                "/pacts/provider/Bar/consumer/Foo/pact-version/abc/verification-results",
                Some(Role::Write),
            ),
            (
                "POST",
                "/pacticipants/Foo/versions/1/deployed-versions/environment/uuid",
                Some(Role::Write),
            ),
            (
                "PATCH",
                "/environments/uuid/deployed-versions/x",
                Some(Role::Write),
            ),
            ("POST", "/environments", Some(Role::Admin)),
            ("PUT", "/policies/production", Some(Role::Admin)),
            ("GET", "/policies/production", Some(Role::Read)),
            ("POST", "/webhooks", Some(Role::Admin)),
            (
                "POST",
                "/pacts/provider/Bar/consumer/Foo/webhooks",
                Some(Role::Admin),
            ),
            ("DELETE", "/integrations", Some(Role::Admin)),
            ("GET", "/tokens", Some(Role::Admin)),
            ("GET", "/audit", Some(Role::Admin)),
            ("POST", "/deployment-events", Some(Role::Write)),
            ("POST", "/release-plans", Some(Role::Read)),
        ] {
            assert_eq!(required_role(method, path), role, "{method} {path}");
        }
    }

    #[test]
    fn writes_act_for_the_pacticipant_they_change() {
        assert_eq!(
            acting_pacticipant("/pacts/provider/Bar/consumer/Foo%20App/version/1").as_deref(),
            Some("Foo App")
        );
        assert_eq!(
            acting_pacticipant(
                "/pacts/provider/Bar/consumer/Foo/pact-version/x/verification-results"
            )
            .as_deref(),
            Some("Bar")
        );
        assert_eq!(
            acting_pacticipant("/pacticipants/payments-api/versions/1/tags/prod").as_deref(),
            Some("payments-api")
        );
        assert_eq!(acting_pacticipant("/contracts/publish"), None);
    }

    #[test]
    fn limited_identities_act_for_matching_pacticipants_only() {
        let ci = Identity {
            name: "ci".into(),
            role: Role::Write,
            pacticipants: Some(vec!["payments-*".into(), "ledger".into()]),
        };
        assert!(ci.may_act_for("payments-api") && ci.may_act_for("ledger"));
        assert!(!ci.may_act_for("orders") && !ci.may_act_for("ledger-2"));
        assert!(
            glob_matches("*-api", "orders-api")
                && glob_matches("a*b*c", "aXbYc")
                && !glob_matches("a*b*c", "aXc")
        );
        assert!(same_secret("s3cret", "s3cret") && !same_secret("s3cret", "s3creT"));
    }

    #[test]
    fn the_audit_chain_names_the_first_altered_or_removed_entry() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut entries: Vec<AuditEntry> = Vec::new();
        let mut previous = String::new();
        for id in 1..=4 {
            let mut entry = AuditEntry {
                id,
                at,
                actor: "ci".into(),
                address: "127.0.0.1".into(),
                method: "POST".into(),
                target: format!("/contracts/publish#{id}"),
                status: 200,
                summary: "published".into(),
                previous_hash: previous.clone(),
                hash: String::new(),
            };
            entry.hash = audit_hash(&previous, &entry);
            previous = entry.hash.clone();
            entries.push(entry);
        }
        assert_eq!(verify_chain(&entries), Ok(4));
        let mut altered = entries.clone();
        altered[2].actor = "mallory".into();
        assert_eq!(verify_chain(&altered), Err(ChainBreak::Altered { id: 3 }));
        let mut removed = entries.clone();
        removed.remove(1);
        assert_eq!(verify_chain(&removed), Err(ChainBreak::Removed { id: 3 }));
    }
}

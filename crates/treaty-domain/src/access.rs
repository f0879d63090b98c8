//! Who may do what: roles, which role each request needs, tokens limited to
//! some pacticipants, and the tamper-evident chain of the audit log.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
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

/// Whom a write acts for: the pacticipant an identity limited to some
/// pacticipants must be allowed to act for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActingFor {
    /// Nobody in particular (reads, questions, administration): an identity
    /// limited to some pacticipants may not make such a write.
    Nobody,
    /// The path parameter of this name in the matched route.
    PathParameter(&'static str),
    /// Named in the body, or by the record the request changes: the handler
    /// checks it once it has parsed that body (the same parse it acts on) or
    /// loaded that record, before it changes anything.
    Handler,
}

/// What a request to a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteAccess {
    /// `None`: anyone may call it, signed in or not (the heartbeat).
    pub role: Option<Role>,
    pub acting_for: ActingFor,
}

impl RouteAccess {
    const fn read() -> Self {
        Self {
            role: Some(Role::Read),
            acting_for: ActingFor::Nobody,
        }
    }

    const fn admin() -> Self {
        Self {
            role: Some(Role::Admin),
            acting_for: ActingFor::Nobody,
        }
    }

    const fn write(acting_for: ActingFor) -> Self {
        Self {
            role: Some(Role::Write),
            acting_for,
        }
    }

    /// What a write that no entry of the table covers needs: the most
    /// (fail closed), so a route added without its entry is never open.
    pub const UNLISTED_WRITE: Self = Self::admin();

    /// What a request no route matched needs: it changes nothing (its answer
    /// is a 404 or 405), so the read role.
    pub const UNROUTED: Self = Self::read();

    /// What anyone may read, signed in or not.
    pub const PUBLIC: Self = Self {
        role: None,
        acting_for: ActingFor::Nobody,
    };
}

/// The badge routes: images READMEs embed, which `--public-badge-access`
/// lets anyone read (the Pact Broker's `enable_public_badge_access`). The
/// router registers these very templates.
pub mod badge_routes {
    pub const LATEST_PACT: &str = "/pacts/provider/{provider}/consumer/{consumer}/latest/badge";
    pub const LATEST_TAGGED_PACT: &str =
        "/pacts/provider/{provider}/consumer/{consumer}/latest/{tag}/badge";
    pub const LATEST_UNTAGGED_PACT: &str =
        "/pacts/provider/{provider}/consumer/{consumer}/latest-untagged/badge";
    pub const MATRIX: &str =
        "/matrix/provider/{provider}/latest/{provider_tag}/consumer/{consumer}/latest/{tag}/badge";
    pub const CAN_I_DEPLOY_TAG_TO_TAG: &str =
        "/pacticipants/{pacticipant}/latest-version/{tag}/can-i-deploy/to/{to}/badge";
    pub const CAN_I_DEPLOY_BRANCH_TO_ENVIRONMENT: &str = "/pacticipants/{pacticipant}/branches/{branch}/latest-version/can-i-deploy/to-environment/{environment}/badge";
    pub const CAN_I_MERGE: &str = "/pacticipants/{pacticipant}/main-branch/can-i-merge/badge";

    pub const ALL: [&str; 7] = [
        LATEST_PACT,
        LATEST_TAGGED_PACT,
        LATEST_UNTAGGED_PACT,
        MATRIX,
        CAN_I_DEPLOY_TAG_TO_TAG,
        CAN_I_DEPLOY_BRANCH_TO_ENVIRONMENT,
        CAN_I_MERGE,
    ];
}

/// What a request needs, as [`route_access`] says, except that with
/// `public_badges` anyone may read a badge.
pub fn route_access_with(method: &str, route: &str, public_badges: bool) -> Option<RouteAccess> {
    if public_badges && is_read_method(method) && badge_routes::ALL.contains(&route) {
        return Some(RouteAccess::PUBLIC);
    }
    route_access(method, route)
}

/// The pacts of one pair: the prefix of every pact and verification route.
const PAIR: &str = "/pacts/provider/{provider}/consumer/{consumer}";
/// The Pact Broker's deprecated singular prefix of the same pact routes.
const DEPRECATED_PAIR: &str = "/pact/provider/{provider}/consumer/{consumer}";

/// What a request needs, from its method and the template of the route the
/// router matched (`/pacticipants/{pacticipant}`), never from the path a
/// client sent: a pacticipant named `released-versions` or
/// `verification-results` is a path parameter like any other.
///
/// `None` for a write no entry covers; the caller treats it as
/// [`RouteAccess::UNLISTED_WRITE`]. Reads need the read role unless they are
/// of the admin area (tokens, the audit log).
pub fn route_access(method: &str, route: &str) -> Option<RouteAccess> {
    use ActingFor::{Handler, PathParameter};
    // The sign-in page and its stylesheet are for those not signed in yet
    // (a 401 on the stylesheet would make a browser ask for a password), and
    // the pages of problem types for those an error answer sent there (a
    // 401's own type among them); all hold nothing but Treaty's own text.
    if route == "/diagnostic/status/heartbeat"
        || route == "/problems/{slug}"
        || route == "/ui/sign-in"
        || route == "/ui/sign-out"
        || route.starts_with("/ui/assets/")
    {
        return Some(RouteAccess {
            role: None,
            acting_for: ActingFor::Nobody,
        });
    }
    if is_read_method(method) {
        let admin_only = route == "/tokens"
            || route.starts_with("/tokens/")
            || route == "/audit"
            || route == "/ui/tokens";
        return Some(if admin_only {
            RouteAccess::admin()
        } else {
            RouteAccess::read()
        });
    }
    let pair_route = route
        .strip_prefix(PAIR)
        .or_else(|| route.strip_prefix(DEPRECATED_PAIR));
    let access = match (method, route) {
        // Questions asked with a body change nothing.
        ("POST", "/pacts/provider/{provider}/for-verification" | "/release-plans") => {
            RouteAccess::read()
        }
        // Administration.
        ("POST", "/tokens" | "/environments" | "/webhooks" | "/webhooks/execute")
        | ("DELETE", "/tokens/{name}" | "/integrations")
        | (
            "PUT" | "DELETE",
            "/environments/{uuid}" | "/policies/{environment}" | "/webhooks/{uuid}",
        )
        | ("PUT", "/environments/order")
        | (
            "POST",
            "/webhooks/provider/{provider}/consumer/{consumer}"
            | "/webhooks/provider/{provider}"
            | "/webhooks/consumer/{consumer}"
            | "/webhooks/{uuid}/execute"
            | "/webhooks/{uuid}/deliveries/{delivery}/retry",
        ) => RouteAccess::admin(),
        ("POST", _) if pair_route == Some("/webhooks") => RouteAccess::admin(),
        // Writes about the pacticipant in the path.
        (
            "PUT" | "PATCH" | "DELETE",
            "/pacticipants/{pacticipant}" | "/pacticipants/{pacticipant}/versions/{version}",
        )
        | (
            "PUT" | "DELETE",
            "/pacticipants/{pacticipant}/branches/{branch}/versions/{version}"
            | "/pacticipants/{pacticipant}/versions/{version}/tags/{tag}"
            | "/pacticipants/{pacticipant}/labels/{label}",
        )
        | (
            "DELETE",
            "/pacticipants/{pacticipant}/branches/{branch}"
            | "/pacticipants/{pacticipant}/branches",
        )
        | (
            "POST",
            "/pacticipants/{pacticipant}/versions/{version}/deployed-versions/environment/{uuid}"
            | "/pacticipants/{pacticipant}/versions/{version}/released-versions/environment/{uuid}",
        ) => RouteAccess::write(PathParameter("pacticipant")),
        // A provider contract is the provider's (bi-directional contracts).
        ("POST", "/provider-contracts/provider/{provider}/publish")
        | ("PUT", "/contracts/provider/{provider}/version/{version}") => {
            RouteAccess::write(PathParameter("provider"))
        }
        // A pact is the consumer's; a verification result the provider's.
        ("PUT" | "PATCH" | "DELETE", _)
            if matches!(
                pair_route,
                Some("/version/{version}" | "/versions/{version}")
            ) =>
        {
            RouteAccess::write(PathParameter("consumer"))
        }
        ("DELETE", _)
            if matches!(
                pair_route,
                Some(
                    "/versions"
                        | "/tag/{tag}"
                        | "/branch/versions"
                        | "/branch/{branch}"
                        | "/branch/latest/versions"
                        | "/branch/{branch}/latest/versions"
                )
            ) =>
        {
            RouteAccess::write(PathParameter("consumer"))
        }
        ("DELETE", "/integrations/provider/{provider}/consumer/{consumer}") => {
            RouteAccess::write(PathParameter("consumer"))
        }
        ("POST", _)
            if matches!(
                pair_route,
                Some(
                    "/pact-version/{sha}/verification-results"
                        | "/pact-version/{sha}/metadata/{metadata}/verification-results"
                )
            ) =>
        {
            RouteAccess::write(PathParameter("provider"))
        }
        ("DELETE", _)
            if matches!(
                pair_route,
                Some(
                    "/pact-version/{sha}/verification-results/{number}"
                        | "/pact-version/{sha}/metadata/{metadata}/verification-results/{number}"
                )
            ) =>
        {
            RouteAccess::write(PathParameter("provider"))
        }
        // Writes whose pacticipant is in the body or in the record they change.
        ("POST", "/pacticipants" | "/contracts/publish" | "/deployment-events")
        | ("PATCH", "/deployed-versions/{uuid}" | "/released-versions/{uuid}")
        | ("POST", "/deployments/{id}/incidents")
        | ("PATCH", "/deployments/{id}/incidents/{incident}") => RouteAccess::write(Handler),
        // The web UI's forms: the same roles as the API routes they stand for.
        (
            "POST",
            "/ui/environments"
            | "/ui/environments/{name}"
            | "/ui/environments/{name}/delete"
            | "/ui/environments/{name}/move"
            | "/ui/environments/{name}/policy"
            | "/ui/environments/{name}/policy/preview"
            | "/ui/environments/{name}/freeze"
            | "/ui/environments/{name}/lift-freeze"
            | "/ui/tokens"
            | "/ui/tokens/{name}/revoke"
            | "/ui/webhooks"
            | "/ui/webhooks/{uuid}"
            | "/ui/webhooks/{uuid}/test"
            | "/ui/webhooks/{uuid}/deliveries/{id}/retry",
        ) => RouteAccess::admin(),
        (
            "POST",
            "/ui/deployments/{id}/incidents"
            | "/ui/deployments/{id}/incidents/{incident}/resolve"
            | "/ui/deployments/{id}/fail",
        ) => RouteAccess::write(Handler),
        // Test-only: wipes and seeds data for the client contracts.
        ("POST", "/_pact/provider_states") => RouteAccess::write(ActingFor::Nobody),
        _ => return None,
    };
    Some(access)
}

/// The hex SHA-256 a token is stored as (tokens themselves are never stored).
pub fn token_hash(token: &str) -> String {
    hex_digest(token.as_bytes())
}

fn hex_digest(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    /// The HTTP status of the answer; [`COMMITTED`] for an entry written
    /// inside the write's own transaction, before the answer existed.
    pub status: u16,
    pub summary: String,
    pub previous_hash: String,
    pub hash: String,
    /// Sealed with the server's key (HMAC-SHA-256); `false` only for entries
    /// written before the chain was keyed, which plain SHA-256 sealed.
    pub keyed: bool,
}

/// The status of an entry written in the transaction of the write it
/// records: the write committed with it, and its answer came after.
pub const COMMITTED: u16 = 0;

/// What an entry's status says happened.
pub fn audit_outcome(status: u16) -> &'static str {
    match status {
        COMMITTED => "committed",
        401 | 403 | 415 | 429 => "refused",
        200..=399 => "answered",
        _ => "failed",
    }
}

/// The key that seals the audit chain, derived from the server's secret key
/// (`--secret-key`, or the key the database generated for itself), so that
/// rewriting entries and recomputing the chain needs the key, not only
/// access to the database.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl AuditKey {
    pub fn derive(secret: &str) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"treaty audit chain v1");
        Self(mac.finalize().into_bytes().into())
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(redacted)")
    }
}

type HmacSha256 = Hmac<Sha256>;

/// The hash that seals an entry to the one before it.
pub fn audit_hash(key: &AuditKey, previous_hash: &str, entry: &AuditEntry) -> String {
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
    if entry.keyed {
        let mut mac = HmacSha256::new_from_slice(&key.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(sealed.as_bytes());
        hex(&mac.finalize().into_bytes())
    } else {
        hex_digest(sealed.as_bytes())
    }
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error(
        "entry {id} was altered, or sealed with another key: its hash does not match its contents"
    )]
    Altered { id: i64 },
    #[error(
        "the entry before {id} was removed (or reordered): its link to the previous entry is broken"
    )]
    Removed { id: i64 },
    #[error(
        "entry {id} is sealed without the key although keyed entries come before it: it was rewritten"
    )]
    Downgraded { id: i64 },
    #[error(
        "the head {head} is not in the log: entries after it, or the whole log, were removed ({count} entries remain)"
    )]
    HeadMissing { head: String, count: usize },
}

/// What a verified chain holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Entries whose links were verified.
    pub verified: usize,
    /// Of those, written before the chain was keyed.
    pub unkeyed: usize,
    /// The newest entry's id and hash: save it to later prove that nothing
    /// was removed from the end.
    pub head: Option<(i64, String)>,
}

/// Checks every link of the chain, oldest first, and names the first break.
///
/// `from_head`: the entries start at a head saved earlier (`--since`): the
/// first entry must be that head, and only the links after it are checked.
/// `expect_head`: a head saved earlier must still be in the chain, so that
/// removing the newest entries (or all of them) does not go unnoticed.
pub fn verify_chain(
    key: &AuditKey,
    entries: &[AuditEntry],
    from_head: Option<&str>,
    expect_head: Option<&str>,
) -> Result<ChainReport, ChainBreak> {
    let mut previous: Option<&str> = None;
    let mut report = ChainReport {
        verified: 0,
        unkeyed: 0,
        head: None,
    };
    if let Some(head) = from_head
        && entries.first().is_none_or(|first| first.hash != head)
    {
        return Err(ChainBreak::HeadMissing {
            head: head.to_owned(),
            count: entries.len(),
        });
    }
    let mut seen_keyed = false;
    for entry in entries {
        let expected_previous = match previous {
            Some(hash) => hash,
            // The first entry of the log links to nothing; the first of a
            // verification from a saved head links to what came before it.
            None if from_head.is_some() => entry.previous_hash.as_str(),
            None => "",
        };
        if entry.previous_hash != expected_previous {
            return Err(ChainBreak::Removed { id: entry.id });
        }
        if audit_hash(key, &entry.previous_hash, entry) != entry.hash {
            return Err(ChainBreak::Altered { id: entry.id });
        }
        if entry.keyed {
            seen_keyed = true;
        } else if seen_keyed {
            return Err(ChainBreak::Downgraded { id: entry.id });
        } else {
            report.unkeyed += 1;
        }
        report.verified += 1;
        previous = Some(&entry.hash);
    }
    if let Some(head) = expect_head
        && !entries.iter().any(|entry| entry.hash == head)
    {
        return Err(ChainBreak::HeadMissing {
            head: head.to_owned(),
            count: entries.len(),
        });
    }
    report.head = entries.last().map(|e| (e.id, e.hash.clone()));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badges_are_public_only_when_asked_and_only_by_their_route() {
        for route in badge_routes::ALL {
            assert_eq!(
                route_access_with("GET", route, true),
                Some(RouteAccess::PUBLIC)
            );
            assert_eq!(
                route_access_with("GET", route, false).and_then(|a| a.role),
                Some(Role::Read),
                "{route}"
            );
            assert_eq!(
                route_access_with("DELETE", route, true),
                route_access("DELETE", route),
                "{route}"
            );
        }
        // A pact tagged `badge` is read through its own route, which stays
        // closed: what matters is the template, not the path.
        assert_eq!(
            route_access_with(
                "GET",
                "/pacts/provider/{provider}/consumer/{consumer}/latest/{tag}",
                true
            )
            .and_then(|a| a.role),
            Some(Role::Read)
        );
    }

    #[test]
    fn each_route_needs_the_role_its_effect_needs() {
        let pair = "/pacts/provider/{provider}/consumer/{consumer}";
        for (method, route, role) in [
            ("GET", "/", Some(Role::Read)),
            ("GET", "/diagnostic/status/heartbeat", None),
            ("POST", "/contracts/publish", Some(Role::Write)),
            (
                "POST",
                "/provider-contracts/provider/{provider}/publish",
                Some(Role::Write),
            ),
            (
                "POST",
                "/pacts/provider/{provider}/for-verification",
                Some(Role::Read),
            ),
            (
                "POST",
                &format!("{pair}/pact-version/{{sha}}/verification-results"),
                Some(Role::Write),
            ),
            (
                "POST",
                "/pacticipants/{pacticipant}/versions/{version}/deployed-versions/environment/{uuid}",
                Some(Role::Write),
            ),
            ("PATCH", "/deployed-versions/{uuid}", Some(Role::Write)),
            ("POST", "/environments", Some(Role::Admin)),
            ("PUT", "/environments/order", Some(Role::Admin)),
            ("PUT", "/policies/{environment}", Some(Role::Admin)),
            ("DELETE", "/policies/{environment}", Some(Role::Admin)),
            ("GET", "/policies/{environment}", Some(Role::Read)),
            ("POST", "/webhooks", Some(Role::Admin)),
            ("POST", &format!("{pair}/webhooks"), Some(Role::Admin)),
            ("DELETE", "/integrations", Some(Role::Admin)),
            ("GET", "/tokens", Some(Role::Admin)),
            ("GET", "/audit", Some(Role::Admin)),
            ("GET", "/audit/head", Some(Role::Read)),
            ("POST", "/deployment-events", Some(Role::Write)),
            ("POST", "/release-plans", Some(Role::Read)),
            ("POST", "/ui/sign-in", None),
            ("GET", "/ui/assets/treaty.css", None),
            ("GET", "/problems/{slug}", None),
            ("POST", "/ui/environments/{name}/freeze", Some(Role::Admin)),
            ("POST", "/ui/tokens/{name}/revoke", Some(Role::Admin)),
            ("GET", "/ui/tokens", Some(Role::Admin)),
            ("POST", "/ui/deployments/{id}/incidents", Some(Role::Write)),
        ] {
            let access = route_access(method, route).expect("listed");
            assert_eq!(access.role, role, "{method} {route}");
        }
    }

    #[test]
    fn writes_act_for_the_pacticipant_their_route_names() {
        let acting = |method, route| route_access(method, route).expect("listed").acting_for;
        assert_eq!(
            acting(
                "PUT",
                "/pacts/provider/{provider}/consumer/{consumer}/version/{version}"
            ),
            ActingFor::PathParameter("consumer")
        );
        assert_eq!(
            acting(
                "PUT",
                "/pact/provider/{provider}/consumer/{consumer}/version/{version}"
            ),
            ActingFor::PathParameter("consumer")
        );
        assert_eq!(
            acting(
                "POST",
                "/pacts/provider/{provider}/consumer/{consumer}/pact-version/{sha}/verification-results"
            ),
            ActingFor::PathParameter("provider")
        );
        assert_eq!(
            acting(
                "PUT",
                "/pacticipants/{pacticipant}/versions/{version}/tags/{tag}"
            ),
            ActingFor::PathParameter("pacticipant")
        );
        // Deleting pacts acts for their consumer, a verification result
        // for its provider, whichever of the Pact Broker's addresses is used.
        for route in [
            "/versions",
            "/versions/{version}",
            "/tag/{tag}",
            "/branch/versions",
            "/branch/{branch}",
            "/branch/latest/versions",
            "/branch/{branch}/latest/versions",
        ] {
            assert_eq!(
                route_access("DELETE", &format!("{PAIR}{route}"))
                    .expect("listed")
                    .acting_for,
                ActingFor::PathParameter("consumer"),
                "{route}"
            );
        }
        for method in ["PUT", "PATCH"] {
            assert_eq!(
                route_access(method, &format!("{PAIR}/versions/{{version}}"))
                    .expect("listed")
                    .acting_for,
                ActingFor::PathParameter("consumer")
            );
        }
        for route in [
            "/pact-version/{sha}/verification-results/{number}",
            "/pact-version/{sha}/metadata/{metadata}/verification-results/{number}",
        ] {
            assert_eq!(
                route_access("DELETE", &format!("{PAIR}{route}"))
                    .expect("listed")
                    .acting_for,
                ActingFor::PathParameter("provider"),
                "{route}"
            );
        }
        assert_eq!(
            acting("DELETE", "/pacticipants/{pacticipant}/branches"),
            ActingFor::PathParameter("pacticipant")
        );
        assert_eq!(acting("POST", "/contracts/publish"), ActingFor::Handler);
        assert_eq!(
            acting("POST", "/provider-contracts/provider/{provider}/publish"),
            ActingFor::PathParameter("provider")
        );
        assert_eq!(
            acting("PUT", "/contracts/provider/{provider}/version/{version}"),
            ActingFor::PathParameter("provider")
        );
        assert_eq!(acting("POST", "/environments"), ActingFor::Nobody);
    }

    #[test]
    fn a_write_no_entry_covers_is_closed() {
        assert_eq!(route_access("POST", "/something/new"), None);
        assert_eq!(route_access("DELETE", "/audit"), None);
        assert_eq!(RouteAccess::UNLISTED_WRITE.role, Some(Role::Admin));
        // Reads of routes not listed need the read role, not nothing.
        assert_eq!(
            route_access("GET", "/something/new"),
            Some(RouteAccess::read())
        );
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

    fn chain(key: &AuditKey, keyed: &[bool]) -> Vec<AuditEntry> {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut entries: Vec<AuditEntry> = Vec::new();
        let mut previous = String::new();
        for (id, keyed) in (1..).zip(keyed) {
            let mut entry = AuditEntry {
                id,
                at,
                actor: "ci".into(),
                address: "127.0.0.1".into(),
                method: "POST".into(),
                target: format!("/contracts/publish#{id}"),
                status: COMMITTED,
                summary: "published".into(),
                previous_hash: previous.clone(),
                hash: String::new(),
                keyed: *keyed,
            };
            entry.hash = audit_hash(key, &previous, &entry);
            previous = entry.hash.clone();
            entries.push(entry);
        }
        entries
    }

    #[test]
    fn the_audit_chain_names_the_first_altered_or_removed_entry() {
        let key = AuditKey::derive("server secret");
        let entries = chain(&key, &[true; 4]);
        let report = verify_chain(&key, &entries, None, None).unwrap();
        assert_eq!((report.verified, report.unkeyed), (4, 0));
        assert_eq!(report.head, Some((4, entries[3].hash.clone())));
        let mut altered = entries.clone();
        altered[2].actor = "mallory".into();
        assert_eq!(
            verify_chain(&key, &altered, None, None),
            Err(ChainBreak::Altered { id: 3 })
        );
        let mut removed = entries;
        removed.remove(1);
        assert_eq!(
            verify_chain(&key, &removed, None, None),
            Err(ChainBreak::Removed { id: 3 })
        );
    }

    #[test]
    fn a_chain_recomputed_without_the_key_does_not_verify() {
        let key = AuditKey::derive("server secret");
        let mut entries = chain(&key, &[true; 3]);
        // Whoever rewrites an entry and recomputes the chain with another key...
        entries[1].actor = "mallory".into();
        let forged = AuditKey::derive("a guess");
        let mut previous = entries[0].hash.clone();
        for entry in &mut entries[1..] {
            entry.previous_hash.clone_from(&previous);
            entry.hash = audit_hash(&forged, &previous, entry);
            previous.clone_from(&entry.hash);
        }
        assert_eq!(
            verify_chain(&key, &entries, None, None),
            Err(ChainBreak::Altered { id: 2 })
        );
        // ...or as unkeyed entries after keyed ones, is found out.
        let mut downgraded = chain(&key, &[true; 3]);
        downgraded[2].keyed = false;
        downgraded[2].hash = audit_hash(&key, &downgraded[1].hash, &downgraded[2]);
        assert_eq!(
            verify_chain(&key, &downgraded, None, None),
            Err(ChainBreak::Downgraded { id: 3 })
        );
    }

    #[test]
    fn entries_from_before_the_key_still_verify_and_are_counted() {
        let key = AuditKey::derive("server secret");
        let entries = chain(&key, &[false, false, true]);
        let report = verify_chain(&key, &entries, None, None).unwrap();
        assert_eq!((report.verified, report.unkeyed), (3, 2));
    }

    #[test]
    fn a_saved_head_proves_nothing_was_removed_from_the_end() {
        let key = AuditKey::derive("server secret");
        let entries = chain(&key, &[true; 5]);
        let head = entries[3].hash.clone();
        assert!(verify_chain(&key, &entries, None, Some(&head)).is_ok());
        // The newest two entries deleted: the chain is still whole, but the head is gone.
        assert_eq!(
            verify_chain(&key, &entries[..3], None, Some(&head)),
            Err(ChainBreak::HeadMissing {
                head: head.clone(),
                count: 3
            })
        );
        assert!(matches!(
            verify_chain(&key, &[], None, Some(&head)),
            Err(ChainBreak::HeadMissing { count: 0, .. })
        ));
        // From a saved head on, only the links after it are checked.
        let report = verify_chain(&key, &entries[3..], Some(&head), None).unwrap();
        assert_eq!(report.verified, 2);
        assert!(matches!(
            verify_chain(&key, &entries[4..], Some(&head), None),
            Err(ChainBreak::HeadMissing { .. })
        ));
    }

    #[test]
    fn each_status_says_what_happened() {
        assert_eq!(audit_outcome(COMMITTED), "committed");
        assert_eq!(audit_outcome(403), "refused");
        assert_eq!(audit_outcome(201), "answered");
        assert_eq!(audit_outcome(404), "failed");
    }
}

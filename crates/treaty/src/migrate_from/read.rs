//! The source's answers read into plain records, leniently: a member a
//! Pact Broker of another release lacks is absent here, not an error, and
//! whatever a record cannot do without (a name, a number, a time) makes it
//! unreadable, which the caller reports by name.

use chrono::{DateTime, Utc};
use serde_json::Value;
use treaty_client::hal;

/// Text at `key` of `value`, when it is a non-empty string.
pub fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A time as the Pact Broker writes it (RFC 3339, to the second).
pub fn time(value: &Value, key: &str) -> Option<DateTime<Utc>> {
    value
        .get(key)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// When a record was last changed. A record the source shows an `updatedAt`
/// for was changed after it was made, even when the two print the same (to
/// the second): it is kept a microsecond after its creation, so that Treaty
/// shows its `updatedAt` too (it shows one only on a changed record).
pub fn updated_time(value: &Value, created_at: DateTime<Utc>) -> DateTime<Utc> {
    match time(value, "updatedAt") {
        Some(updated) if updated <= created_at => created_at + chrono::Duration::microseconds(1),
        Some(updated) => updated,
        None => created_at,
    }
}

/// The items embedded under `key` (`_embedded.KEY`), or none.
pub fn embedded<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .pointer(&format!("/_embedded/{key}"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The `href` of the relation's single link.
pub fn href(value: &Value, relation: &str) -> Option<String> {
    hal::link(value, relation).map(|link| link.href)
}

/// Every link object of a relation (an array, or one object), as JSON:
/// the Pact Broker puts extra members (`currently_deployed`) on them.
pub fn link_objects<'a>(value: &'a Value, relation: &str) -> Vec<&'a Value> {
    match value.get("_links").and_then(|links| links.get(relation)) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(object @ Value::Object(_)) => vec![object],
        _ => Vec::new(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceEnvironment {
    pub uuid: String,
    pub name: String,
    pub display_name: Option<String>,
    pub production: bool,
    pub contacts: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn environment(value: &Value) -> Option<SourceEnvironment> {
    let created_at = time(value, "createdAt")?;
    Some(SourceEnvironment {
        uuid: text(value, "uuid")?,
        name: text(value, "name")?,
        display_name: text(value, "displayName"),
        production: value
            .get("production")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        contacts: value.get("contacts").filter(|c| !c.is_null()).cloned(),
        created_at,
        updated_at: updated_time(value, created_at),
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourcePacticipant {
    pub name: String,
    pub display_name: Option<String>,
    pub repository_url: Option<String>,
    pub repository_name: Option<String>,
    pub repository_namespace: Option<String>,
    pub main_branch: Option<String>,
    pub labels: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Where its versions and branches are listed.
    pub versions_href: Option<String>,
    pub branches_href: Option<String>,
}

pub fn pacticipant(value: &Value) -> Option<SourcePacticipant> {
    let created_at = time(value, "createdAt")?;
    let mut labels: Vec<String> = embedded(value, "labels")
        .iter()
        .filter_map(|label| text(label, "name"))
        .collect();
    labels.sort();
    labels.dedup();
    Some(SourcePacticipant {
        name: text(value, "name")?,
        display_name: text(value, "displayName"),
        repository_url: text(value, "repositoryUrl"),
        repository_name: text(value, "repositoryName"),
        repository_namespace: text(value, "repositoryNamespace"),
        main_branch: text(value, "mainBranch"),
        labels,
        created_at,
        updated_at: updated_time(value, created_at),
        versions_href: href(value, "pb:versions"),
        branches_href: href(value, "pb:branches"),
    })
}

/// A deployment or release record as a version lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLink {
    pub href: String,
    /// Currently deployed (or supported) at the source.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceVersion {
    pub number: String,
    pub build_url: Option<String>,
    pub tags: Vec<String>,
    pub branches: Vec<String>,
    /// The branches this version is the head of.
    pub heads_of: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deployments: Vec<RecordLink>,
    pub releases: Vec<RecordLink>,
}

fn record_links(value: &Value, relation: &str, flag: &str) -> Vec<RecordLink> {
    link_objects(value, relation)
        .into_iter()
        .filter_map(|link| {
            Some(RecordLink {
                href: text(link, "href")?,
                current: link
                    .get(flag)
                    .and_then(Value::as_bool)
                    .or_else(|| link.get(camel(flag)).and_then(Value::as_bool))
                    .unwrap_or(true),
            })
        })
        .collect()
}

/// `currently_deployed` → `currentlyDeployed`.
fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

pub fn version(value: &Value) -> Option<SourceVersion> {
    let created_at = time(value, "createdAt")?;
    let mut tags: Vec<String> = embedded(value, "tags")
        .iter()
        .filter_map(|tag| text(tag, "name"))
        .collect();
    tags.sort();
    tags.dedup();
    // `branchVersions` since 2.8x; `branches` before (and still, as an alias).
    let memberships = if embedded(value, "branchVersions").is_empty() {
        embedded(value, "branches")
    } else {
        embedded(value, "branchVersions")
    };
    let mut branches: Vec<String> = memberships.iter().filter_map(|b| text(b, "name")).collect();
    branches.sort();
    branches.dedup();
    let mut heads_of: Vec<String> = memberships
        .iter()
        .filter(|b| b.get("latest").and_then(Value::as_bool) == Some(true))
        .filter_map(|b| text(b, "name"))
        .collect();
    heads_of.sort();
    heads_of.dedup();
    Some(SourceVersion {
        number: text(value, "number")?,
        build_url: text(value, "buildUrl"),
        tags,
        branches,
        heads_of,
        created_at,
        updated_at: updated_time(value, created_at),
        deployments: record_links(value, "pb:deployed-environments", "currently_deployed"),
        releases: record_links(value, "pb:released-environments", "currently_supported"),
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceBranch {
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn branch(value: &Value) -> Option<SourceBranch> {
    let created_at = time(value, "createdAt")?;
    Some(SourceBranch {
        name: text(value, "name")?,
        created_at,
        updated_at: updated_time(value, created_at),
    })
}

/// A consumer/provider pair.
pub fn integration(value: &Value) -> Option<(String, String)> {
    let consumer = value.get("consumer").and_then(|c| text(c, "name"))?;
    let provider = value.get("provider").and_then(|p| text(p, "name"))?;
    Some((consumer, provider))
}

/// A pact publication as a pair's list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedPact {
    pub consumer_version: String,
    pub href: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn listed_pact(value: &Value) -> Option<ListedPact> {
    let consumer_version = value
        .pointer("/_embedded/consumerVersion/number")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| text(value, "consumerVersionNumber"))?;
    let created_at = time(value, "createdAt")?;
    Some(ListedPact {
        consumer_version,
        href: href(value, "self")?,
        created_at,
        updated_at: updated_time(value, created_at),
    })
}

/// A pact as served: its document without what the broker added around it
/// (`_links`, `createdAt`), and the source's hash of its content.
pub fn pact_document(mut value: Value) -> Option<(Value, String)> {
    let sha = href(&value, "pb:pact-version")
        .and_then(|href| last_segment(&href))
        .or_else(|| {
            href(&value, "pb:publish-verification-results").and_then(|href| {
                let path = href.split("/pact-version/").nth(1)?;
                path.split('/').next().map(str::to_owned)
            })
        })?;
    let object = value.as_object_mut()?;
    for added in ["_links", "_embedded", "createdAt"] {
        object.remove(added);
    }
    Some((value, sha))
}

fn last_segment(href: &str) -> Option<String> {
    let path = href.split(['?', '#']).next()?;
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A verification result as a matrix row names it: its number and where to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationRow {
    pub number: i64,
    pub href: String,
    pub provider_version: String,
}

/// The verification results of a matrix answer's rows.
pub fn matrix_verifications(answer: &Value) -> (usize, Vec<VerificationRow>) {
    let rows = answer
        .get("matrix")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let verifications = rows
        .iter()
        .filter_map(|row| {
            let result = row.get("verificationResult").filter(|r| !r.is_null())?;
            let href = href(result, "self")?;
            let number = last_segment(&href)?.parse().ok()?;
            let provider_version = row
                .pointer("/provider/version/number")
                .and_then(Value::as_str)?
                .to_owned();
            Some(VerificationRow {
                number,
                href,
                provider_version,
            })
        })
        .collect();
    (rows.len(), verifications)
}

/// A verification result's details.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceVerification {
    pub provider_version: Option<String>,
    pub success: bool,
    pub build_url: Option<String>,
    pub test_results: Option<Value>,
    pub verified_by: Option<Value>,
    pub execution_date: DateTime<Utc>,
}

pub fn verification(value: &Value) -> Option<SourceVerification> {
    Some(SourceVerification {
        provider_version: text(value, "providerApplicationVersion"),
        success: value.get("success").and_then(Value::as_bool)?,
        build_url: text(value, "buildUrl"),
        test_results: value.get("testResults").filter(|t| !t.is_null()).cloned(),
        verified_by: value
            .get("verifiedBy")
            .filter(|v| {
                v.as_object()
                    .is_some_and(|o| o.values().any(|x| !x.is_null()))
            })
            .cloned(),
        execution_date: time(value, "verificationDate").or_else(|| time(value, "createdAt"))?,
    })
}

/// A deployment record's details.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDeployment {
    pub uuid: String,
    pub environment_uuid: String,
    pub application_instance: Option<String>,
    pub created_at: DateTime<Utc>,
    pub undeployed_at: Option<DateTime<Utc>>,
    pub current: bool,
}

fn environment_uuid(value: &Value) -> Option<String> {
    value
        .pointer("/_embedded/environment/uuid")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

pub fn deployment(value: &Value) -> Option<SourceDeployment> {
    let undeployed_at = time(value, "undeployedAt");
    Some(SourceDeployment {
        uuid: text(value, "uuid")?,
        environment_uuid: environment_uuid(value)?,
        application_instance: text(value, "applicationInstance").or_else(|| text(value, "target")),
        created_at: time(value, "createdAt")?,
        current: value
            .get("currentlyDeployed")
            .and_then(Value::as_bool)
            .unwrap_or(undeployed_at.is_none()),
        undeployed_at,
    })
}

/// A release record's details.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRelease {
    pub uuid: String,
    pub environment_uuid: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub support_ended_at: Option<DateTime<Utc>>,
}

pub fn release(value: &Value) -> Option<SourceRelease> {
    let created_at = time(value, "createdAt")?;
    let supported = value.get("currentlySupported").and_then(Value::as_bool);
    let support_ended_at = time(value, "supportEndedAt").or_else(|| {
        (supported == Some(false)).then(|| time(value, "updatedAt").unwrap_or(created_at))
    });
    Some(SourceRelease {
        uuid: text(value, "uuid")?,
        environment_uuid: environment_uuid(value)?,
        created_at,
        updated_at: updated_time(value, created_at),
        support_ended_at,
    })
}

/// An entry of a currently-deployed or currently-supported list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CurrentRecord {
    pub pacticipant: String,
    pub version: String,
    pub application_instance: Option<String>,
}

pub fn current_records(answer: &Value, key: &str) -> Vec<CurrentRecord> {
    let mut records: Vec<CurrentRecord> = embedded(answer, key)
        .iter()
        .filter_map(|item| {
            Some(CurrentRecord {
                pacticipant: item
                    .pointer("/_embedded/pacticipant/name")
                    .and_then(Value::as_str)?
                    .to_owned(),
                version: item
                    .pointer("/_embedded/version/number")
                    .and_then(Value::as_str)?
                    .to_owned(),
                application_instance: text(item, "applicationInstance")
                    .or_else(|| text(item, "target")),
            })
        })
        .collect();
    records.sort();
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_version_reads_its_branches_heads_tags_and_records() {
        let listed = json!({
            "number": "1.2.3", "buildUrl": "https://ci/1", "createdAt": "2024-01-02T03:04:05+00:00",
            "_embedded": {
                "branchVersions": [{"name": "main", "latest": true}, {"name": "feat", "latest": false}],
                "tags": [{"name": "prod"}, {"name": "dev"}]
            },
            "_links": {
                "pb:deployed-environments": [
                    {"href": "https://b/deployed-versions/u1", "currently_deployed": false, "application_instance": "blue"}
                ],
                "pb:released-environments": [{"href": "https://b/released-versions/r1", "currently_supported": true}]
            }
        });
        let version = version(&listed).expect("readable");
        assert_eq!(version.branches, ["feat", "main"]);
        assert_eq!(version.heads_of, ["main"]);
        assert_eq!(version.tags, ["dev", "prod"]);
        assert_eq!(version.updated_at, version.created_at);
        assert_eq!(
            version.deployments,
            [RecordLink {
                href: "https://b/deployed-versions/u1".into(),
                current: false
            }]
        );
        assert!(version.releases[0].current);
    }

    #[test]
    fn older_brokers_list_branches_without_heads_and_no_records() {
        let listed = json!({"number": "1", "createdAt": "2024-01-02T03:04:05Z",
            "_embedded": {"branches": [{"name": "main"}]}});
        let version = version(&listed).expect("readable");
        assert_eq!(version.branches, ["main"]);
        assert!(version.heads_of.is_empty() && version.deployments.is_empty());
        assert_eq!(super::version(&json!({"number": "1"})), None, "no time");
    }

    #[test]
    fn a_served_pact_loses_what_the_broker_added_and_keeps_its_hash() {
        let served = json!({
            "consumer": {"name": "Foo"}, "provider": {"name": "Bar"}, "interactions": [],
            "createdAt": "2024-01-02T03:04:05+00:00",
            "_links": {"pb:pact-version": {"href": "https://b/pacts/provider/Bar/consumer/Foo/pact-version/abc123"}}
        });
        let (document, sha) = pact_document(served).expect("a pact");
        assert_eq!(sha, "abc123");
        assert_eq!(
            document,
            json!({"consumer": {"name": "Foo"}, "provider": {"name": "Bar"}, "interactions": []})
        );
    }

    #[test]
    fn matrix_rows_name_their_verification_numbers() {
        let answer = json!({"matrix": [
            {"provider": {"name": "Bar", "version": {"number": "9"}},
             "verificationResult": {"success": true, "_links": {"self": {"href": "https://b/pacts/provider/Bar/consumer/Foo/pact-version/s/metadata/x/verification-results/105"}}}},
            {"provider": {"name": "Bar", "version": null}, "verificationResult": null}
        ]});
        let (rows, verifications) = matrix_verifications(&answer);
        assert_eq!(rows, 2);
        assert_eq!(verifications.len(), 1);
        assert_eq!(verifications[0].number, 105);
        assert_eq!(verifications[0].provider_version, "9");
    }

    #[test]
    fn a_release_whose_support_ended_without_a_time_ends_when_last_updated() {
        let ended = json!({"uuid": "r", "currentlySupported": false, "createdAt": "2024-01-01T00:00:00Z",
            "updatedAt": "2024-02-01T00:00:00Z", "_embedded": {"environment": {"uuid": "e"}}});
        let release = release(&ended).expect("readable");
        assert_eq!(release.support_ended_at, time(&ended, "updatedAt"));
    }
}

//! The matrix's rows as the Pact Broker shapes them, serialised straight
//! from borrowed structs. A thousand-row matrix built as `serde_json::Value`
//! spent most of its time allocating, hashing and dropping map entries; these
//! structs write the same JSON, key for key and in the same order.

use std::collections::HashMap;

use serde::Serialize;
use treaty_domain::matrix::{Row, VerificationType};
use treaty_domain::time;
use treaty_store::MatrixVersion;

use crate::views::Urls;

/// `{"self": {"href": ...}}`.
#[derive(Serialize)]
struct Links {
    #[serde(rename = "self")]
    this: Href,
}

#[derive(Serialize)]
struct Href {
    href: String,
}

impl Links {
    fn to(href: String) -> Self {
        Self {
            this: Href { href },
        }
    }
}

/// `{"self": {"title": ..., "name": ..., "href": ...}}`.
#[derive(Serialize)]
struct TitledLinks<'a> {
    #[serde(rename = "self")]
    this: Titled<'a>,
}

#[derive(Serialize)]
struct Titled<'a> {
    title: &'static str,
    name: &'a str,
    href: String,
}

#[derive(Serialize)]
pub struct RowBody<'a> {
    consumer: Party<'a>,
    provider: Party<'a>,
    pact: Pact,
    #[serde(rename = "verificationResult")]
    verification_result: Option<Verification>,
    /// PactFlow's: `CDCT` (the provider ran the pact), `BDCT` (the pact was
    /// compared with the provider's document), null while neither happened.
    #[serde(rename = "verificationType")]
    verification_type: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    ignored: bool,
}

#[derive(Serialize)]
struct Party<'a> {
    name: &'a str,
    version: Option<&'a VersionBody<'a>>,
    #[serde(rename = "_links")]
    links: Links,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionBody<'a> {
    number: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    branch: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    branches: Option<Vec<Branch<'a>>>,
    /// The same list as `branches`, under the name newer clients read.
    #[serde(skip_serializing_if = "Option::is_none")]
    branch_versions: Option<Vec<Branch<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environments: Option<Vec<EnvironmentBody<'a>>>,
    #[serde(rename = "_links")]
    links: Links,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<Tag<'a>>>,
}

#[derive(Serialize)]
struct Branch<'a> {
    name: &'a str,
    latest: bool,
    #[serde(rename = "_links")]
    links: TitledLinks<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvironmentBody<'a> {
    uuid: &'a str,
    name: &'a str,
    display_name: Option<&'a str>,
    production: bool,
    /// Only once it differs from `createdAt`, as the Pact Broker gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
    created_at: String,
    #[serde(rename = "_links")]
    links: TitledLinks<'a>,
}

#[derive(Serialize)]
struct Tag<'a> {
    name: &'a str,
    /// No later version of the pacticipant has this tag.
    latest: bool,
    #[serde(rename = "_links")]
    links: Links,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pact {
    created_at: String,
    #[serde(rename = "_links")]
    links: Links,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Verification {
    success: bool,
    verified_at: String,
    #[serde(rename = "_links")]
    links: Links,
}

/// A version of `pacticipant`, with its branches, environments and tags
/// when the store found it.
fn version_body<'a>(
    urls: &Urls,
    pacticipant: &'a str,
    version_id: i64,
    number: &'a str,
    versions: &'a HashMap<i64, MatrixVersion>,
) -> VersionBody<'a> {
    let mut body = VersionBody {
        number,
        branch: None,
        branches: None,
        branch_versions: None,
        environments: None,
        tags: None,
        links: Links::to(urls.version(pacticipant, number)),
    };
    if let Some(MatrixVersion {
        version,
        environments,
        latest_tags,
    }) = versions.get(&version_id)
    {
        let branches = || {
            version
                .branches
                .iter()
                .map(|b| Branch {
                    name: &b.name,
                    latest: b.latest,
                    links: TitledLinks {
                        this: Titled {
                            title: "Branch version",
                            name: &b.name,
                            href: urls.branch_version(pacticipant, &b.name, number),
                        },
                    },
                })
                .collect::<Vec<_>>()
        };
        body.branch = version.branches.last().map(|b| b.name.as_str());
        body.branches = Some(branches());
        body.branch_versions = Some(branches());
        body.environments = Some(
            environments
                .iter()
                .map(|e| EnvironmentBody {
                    uuid: &e.uuid,
                    name: &e.name,
                    display_name: e.display_name.as_deref(),
                    production: e.production,
                    updated_at: (e.updated_at != e.created_at).then(|| time::format(e.updated_at)),
                    created_at: time::format(e.created_at),
                    links: TitledLinks {
                        this: Titled {
                            title: "Environment",
                            name: &e.name,
                            href: urls.environment(&e.uuid),
                        },
                    },
                })
                .collect(),
        );
        body.tags = Some(
            version
                .tags
                .iter()
                .map(|t| Tag {
                    name: t,
                    latest: latest_tags.contains(t),
                    links: Links::to(urls.tag(pacticipant, number, t)),
                })
                .collect(),
        );
    }
    body
}

/// Each version of the matrix's rows rendered once, by id: a version
/// appears in many rows (a consumer version with every provider version
/// that verified it), and its links and branches are the same in each.
pub fn version_bodies<'a>(
    urls: &Urls,
    rows: &'a [Row],
    versions: &'a HashMap<i64, MatrixVersion>,
) -> HashMap<i64, VersionBody<'a>> {
    let mut bodies = HashMap::new();
    for row in rows {
        bodies.entry(row.consumer_version.id).or_insert_with(|| {
            version_body(
                urls,
                &row.consumer,
                row.consumer_version.id,
                &row.consumer_version.number,
                versions,
            )
        });
        if let Some(v) = &row.provider_version {
            bodies
                .entry(v.id)
                .or_insert_with(|| version_body(urls, &row.provider, v.id, &v.number, versions));
        }
    }
    bodies
}

/// One matrix row: the pact between two versions and its verification,
/// with the versions from `version_bodies`.
pub fn row_body<'a>(
    urls: &Urls,
    row: &'a Row,
    bodies: &'a HashMap<i64, VersionBody<'a>>,
) -> RowBody<'a> {
    RowBody {
        consumer: Party {
            name: &row.consumer,
            version: bodies.get(&row.consumer_version.id),
            links: Links::to(urls.pacticipant(&row.consumer)),
        },
        provider: Party {
            name: &row.provider,
            version: row
                .provider_version
                .as_ref()
                .and_then(|v| bodies.get(&v.id)),
            links: Links::to(urls.pacticipant(&row.provider)),
        },
        pact: Pact {
            created_at: time::format(row.pact_created_at),
            links: Links::to(urls.pact(&row.provider, &row.consumer, &row.consumer_version.number)),
        },
        verification_result: match (&row.verification, &row.provider_version) {
            // A bi-directional row's result is the comparison's (and the
            // provider's own tests'): its link leads to both.
            // A failed self-verification fails it before the comparison is in.
            (v, Some(pv)) if row.contract.is_some() && row.success().is_some() => {
                Some(Verification {
                    success: row.success() == Some(true),
                    verified_at: time::format(
                        v.as_ref().map_or(row.pact_created_at, |v| v.verified_at),
                    ),
                    links: Links::to(urls.comparison(
                        &row.provider,
                        &pv.number,
                        &row.consumer,
                        &row.consumer_version.number,
                    )),
                })
            }
            (Some(v), Some(_)) => Some(Verification {
                success: v.success,
                verified_at: time::format(v.verified_at),
                links: Links::to(verification_url(urls, row, v.number)),
            }),
            _ => None,
        },
        verification_type: row.verification_type().map(VerificationType::as_str),
        ignored: row.ignored,
    }
}

/// A verification's URL as the Pact Broker gives it in a matrix row: with
/// the metadata that names the consumer version (`cvn`), base64url of a
/// Rack query, between the pact version and the result.
fn verification_url(urls: &Urls, row: &Row, number: i64) -> String {
    use base64::Engine;
    let metadata = form_urlencoded::Serializer::new(String::new())
        .append_pair("cvn", &row.consumer_version.number)
        .finish();
    format!(
        "{}/metadata/{}/verification-results/{number}",
        urls.pact_version(&row.provider, &row.consumer, &row.pact_sha),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(metadata)
    )
}

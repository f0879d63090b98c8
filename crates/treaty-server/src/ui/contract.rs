//! A contract: one pact shown readably (each interaction's request and
//! response), its latest verification, and a diff against another version.

use crate::path::Path;
use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::Value;
use similar::{ChangeTag, TextDiff};
use treaty_domain::model::Pact;
use treaty_store::PactFilter;

use super::view::{Nav, Verdict, When, pretty};
use super::{PageResult, not_found, ok};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::ApiError;

/// Unchanged lines kept around each change in the diff.
const DIFF_CONTEXT: usize = 3;

#[derive(Template)]
#[template(path = "ui/contract.html")]
struct ContractPage {
    nav: Nav,
    consumer: String,
    consumer_href: String,
    provider: String,
    provider_href: String,
    version: String,
    version_href: String,
    sha: String,
    published: When,
    verification: Option<(Verdict, String)>,
    versions: Vec<VersionOption>,
    interactions: Vec<InteractionView>,
    diff: Option<DiffView>,
    form_action: String,
    api_href: String,
}

struct VersionOption {
    number: String,
    label: String,
    selected: bool,
    compared: bool,
}

struct InteractionView {
    description: String,
    states: Vec<String>,
    request_line: Option<String>,
    request: Option<String>,
    response_line: Option<String>,
    response: Option<String>,
    /// For interactions without a request (messages): the whole interaction.
    other: Option<String>,
}

struct DiffView {
    from: String,
    to: String,
    identical: bool,
    added: usize,
    removed: usize,
    lines: Vec<DiffLine>,
}

struct DiffLine {
    class: &'static str,
    sign: &'static str,
    text: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Which {
    version: Option<String>,
    compare: Option<String>,
}

/// `GET /ui/contracts/{provider}/{consumer}?version=&compare=`
pub async fn page(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer)): Path<(String, String)>,
    which: Result<Query<Which>, QueryRejection>,
) -> PageResult {
    let Query(which) = which.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let nav = Nav::new(&base, "network");
    let pacts = state
        .store
        .pacts_between(&consumer, &provider, PactFilter::All)
        .await?;
    let Some(latest) = pacts.first() else {
        return not_found(
            &base,
            "No such contract",
            format!(
                "{consumer} has published no pact with {provider}. The network shows every contract."
            ),
        );
    };
    let wanted = which.version.filter(|v| !v.is_empty());
    let Some(pact) = wanted.as_ref().map_or(Some(latest), |v| {
        pacts.iter().find(|p| &p.consumer_version == v)
    }) else {
        return not_found(
            &base,
            "No such contract version",
            format!(
                "Version '{}' of {consumer} published no pact with {provider}; the latest is {}.",
                wanted.unwrap_or_default(),
                latest.consumer_version
            ),
        );
    };
    let compare_with = which
        .compare
        .filter(|v| !v.is_empty())
        .and_then(|v| pacts.iter().find(|p| p.consumer_version == v));
    let links = nav.links.clone();

    let verification = state
        .store
        .verification(&consumer, &provider, &pact.sha, None)
        .await?
        .map(|v| {
            (
                Verdict::from_option(Some(v.success)),
                format!(
                    "{} by {} {} on {}",
                    if v.success { "Verified" } else { "Failed" },
                    provider,
                    v.provider_version,
                    When::new(v.execution_date).text
                ),
            )
        });

    ok(&ContractPage {
        consumer_href: links.application(&consumer),
        provider_href: links.application(&provider),
        version_href: links.version(&consumer, &pact.consumer_version),
        version: pact.consumer_version.clone(),
        sha: pact.sha.chars().take(12).collect(),
        published: When::new(pact.created_at),
        verification,
        versions: pacts
            .iter()
            .map(|p| VersionOption {
                label: format!(
                    "{} (content {})",
                    p.consumer_version,
                    p.sha.chars().take(8).collect::<String>()
                ),
                selected: p.consumer_version == pact.consumer_version,
                compared: compare_with.is_some_and(|c| c.consumer_version == p.consumer_version),
                number: p.consumer_version.clone(),
            })
            .collect(),
        interactions: interactions(&pact.content),
        diff: compare_with.map(|old| diff(old, pact)),
        form_action: links.contract(&provider, &consumer, None),
        api_href: links.api(&format!(
            "/pacts/provider/{provider}/consumer/{consumer}/version/{}",
            pact.consumer_version
        )),
        consumer,
        provider,
        nav,
    })
}

/// The document without Treaty's interaction ids, as published.
fn without_ids(content: &Value) -> Value {
    let mut content = content.clone();
    for key in ["interactions", "messages"] {
        if let Some(Value::Array(items)) = content.get_mut(key) {
            for item in items {
                if let Value::Object(fields) = item {
                    fields.remove("_id");
                }
            }
        }
    }
    content
}

fn interactions(content: &Value) -> Vec<InteractionView> {
    let content = without_ids(content);
    let items = content["interactions"]
        .as_array()
        .or_else(|| content["messages"].as_array())
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .map(|i| {
            let states = match (&i["providerState"], &i["providerStates"]) {
                (Value::String(s), _) => vec![s.clone()],
                (_, Value::Array(list)) => list
                    .iter()
                    .filter_map(|s| s["name"].as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            let request = i.get("request").filter(|r| r.is_object());
            let response = i.get("response").filter(|r| r.is_object());
            InteractionView {
                description: i["description"]
                    .as_str()
                    .unwrap_or("(no description)")
                    .to_owned(),
                states,
                request_line: request.map(|r| {
                    format!(
                        "{} {}",
                        r["method"].as_str().unwrap_or("GET").to_ascii_uppercase(),
                        r["path"].as_str().unwrap_or("/")
                    )
                }),
                request: request.map(pretty),
                response_line: response.map(|r| match &r["status"] {
                    Value::Number(n) => format!("status {n}"),
                    _ => "any status".to_owned(),
                }),
                response: response.map(pretty),
                other: (request.is_none() && response.is_none()).then(|| pretty(i)),
            }
        })
        .collect()
}

fn diff(old: &Pact, new: &Pact) -> DiffView {
    let before = pretty(&without_ids(&old.content));
    let after = pretty(&without_ids(&new.content));
    let text = TextDiff::from_lines(&before, &after);
    let mut lines = Vec::new();
    let (mut added, mut removed) = (0, 0);
    for (n, group) in text.grouped_ops(DIFF_CONTEXT).iter().enumerate() {
        if n > 0 {
            lines.push(DiffLine {
                class: "gap",
                sign: " ",
                text: "…".to_owned(),
            });
        }
        for op in group {
            for change in text.iter_changes(op) {
                let (class, sign) = match change.tag() {
                    ChangeTag::Insert => {
                        added += 1;
                        ("added", "+")
                    }
                    ChangeTag::Delete => {
                        removed += 1;
                        ("removed", "-")
                    }
                    ChangeTag::Equal => ("same", " "),
                };
                lines.push(DiffLine {
                    class,
                    sign,
                    text: change.value().trim_end_matches('\n').to_owned(),
                });
            }
        }
    }
    DiffView {
        from: old.consumer_version.clone(),
        to: new.consumer_version.clone(),
        identical: old.sha == new.sha,
        added,
        removed,
        lines,
    }
}

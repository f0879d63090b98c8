//! A contract: one pact shown readably (each interaction's request and
//! response), its latest verification, and a diff against another version.

use crate::path::Path;
use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::Value;
use similar::{ChangeTag, TextDiff};
use std::time::{Duration, Instant};
use treaty_domain::model::Pact;
use treaty_store::{PactFilter, PactSelector};

use super::view::{Nav, Verdict, When, pretty};
use super::{PageResult, not_found, ok};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::hal::seg;
use crate::heavy;

/// Unchanged lines kept around each change in the diff.
const DIFF_CONTEXT: usize = 3;

/// The longest document (pretty-printed) the page compares, in lines and
/// bytes: a line diff of two sides that differ throughout costs about the
/// product of their lengths.
const DIFF_MAX_LINES: usize = 20_000;
const DIFF_MAX_BYTES: usize = 2 * 1024 * 1024;

/// How long a comparison may run (at most half the request timeout).
const DIFF_TIME_BUDGET: Duration = Duration::from_secs(2);

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
    /// Where to download each version, when they are too large to compare here.
    from_href: String,
    to_href: String,
    identical: bool,
    /// Why the page does not compare them.
    too_large: Option<String>,
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

/// The page of one version of a contract: what a browser gets at a pact's
/// API address (the Pact Broker answers those with HTML too).
pub async fn for_version(
    state: &AppState,
    base: &BaseUrl,
    provider: &str,
    consumer: &str,
    version: &str,
) -> PageResult {
    let which = Which {
        version: Some(version.to_owned()),
        compare: None,
    };
    page(
        State(state.clone()),
        base.clone(),
        super::forms::Viewer::unnamed(state),
        Path((provider.to_owned(), consumer.to_owned())),
        Ok(Query(which)),
    )
    .await
}

/// `GET /ui/contracts/{provider}/{consumer}?version=&compare=`
pub async fn page(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: super::forms::Viewer,
    Path((provider, consumer)): Path<(String, String)>,
    which: Result<Query<Which>, QueryRejection>,
) -> PageResult {
    let Query(which) = which.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let nav = Nav::new(&base, &viewer, "network");
    let pacts = state
        .store
        .pacts_between(&consumer, &provider, PactFilter::All)
        .await?;
    let Some(latest) = pacts.first() else {
        return not_found(
            &nav,
            "No such contract",
            format!(
                "{consumer} has published no pact with {provider}. The network shows every contract."
            ),
        );
    };
    let wanted = which.version.filter(|v| !v.is_empty());
    let Some(shown) = wanted.as_ref().map_or(Some(0), |v| {
        pacts.iter().position(|p| &p.consumer_version == v)
    }) else {
        return not_found(
            &nav,
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
        .and_then(|v| pacts.iter().position(|p| p.consumer_version == v));
    let links = nav.links.clone();

    // The list holds no documents (a pact can be megabytes): read only the
    // one shown and the one it is compared with.
    let summary = &pacts[shown];
    let pact = state
        .store
        .pact(
            &consumer,
            &provider,
            PactSelector::ConsumerVersion(summary.consumer_version.clone()),
        )
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "{consumer} version {} published no pact with {provider}",
                summary.consumer_version
            ))
        })?;
    let latest_verification = state
        .store
        .verification(&consumer, &provider, &pact.sha, None)
        .await?;
    // A failure of a pending or WIP pact is marked so, and is not red.
    let outcome = match &latest_verification {
        Some(v) => super::integration_status::outcome_of(&state, v.number, v.success).await?,
        None => None,
    };
    let verification = latest_verification.zip(outcome).map(|(v, outcome)| {
        (
            if outcome.breaks() {
                Verdict::Bad
            } else if outcome.success {
                Verdict::Good
            } else {
                Verdict::Unknown
            },
            format!(
                "{} by {} {} on {}",
                capitalised(outcome.words()),
                provider,
                v.provider_version,
                When::new(v.execution_date).text
            ),
        )
    });
    let versions = pacts
        .iter()
        .enumerate()
        .map(|(index, p)| VersionOption {
            label: format!(
                "{} (content {})",
                p.consumer_version,
                p.sha.chars().take(8).collect::<String>()
            ),
            selected: p.consumer_version == pact.consumer_version,
            compared: compare_with == Some(index),
            number: p.consumer_version.clone(),
        })
        .collect();
    // A version compared with itself needs no content (it is identical).
    let old = match compare_with {
        None => None,
        Some(index) => {
            let compared = &pacts[index];
            let content = if compared.sha == pact.sha {
                Value::Null
            } else {
                state
                    .store
                    .pact(
                        &consumer,
                        &provider,
                        PactSelector::ConsumerVersion(compared.consumer_version.clone()),
                    )
                    .await?
                    .map(|p| p.content)
                    .unwrap_or(Value::Null)
            };
            Some(Compared {
                version: compared.consumer_version.clone(),
                sha: compared.sha.clone(),
                content,
            })
        }
    };
    let pact_href = |version: &str| {
        links.api(&format!(
            "/pacts/provider/{}/consumer/{}/version/{}",
            seg(&provider),
            seg(&consumer),
            seg(version)
        ))
    };
    let api_href = pact_href(&pact.consumer_version);
    let old_href = old.as_ref().map(|old| pact_href(&old.version));
    let form_action = links.contract(&provider, &consumer, None);
    let diff_budget = DIFF_TIME_BUDGET.min(state.config.request_timeout / 2);
    // Pretty-printing, comparing and rendering a pact of thousands of
    // interactions is CPU work of seconds: off the runtime's threads.
    heavy::run(move || {
        ok(&ContractPage {
            consumer_href: links.application(&consumer),
            provider_href: links.application(&provider),
            version_href: links.version(&consumer, &pact.consumer_version),
            version: pact.consumer_version.clone(),
            sha: pact.sha.chars().take(12).collect(),
            published: When::new(pact.created_at),
            verification,
            versions,
            interactions: interactions(&pact.content),
            diff: old.map(|old| {
                diff(
                    &old,
                    &pact,
                    old_href.unwrap_or_default(),
                    api_href.clone(),
                    diff_budget,
                )
            }),
            form_action,
            api_href,
            consumer,
            provider,
            nav,
        })
    })
    .await?
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

/// The version a page compares with, and its content.
struct Compared {
    version: String,
    sha: String,
    content: Value,
}

/// Compares two versions line by line, within bounds: two sides of a
/// hundred thousand lines that differ throughout cost the line diff
/// minutes, so larger sides are not compared, and a comparison that runs
/// out of time is given up; the page then links to both documents.
fn diff(
    old: &Compared,
    new: &Pact,
    old_href: String,
    new_href: String,
    budget: Duration,
) -> DiffView {
    let mut view = DiffView {
        from: old.version.clone(),
        to: new.consumer_version.clone(),
        from_href: old_href,
        to_href: new_href,
        identical: old.sha == new.sha,
        too_large: None,
        added: 0,
        removed: 0,
        lines: Vec::new(),
    };
    if view.identical {
        return view;
    }
    let before = pretty(&without_ids(&old.content));
    let after = pretty(&without_ids(&new.content));
    let lines = before.lines().count().max(after.lines().count());
    let bytes = before.len().max(after.len());
    if lines > DIFF_MAX_LINES || bytes > DIFF_MAX_BYTES {
        view.too_large = Some(format!(
            "{lines} lines, {} KiB; the page compares up to {DIFF_MAX_LINES} lines and {} KiB",
            bytes / 1024,
            DIFF_MAX_BYTES / 1024
        ));
        return view;
    }
    let deadline = Instant::now() + budget;
    let text = TextDiff::configure()
        .deadline(deadline)
        .diff_lines(&before, &after);
    if Instant::now() >= deadline {
        view.too_large = Some(format!(
            "comparing them took longer than {}",
            humantime::format_duration(budget)
        ));
        return view;
    }
    for (n, group) in text.grouped_ops(DIFF_CONTEXT).iter().enumerate() {
        if n > 0 {
            view.lines.push(DiffLine {
                class: "gap",
                sign: " ",
                text: "…".to_owned(),
            });
        }
        for op in group {
            for change in text.iter_changes(op) {
                let (class, sign) = match change.tag() {
                    ChangeTag::Insert => {
                        view.added += 1;
                        ("added", "+")
                    }
                    ChangeTag::Delete => {
                        view.removed += 1;
                        ("removed", "-")
                    }
                    ChangeTag::Equal => ("same", " "),
                };
                view.lines.push(DiffLine {
                    class,
                    sign,
                    text: change.value().trim_end_matches('\n').to_owned(),
                });
            }
        }
    }
    view
}

fn capitalised(words: &str) -> String {
    let mut chars = words.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn lines_of(version: u32, count: usize) -> Value {
        let interactions: Vec<Value> = (0..count)
            .map(|i| json!({"description": format!("{version} {i}"), "request": {"path": format!("/{version}/{i}")}}))
            .collect();
        json!({"interactions": interactions})
    }

    fn versions(old: Value, new: Value) -> (Compared, Pact) {
        let compared = Compared {
            version: "1".into(),
            sha: "a".into(),
            content: old,
        };
        let pact = Pact {
            consumer: "Foo".into(),
            provider: "Bar".into(),
            consumer_version: "2".into(),
            consumer_version_id: 2,
            sha: "b".into(),
            content: new,
            created_at: chrono::Utc::now(),
            revision: 1,
        };
        (compared, pact)
    }

    fn compare(old: Value, new: Value, budget: Duration) -> DiffView {
        let (old, new) = versions(old, new);
        diff(&old, &new, "/old".into(), "/new".into(), budget)
    }

    #[test]
    fn small_versions_are_compared_line_by_line() {
        let view = compare(lines_of(1, 3), lines_of(2, 3), DIFF_TIME_BUDGET);
        assert!(view.too_large.is_none());
        assert!(view.added > 0 && view.added == view.removed);
    }

    #[test]
    fn versions_beyond_the_size_limit_are_not_compared() {
        // Six lines an interaction, pretty-printed.
        let view = compare(lines_of(1, 4_000), lines_of(2, 3), DIFF_TIME_BUDGET);
        let reason = view.too_large.expect("too large");
        assert!(
            reason.contains("the page compares up to 20000 lines"),
            "{reason}"
        );
        assert!(view.lines.is_empty());
        assert_eq!(
            (view.from_href.as_str(), view.to_href.as_str()),
            ("/old", "/new")
        );
    }

    #[test]
    fn a_comparison_that_runs_out_of_time_is_given_up() {
        let view = compare(lines_of(1, 2_000), lines_of(2, 2_000), Duration::ZERO);
        let reason = view.too_large.expect("given up");
        assert!(reason.contains("took longer than"), "{reason}");
        assert!(view.lines.is_empty());
    }
}

//! The matrix of one integration (the Pact Broker's
//! `/matrix/provider/P/consumer/C` page): each consumer version against each
//! provider version that verified its pact, with their branches, tags and
//! environments, and the result (pending and WIP marked). Asked through the
//! store's matrix, as `/matrix` is.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use treaty_domain::integration_status::Outcome;
use treaty_domain::matrix::Row;
use treaty_domain::matrix_query::{LatestBy, MAX_LIMIT, MatrixQuery, VersionSelector};
use treaty_domain::suggest::{closest, did_you_mean};
use treaty_store::MatrixVersion;

use super::integration_status::{StatusView, outcome_look, statuses};
use super::view::{Links, Nav, When, segment};
use super::{PageResult, not_found, ok};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::path::Path;

/// Rows a page shows.
const PAGE_SIZE: u32 = 50;

#[derive(Template)]
#[template(path = "ui/integration_matrix.html")]
struct MatrixPage {
    nav: Nav,
    consumer: String,
    consumer_href: String,
    provider: String,
    provider_href: String,
    contract_href: String,
    api_href: String,
    action: String,
    status: StatusView,
    consumer_branch: String,
    provider_branch: String,
    results: Vec<Choice>,
    latest: bool,
    rows: Vec<RowView>,
    page: u32,
    previous: Option<String>,
    next: Option<String>,
    /// Set when the last page the page size allows is reached.
    capped: bool,
}

struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

struct VersionView {
    number: String,
    href: String,
    branches: Vec<String>,
    tags: Vec<String>,
    environments: Vec<String>,
}

struct RowView {
    consumer: VersionView,
    provider: Option<VersionView>,
    class: &'static str,
    symbol: &'static str,
    words: &'static str,
    verified_at: Option<When>,
    /// A bi-directional row's comparison page, where its result leads.
    comparison_href: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    consumer_branch: String,
    #[serde(default)]
    provider_branch: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    latest: Option<String>,
    page: Option<u32>,
}

const RESULTS: [(&str, &str); 3] = [
    ("verified", "verified"),
    ("failed", "failed (pending and WIP included)"),
    ("unverified", "not verified"),
];

/// `GET /ui/integrations/{provider}/{consumer}?consumer_branch=&provider_branch=&result=&latest=&page=`
pub async fn page(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: super::forms::Viewer,
    Path((provider, consumer)): Path<(String, String)>,
    filters: Result<Query<Filters>, QueryRejection>,
) -> PageResult {
    let Query(filters) = filters.map_err(|e| {
        ApiError::BadRequest(format!("{} (page is a whole number from 1)", e.body_text()))
    })?;
    let nav = Nav::new(&base, &viewer, "integrations");
    let links = nav.links.clone();

    let integrations = state.store.integrations(None).await?.items;
    if !integrations
        .iter()
        .any(|i| i.consumer == consumer && i.provider == provider)
    {
        let known: Vec<String> = integrations
            .iter()
            .map(|i| format!("{} → {}", i.consumer, i.provider))
            .collect();
        let asked = format!("{consumer} → {provider}");
        let near = closest(&asked, known.iter().map(String::as_str));
        return not_found(
            &nav,
            "No such integration",
            format!(
                "{consumer} has published no pact with {provider}.{} The integrations page lists every one.",
                did_you_mean(&near)
            ),
        );
    }

    let page = filters.page.unwrap_or(1);
    let last_page = MAX_LIMIT / PAGE_SIZE;
    if page == 0 || page > last_page {
        return Err(ApiError::BadRequest(format!(
            "page {page} is out of range: pages run from 1 to {last_page} ({MAX_LIMIT} rows); the API's /matrix answers every row"
        )));
    }
    let success = match filters.result.as_str() {
        "" => None,
        "verified" => Some(vec![Some(true)]),
        "failed" => Some(vec![Some(false)]),
        "unverified" => Some(vec![None]),
        other => {
            return Err(ApiError::BadRequest(format!(
                "result '{other}' is not one of verified, failed, unverified"
            )));
        }
    };
    let latest = filters.latest.is_some_and(|v| !v.is_empty());
    let branch = |b: &str| Some(b.trim().to_owned()).filter(|b| !b.is_empty());
    let (consumer_branch, provider_branch) = (
        branch(&filters.consumer_branch),
        branch(&filters.provider_branch),
    );
    let query = MatrixQuery {
        selectors: vec![
            VersionSelector {
                pacticipant: consumer.clone(),
                latest: latest && consumer_branch.is_some(),
                branch: consumer_branch.clone(),
                ..VersionSelector::default()
            },
            VersionSelector {
                pacticipant: provider.clone(),
                latest: latest && provider_branch.is_some(),
                branch: provider_branch.clone(),
                ..VersionSelector::default()
            },
        ],
        // Without a branch to take the head of, "latest" keeps each consumer
        // version's newest verification.
        latest_by: (latest && consumer_branch.is_none() && provider_branch.is_none())
            .then_some(LatestBy::Cvp),
        scope: None,
        ignore: Vec::new(),
        success,
        limit: (page * PAGE_SIZE + 1).min(MAX_LIMIT),
    };
    let answer = match state.store.matrix_answer(&query).await? {
        Ok(answer) => answer,
        Err(messages) => return Err(ApiError::BadRequest(messages.join("; "))),
    };
    let mut all: Vec<&Row> = answer.matrix.rows.iter().collect();
    all.sort_by_key(|row| std::cmp::Reverse(row.rank()));
    let start = ((page - 1) * PAGE_SIZE) as usize;
    let more = all.len() > (page * PAGE_SIZE) as usize;
    let shown: Vec<&Row> = all
        .into_iter()
        .skip(start)
        .take(PAGE_SIZE as usize)
        .collect();

    // Pending and WIP are facts of each verification; a version on several
    // branches was pending only if it was for each of them.
    let numbers: Vec<i64> = shown
        .iter()
        .filter(|r| r.contract.is_none())
        .filter_map(|r| r.verification.as_ref().map(|v| v.number))
        .collect();
    let outcomes = super::integration_status::outcomes(&state, &numbers).await?;

    let version_view = |pacticipant: &str, id: i64, number: &str| {
        let known: Option<&MatrixVersion> = answer.versions.get(&id);
        VersionView {
            number: number.to_owned(),
            href: links.version(pacticipant, number),
            branches: known
                .map(|v| v.version.branches.iter().map(|b| b.name.clone()).collect())
                .unwrap_or_default(),
            tags: known.map(|v| v.version.tags.clone()).unwrap_or_default(),
            environments: known
                .map(|v| {
                    v.environments
                        .iter()
                        .map(|e| e.display_name.clone().unwrap_or_else(|| e.name.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    };
    let rows = shown
        .iter()
        .map(|row| {
            // A bi-directional row's number is its comparison's: its
            // result is the comparison's (and the provider's own tests').
            let (class, symbol, words) = match (&row.verification, &row.contract) {
                (_, Some(check)) if !check.self_verified => {
                    ("bad", "✗", "self-verification failed")
                }
                (None, Some(_)) => ("unknown", "?", "not compared yet"),
                (Some(v), Some(_)) if v.success => ("good", "✓", "compatible"),
                (Some(_), Some(_)) => ("bad", "✗", "incompatible"),
                (None, None) => ("unknown", "?", "not verified"),
                (Some(v), None) => {
                    let outcome = outcomes.get(&v.number).copied().unwrap_or(Outcome {
                        success: v.success,
                        pending: false,
                        wip: false,
                    });
                    let (class, symbol) = outcome_look(outcome);
                    (class, symbol, outcome.words())
                }
            };
            RowView {
                consumer: version_view(
                    &row.consumer,
                    row.consumer_version.id,
                    &row.consumer_version.number,
                ),
                provider: row
                    .provider_version
                    .as_ref()
                    .map(|v| version_view(&row.provider, v.id, &v.number)),
                class,
                symbol,
                words,
                verified_at: row.verification.as_ref().map(|v| When::new(v.verified_at)),
                comparison_href: row
                    .contract
                    .as_ref()
                    .zip(row.provider_version.as_ref())
                    .map(|(_, v)| {
                        links.comparison(
                            &row.provider,
                            &v.number,
                            &row.consumer,
                            &row.consumer_version.number,
                        )
                    }),
            }
        })
        .collect();

    let status = statuses(&state, Some(&consumer), Some(&provider))
        .await?
        .remove(&(consumer.clone(), provider.clone()));
    let action = matrix_href(&links, &provider, &consumer);
    let page_href = |n: u32| {
        let mut href = format!("{action}?page={n}");
        for (key, value) in [
            ("consumer_branch", filters.consumer_branch.as_str()),
            ("provider_branch", filters.provider_branch.as_str()),
            ("result", filters.result.as_str()),
            ("latest", if latest { "on" } else { "" }),
        ] {
            if !value.is_empty() {
                href.push_str(&format!("&{key}={}", segment(value)));
            }
        }
        href
    };
    ok(&MatrixPage {
        status: StatusView::new(status.as_ref(), &provider),
        consumer_href: links.application(&consumer),
        provider_href: links.application(&provider),
        contract_href: links.contract(&provider, &consumer, None),
        api_href: links.api(&format!(
            "/matrix/provider/{}/consumer/{}",
            segment(&provider),
            segment(&consumer)
        )),
        previous: (page > 1).then(|| page_href(page - 1)),
        next: (more && page < last_page).then(|| page_href(page + 1)),
        capped: more && page == last_page,
        results: RESULTS
            .iter()
            .map(|(value, label)| Choice {
                value,
                label,
                selected: filters.result == *value,
            })
            .collect(),
        consumer_branch: filters.consumer_branch,
        provider_branch: filters.provider_branch,
        latest,
        rows,
        page,
        action,
        consumer,
        provider,
        nav,
    })
}

/// The matrix page of a pair.
pub fn matrix_href(links: &Links, provider: &str, consumer: &str) -> String {
    links.integration(provider, consumer)
}

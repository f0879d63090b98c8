//! Integrations: one row per consumer–provider pair, as the Pact Broker's
//! index lists them: the latest pact published, the last verification (the
//! provider's main line apart from its other branches), the webhooks'
//! latest delivery. Sorted and filtered by GET parameters, without scripts.

use std::cmp::Ordering;
use std::collections::HashMap;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::integration_status::{StatusView, ago, outcome_look, statuses};
use super::view::{Links, Nav, When, segment};
use super::{PageResult, ok};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::ApiError;

#[derive(Template)]
#[template(path = "ui/integrations.html")]
struct IntegrationsPage {
    nav: Nav,
    search: String,
    statuses: Vec<Choice>,
    headers: Vec<Header>,
    rows: Vec<Row>,
    total: usize,
}

struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// A sortable column's header: its link and `aria-sort`.
struct Header {
    title: &'static str,
    href: String,
    /// `ascending` or `descending` on the column sorted by.
    aria_sort: Option<&'static str>,
    /// What following the link does, for screen readers.
    action: String,
}

struct Row {
    consumer: String,
    consumer_href: String,
    provider: String,
    provider_href: String,
    matrix_href: String,
    contract_href: String,
    published: Option<Published>,
    verified: Option<Verified>,
    status: StatusView,
    webhook: Webhook,
    /// Sort keys.
    published_at: Option<DateTime<Utc>>,
    verified_at: Option<DateTime<Utc>>,
}

struct Published {
    when: When,
    ago: String,
    version: String,
    version_href: String,
    branches: Vec<String>,
}

/// The newest verification of any branch.
struct Verified {
    class: &'static str,
    symbol: &'static str,
    words: &'static str,
    branch: Option<String>,
    provider_version: String,
    provider_version_href: String,
    when: When,
    ago: String,
}

struct Webhook {
    class: &'static str,
    word: &'static str,
    /// Sorts failures first.
    rank: u8,
}

impl Webhook {
    fn of(status: Option<&str>) -> Self {
        let (class, word, rank) = match status {
            Some("success") => ("good", "succeeded", 3),
            Some("failure") => ("bad", "failed", 0),
            Some("retrying") => ("pending", "retrying", 1),
            Some(_) => ("pending", "queued", 1),
            None => ("", "none", 2),
        };
        Self { class, word, rank }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SortBy {
    #[default]
    Consumer,
    Provider,
    Published,
    Verified,
    Webhook,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    Failed,
    Pending,
    Unverified,
    Verified,
}

impl StatusFilter {
    const ALL: [(Self, &'static str, &'static str); 4] = [
        (Self::Failed, "failed", "failed on main"),
        (Self::Pending, "pending", "pending, WIP or branches"),
        (Self::Unverified, "unverified", "not verified on main"),
        (Self::Verified, "verified", "verified on main"),
    ];

    fn admits(self, row: &Row) -> bool {
        match self {
            Self::Failed => row.status.class == "bad",
            Self::Pending => {
                row.status.class == "pending"
                    || (row.status.class != "bad" && row.status.others_failing > 0)
            }
            Self::Unverified => row.status.class == "unknown",
            Self::Verified => row.status.class == "good",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    q: String,
    status: Option<String>,
    #[serde(default)]
    sort: SortBy,
    #[serde(default)]
    dir: Direction,
}

/// `GET /ui/integrations?q=&status=&sort=&dir=`
pub async fn page(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: super::forms::Viewer,
    params: Result<Query<Params>, QueryRejection>,
) -> PageResult {
    let Query(params) = params.map_err(|e| {
        ApiError::BadRequest(format!(
            "{} (sort is one of consumer, provider, published, verified, webhook; dir is asc or desc)",
            e.body_text()
        ))
    })?;
    let status_filter = match params.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(value) => Some(
            StatusFilter::ALL
                .iter()
                .find(|(_, name, _)| *name == value)
                .map(|(f, _, _)| *f)
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "status '{value}' is not one of failed, pending, unverified, verified"
                    ))
                })?,
        ),
    };
    let nav = Nav::new(&base, &viewer, "integrations");
    let links = nav.links.clone();
    let now = Utc::now();

    let integrations = state.store.integrations(None).await?.items;
    let latest: HashMap<(String, String), _> = state
        .store
        .latest_pacts()
        .await?
        .into_iter()
        .map(|p| ((p.consumer.clone(), p.provider.clone()), p))
        .collect();
    let statuses = statuses(&state, None, None).await?;
    let search = params.q.trim().to_lowercase();

    let mut rows = Vec::new();
    for i in integrations {
        if !search.is_empty()
            && !i.consumer.to_lowercase().contains(&search)
            && !i.provider.to_lowercase().contains(&search)
        {
            continue;
        }
        let pair = (i.consumer.clone(), i.provider.clone());
        let status = statuses.get(&pair);
        let published = match latest.get(&pair) {
            Some(p) => {
                let branches = state
                    .store
                    .version(&p.consumer, &p.consumer_version)
                    .await?
                    .map(|v| v.branches.into_iter().map(|b| b.name).collect())
                    .unwrap_or_default();
                Some(Published {
                    when: When::new(p.created_at),
                    ago: ago(p.created_at, now),
                    version_href: links.version(&p.consumer, &p.consumer_version),
                    version: p.consumer_version.clone(),
                    branches,
                })
            }
            None => None,
        };
        let verified = status.and_then(|s| s.newest()).map(|r| {
            let (class, symbol) = outcome_look(r.outcome);
            Verified {
                class,
                symbol,
                words: r.outcome.words(),
                branch: r.branch.clone(),
                provider_version_href: links.version(&i.provider, &r.provider_version),
                provider_version: r.provider_version.clone(),
                when: When::new(r.verified_at),
                ago: ago(r.verified_at, now),
            }
        });
        let delivery = state
            .store
            .webhook_deliveries(None, Some(&i.consumer), Some(&i.provider), 1)
            .await?;
        rows.push(Row {
            consumer_href: links.application(&i.consumer),
            provider_href: links.application(&i.provider),
            matrix_href: links.integration(&i.provider, &i.consumer),
            contract_href: links.contract(&i.provider, &i.consumer, None),
            status: StatusView::new(status, &i.provider),
            webhook: Webhook::of(delivery.first().map(|d| d.status.as_str())),
            published_at: published.as_ref().map(|_| latest[&pair].created_at),
            verified_at: status.and_then(|s| s.newest()).map(|r| r.verified_at),
            published,
            verified,
            consumer: i.consumer,
            provider: i.provider,
        });
    }
    if let Some(filter) = status_filter {
        rows.retain(|row| filter.admits(row));
    }
    sort(&mut rows, params.sort, params.dir);

    let headers = headers(
        &links,
        &params.q,
        params.status.as_deref(),
        params.sort,
        params.dir,
    );
    ok(&IntegrationsPage {
        total: rows.len(),
        statuses: StatusFilter::ALL
            .iter()
            .map(|(f, value, label)| Choice {
                value,
                label,
                selected: Some(*f) == status_filter,
            })
            .collect(),
        search: params.q,
        headers,
        rows,
        nav,
    })
}

fn sort(rows: &mut [Row], by: SortBy, dir: Direction) {
    let names = |a: &Row, b: &Row| (&a.consumer, &a.provider).cmp(&(&b.consumer, &b.provider));
    rows.sort_by(|a, b| {
        let first = match by {
            SortBy::Consumer => Ordering::Equal,
            SortBy::Provider => a.provider.cmp(&b.provider),
            SortBy::Published => a.published_at.cmp(&b.published_at),
            SortBy::Verified => (a.status.rank, a.verified_at).cmp(&(b.status.rank, b.verified_at)),
            SortBy::Webhook => a.webhook.rank.cmp(&b.webhook.rank),
        };
        let ordering = first.then_with(|| names(a, b));
        match dir {
            Direction::Asc => ordering,
            Direction::Desc => ordering.reverse(),
        }
    });
}

fn headers(
    links: &Links,
    search: &str,
    status: Option<&str>,
    sorted: SortBy,
    dir: Direction,
) -> Vec<Header> {
    let columns = [
        (SortBy::Consumer, "Consumer", "consumer"),
        (SortBy::Provider, "Provider", "provider"),
        (SortBy::Published, "Latest pact published", "published"),
        (SortBy::Verified, "Last verified", "verified"),
        (SortBy::Webhook, "Webhook status", "webhook"),
    ];
    columns
        .into_iter()
        .map(|(by, title, key)| {
            let current = by == sorted;
            let next = if current && dir == Direction::Asc {
                "desc"
            } else {
                "asc"
            };
            let mut href = format!("{}?sort={key}&dir={next}", links.integrations());
            if !search.is_empty() {
                href.push_str(&format!("&q={}", segment(search)));
            }
            if let Some(status) = status.filter(|s| !s.is_empty()) {
                href.push_str(&format!("&status={}", segment(status)));
            }
            Header {
                title,
                href,
                aria_sort: current.then_some(match dir {
                    Direction::Asc => "ascending",
                    Direction::Desc => "descending",
                }),
                action: format!(
                    "sort by {} {}",
                    title.to_lowercase(),
                    if next == "asc" {
                        "ascending"
                    } else {
                        "descending"
                    }
                ),
            }
        })
        .collect()
}

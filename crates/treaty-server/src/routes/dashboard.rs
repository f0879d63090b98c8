//! The Pact Broker's dashboard API (`/dashboard`, and one pair's), and the
//! relationships between pacticipants as CSV (`/relationships`, and the
//! group of pacticipants connected to one at `/groups/{pacticipant}`).

use std::collections::{BTreeMap, BTreeSet};

use crate::path::Path;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use treaty_domain::model::Integration;
use treaty_domain::time;
use treaty_store::DashboardItem;

use super::pacticipants::not_found_as;
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::{ApiError, ApiResult};
use crate::hal::Hal;
use crate::pagination::PageQuery;
use crate::views::Urls;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(dashboard))
        .route(
            "/dashboard/provider/{provider}/consumer/{consumer}",
            get(pair_dashboard),
        )
        .route("/relationships", get(relationships))
        .route("/groups/{pacticipant}", get(group))
}

async fn dashboard(
    State(state): State<AppState>,
    base: BaseUrl,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(page) = page.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let page = page.request()?;
    let items = state.store.dashboard(None, None).await?;
    Ok(Hal::ok(dashboard_body(&Urls::new(base.0), items, page)))
}

async fn pair_dashboard(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer)): Path<(String, String)>,
) -> ApiResult<Hal> {
    for (role, name) in [("provider", &provider), ("consumer", &consumer)] {
        if state.store.pacticipant(name).await?.is_none() {
            return Err(not_found_as(role, name));
        }
    }
    let items = state
        .store
        .dashboard(Some(&consumer), Some(&provider))
        .await?;
    Ok(Hal::ok(dashboard_body(&Urls::new(base.0), items, None)))
}

/// When something last happened to an item: its pact or its verification.
fn last_activity(item: &DashboardItem) -> chrono::DateTime<chrono::Utc> {
    item.latest_verification
        .as_ref()
        .map_or(item.pact_created_at, |v| {
            v.verified_at.max(item.pact_created_at)
        })
}

fn dashboard_body(
    urls: &Urls,
    mut items: Vec<DashboardItem>,
    page: Option<treaty_domain::model::PageRequest>,
) -> Value {
    // As the Pact Broker: the most recent activity first.
    items.sort_by_key(|item| std::cmp::Reverse(last_activity(item)));
    if let Some(page) = page {
        let start = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        items = items
            .into_iter()
            .skip(start)
            .take(page.size as usize)
            .collect();
    }
    json!({ "items": items.iter().map(|item| dashboard_item(urls, item)).collect::<Vec<_>>() })
}

fn dashboard_item(urls: &Urls, item: &DashboardItem) -> Value {
    let (consumer, provider, number) = (&item.consumer, &item.provider, &item.consumer_version);
    let pact_href = urls.pact(provider, consumer, number);
    let verification = item.latest_verification.as_ref();
    let status = match verification {
        None => "never",
        Some(v) if v.success => "success",
        Some(_) => "failed",
    };
    json!({
        "consumer": {
            "name": consumer,
            "version": {
                "number": number,
                "branch": item.consumer_version_heads.last(),
                "headBranchNames": item.consumer_version_heads,
                "_links": { "self": { "href": urls.version(consumer, number) } },
            },
            "_links": { "self": { "href": urls.pacticipant(consumer) } },
        },
        "provider": {
            "name": provider,
            "version": verification.map(|v| json!({
                "number": v.provider_version,
                "branch": v.provider_version_heads.last(),
                "headBranchNames": v.provider_version_heads,
            })),
            "_links": { "self": { "href": urls.pacticipant(provider) } },
        },
        "pact": {
            "createdAt": time::format(item.pact_created_at),
            "_links": { "self": { "href": pact_href } },
        },
        "pactTags": item.head_tags.iter().map(|tag| json!({
            "name": tag,
            "latest": true,
            "_links": { "self": { "href": urls.tag(consumer, number, tag) } },
        })).collect::<Vec<_>>(),
        "latestVerificationResult": verification.map(|v| json!({
            "success": v.success,
            "verifiedAt": time::format(v.verified_at),
            "_links": { "self": { "href": format!("{pact_href}/verification-results/latest") } },
        })),
        "latestVerificationResultTags": verification.map(|v| v.provider_version_latest_tags.iter().map(|tag| json!({
            "name": tag,
            "latest": true,
            "_links": { "self": { "href": urls.tag(provider, &v.provider_version, tag) } },
        })).collect::<Vec<_>>()).unwrap_or_default(),
        "verificationStatus": status,
        // The Pact Broker's API dashboard looks at no webhooks (its UI
        // does): "none", and no execution, whatever is configured.
        "webhookStatus": "none",
        "latestWebhookExecution": null,
        "_links": {
            "pb:webhook-status": {
                "title": format!("Status of webhooks for {consumer}/{provider} pact"),
                "href": format!("{}/webhooks/status", urls.pact_pair(provider, consumer)),
            },
        },
    })
}

/// The Pact Broker's relationships CSV: one row per pacticipant, in the
/// order the pairs first name them: id, name, three fixed columns, its
/// position, then the ids of the providers it consumes (rows padded with 0).
fn relationships_csv(ids: &BTreeMap<String, i64>, pairs: &[(String, String)]) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row_of: BTreeMap<String, usize> = BTreeMap::new();
    for (consumer, provider) in pairs {
        for name in [consumer, provider] {
            if !row_of.contains_key(name) {
                let id = ids.get(name).copied().unwrap_or_default();
                row_of.insert(name.clone(), rows.len());
                let position = rows.len() + 1;
                rows.push(vec![
                    id.to_string(),
                    csv_field(name),
                    "1".into(),
                    "1".into(),
                    "0".into(),
                    position.to_string(),
                ]);
            }
        }
        let provider_id = ids.get(provider).copied().unwrap_or_default();
        rows[row_of[consumer]].push(provider_id.to_string());
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut csv = String::new();
    for mut row in rows {
        row.resize(width, "0".into());
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    csv
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn csv_response(csv: String) -> Response {
    let mut response = csv.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv;charset=utf-8"),
    );
    response
}

/// Every pacticipant's id, and the pairs with pacts, oldest pair first.
async fn relationships_facts(
    state: &AppState,
) -> ApiResult<(BTreeMap<String, i64>, Vec<(String, String)>)> {
    let ids = state
        .store
        .pacticipants(None, None)
        .await?
        .items
        .into_iter()
        .map(|p| (p.name, p.id))
        .collect();
    let mut integrations: Vec<Integration> = state.store.integrations(None).await?.items;
    integrations.sort_by_key(|i| i.created_at);
    let pairs = integrations
        .into_iter()
        .filter(|i| i.latest_pact_created_at.is_some())
        .map(|i| (i.consumer, i.provider))
        .collect();
    Ok((ids, pairs))
}

async fn relationships(State(state): State<AppState>) -> ApiResult<Response> {
    let (ids, pairs) = relationships_facts(&state).await?;
    Ok(csv_response(relationships_csv(&ids, &pairs)))
}

/// The pacticipants connected to this one by pacts, either way, however far.
async fn group(
    State(state): State<AppState>,
    Path(pacticipant): Path<String>,
) -> ApiResult<Response> {
    if state.store.pacticipant(&pacticipant).await?.is_none() {
        return Err(not_found_as("pacticipant", &pacticipant));
    }
    let (ids, pairs) = relationships_facts(&state).await?;
    let mut members: BTreeSet<&str> = BTreeSet::from([pacticipant.as_str()]);
    loop {
        let before = members.len();
        for (consumer, provider) in &pairs {
            if members.contains(consumer.as_str()) || members.contains(provider.as_str()) {
                members.insert(consumer);
                members.insert(provider);
            }
        }
        if members.len() == before {
            break;
        }
    }
    let in_group: Vec<(String, String)> = pairs
        .iter()
        .filter(|(consumer, _)| members.contains(consumer.as_str()))
        .cloned()
        .collect();
    Ok(csv_response(relationships_csv(&ids, &in_group)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn relationships_csv_is_the_pact_brokers() {
        let ids = [("Foo", 4), ("Bar", 5), ("Qux", 1)]
            .into_iter()
            .map(|(n, i)| (n.to_owned(), i))
            .collect();
        let pairs = vec![
            ("Foo".to_owned(), "Bar".to_owned()),
            ("Bar".to_owned(), "Qux".to_owned()),
            ("Foo".to_owned(), "Qux".to_owned()),
        ];
        assert_eq!(
            super::relationships_csv(&ids, &pairs),
            "4,Foo,1,1,0,1,5,1\n5,Bar,1,1,0,2,1,0\n1,Qux,1,1,0,3,0,0\n"
        );
    }
}

//! `GET /dora-metrics`: deployment frequency, lead time for changes, change
//! failure rate and time to restore, per application and environment over a
//! time window. The definitions live with the computation in
//! `treaty_domain::dora`.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use treaty_domain::dora::{self, Metrics, Window};
use treaty_domain::time;
use treaty_store::DoraFilter;

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::{ApiError, ApiResult};
use crate::hal::{Hal, link};

pub fn router() -> Router<AppState> {
    Router::new().route("/dora-metrics", get(metrics))
}

#[derive(Debug, Deserialize)]
struct MetricsQuery {
    pacticipant: Option<String>,
    environment: Option<String>,
    from: Option<String>,
    to: Option<String>,
    days: Option<String>,
}

fn render(m: &Metrics) -> Value {
    json!({
        "deployment_frequency": {
            "deployments": m.deployments,
            "per_day": m.deployments_per_day,
            "per_week": m.deployments_per_day * 7.0,
        },
        "lead_time_for_changes": {
            "median_seconds": m.lead_time_seconds,
            "samples": m.lead_time_samples,
        },
        "change_failure_rate": {
            "rate": m.change_failure_rate,
            "failures": m.failures,
            "changes": m.changes,
        },
        "time_to_restore": {
            "median_seconds": m.time_to_restore_seconds,
            "restored": m.restored,
            "unrestored": m.unrestored,
        },
    })
}

async fn metrics(
    State(state): State<AppState>,
    base: BaseUrl,
    query: Result<Query<MetricsQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let to = super::ledger::timestamp("to", query.to)?.unwrap_or_else(Utc::now);
    let days = match query.days.as_deref() {
        None => None,
        Some(raw) => Some(
            raw.parse::<u32>()
                .ok()
                .filter(|d| (1..=3660).contains(d))
                .ok_or_else(|| {
                    ApiError::field("days", "must be a whole number of days from 1 to 3660")
                })?,
        ),
    };
    let from = match super::ledger::timestamp("from", query.from)? {
        Some(from) => from,
        None => to - Duration::days(i64::from(days.unwrap_or(30))),
    };
    if from >= to {
        return Err(ApiError::field("from", "must be before to"));
    }
    let environment = query.environment.filter(|e| !e.is_empty());
    let facts = state
        .store
        .dora_facts(DoraFilter {
            pacticipant: query.pacticipant.filter(|p| !p.is_empty()),
            environment: environment.clone(),
            from,
        })
        .await?;
    let report = dora::compute(&facts, Window { from, to });
    let groups: Vec<Value> = report
        .groups
        .iter()
        .map(|g| {
            let mut value = render(&g.metrics);
            value["pacticipant"] = json!(g.pacticipant);
            value["environment"] = json!(g.environment);
            value
        })
        .collect();
    Ok(Hal::ok(json!({
        "from": time::format(from),
        "to": time::format(to),
        "days": report.window.days(),
        "environments": environment.map_or_else(|| json!("every production environment"), |e| json!(e)),
        "overall": render(&report.overall),
        "groups": groups,
        "_links": {
            "self": link(base.join("/dora-metrics")),
            "treaty:definitions": { "href": "https://dora.dev/guides/dora-metrics-four-keys/", "title": "DORA's four keys" },
        },
    })))
}

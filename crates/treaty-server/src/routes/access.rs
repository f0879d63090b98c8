//! `/tokens` (create, list, revoke API tokens) and `/audit` (the audit log).

use crate::path::Path;
use axum::Extension;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use treaty_domain::access::{self, Identity, Role};
use treaty_domain::time;
use treaty_store::ApiToken;

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, link, seg};
use crate::pagination::{self, PageQuery};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{name}", delete(revoke))
        .route("/audit", get(audit))
        .route("/audit/head", get(audit_head))
}

/// One entry as the API shows it. `status` is the HTTP status of the answer,
/// absent for an entry written inside its write's transaction (before the
/// answer existed); `outcome` says which.
fn render_entry(e: &access::AuditEntry) -> Value {
    json!({
        "id": e.id, "at": time::format(e.at), "actor": e.actor, "address": e.address,
        "method": e.method, "target": e.target,
        "status": (e.status != access::COMMITTED).then_some(e.status),
        "outcome": access::audit_outcome(e.status),
        "summary": e.summary, "hash": e.hash,
    })
}

/// The newest entry's hash: save it (a CI job, a log collector) and later
/// `treaty audit verify --expect-head HASH` proves nothing was removed after
/// it. Readable with the read role: a hash says nothing about the entries.
async fn audit_head(State(state): State<AppState>, base: BaseUrl) -> ApiResult<Hal> {
    let head = state.store.audit_head().await?;
    Ok(Hal::ok(json!({
        "entries": head.entries,
        "id": head.newest.as_ref().map(|e| e.id),
        "hash": head.newest.as_ref().map(|e| e.hash.clone()),
        "at": head.newest.as_ref().map(|e| time::format(e.at)),
        "_links": { "self": link(base.join("/audit/head")) },
    })))
}

fn render(base: &BaseUrl, token: &ApiToken) -> Value {
    json!({
        "name": token.name,
        "role": token.role.as_str(),
        "pacticipants": token.pacticipants,
        "expiresAt": token.expires_at.map(time::format),
        "revokedAt": token.revoked_at.map(time::format),
        "createdBy": token.created_by,
        "createdAt": time::format(token.created_at),
        "_links": { "self": link(base.join(&format!("/tokens/{}", seg(&token.name)))) },
    })
}

/// A token: `treaty_` and 64 random hex digits.
pub(crate) fn new_secret() -> String {
    format!(
        "treaty_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn expiry(body: &Value, errors: &mut Vec<String>) -> Option<DateTime<Utc>> {
    match body.get("expires_in").or_else(|| body.get("expiresIn")) {
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => match humantime::parse_duration(raw)
            .ok()
            .and_then(|d| chrono::Duration::from_std(d).ok())
        {
            Some(d) if d > chrono::Duration::zero() => Some(Utc::now() + d),
            _ => {
                errors.push(format!(
                    "expires_in must be a duration like 90d or 12h (got '{raw}')"
                ));
                None
            }
        },
        Some(_) => {
            errors.push("expires_in must be a duration like 90d or 12h".to_owned());
            None
        }
    }
}

async fn create(
    State(state): State<AppState>,
    base: BaseUrl,
    caller: Option<Extension<Identity>>,
    raw: RawBody,
) -> ApiResult<Response> {
    raw.require_json(&["application/json"])?;
    let body = raw.json_value()?;
    let mut errors = Vec::new();
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty());
    if name.is_none() {
        errors.push("name is missing: say what the token is for, like ci-payments".to_owned());
    }
    let role = match body.get("role").and_then(Value::as_str) {
        Some(raw) => Role::parse(raw).or_else(|| {
            errors.push(format!("role '{raw}' is not one of read, write, admin"));
            None
        }),
        None => {
            errors.push("role is missing: read, write or admin".to_owned());
            None
        }
    };
    let pacticipants: Option<Vec<String>> = match body.get("pacticipants") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_string) => {
            Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            )
        }
        Some(_) => {
            errors
                .push("pacticipants must list names or patterns like [\"payments-*\"]".to_owned());
            None
        }
    };
    let expires_at = expiry(&body, &mut errors);
    let (Some(name), Some(role)) = (name, role) else {
        return Err(ApiError::ValidationList(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::ValidationList(errors));
    }
    let secret = new_secret();
    let token = state
        .store
        .create_token(
            name,
            &access::token_hash(&secret),
            role,
            pacticipants.as_deref(),
            expires_at,
            caller.as_ref().map(|Extension(c)| c.name.as_str()),
        )
        .await?;
    let mut rendered = render(&base, &token);
    // Shown once: only its hash is kept.
    rendered["token"] = json!(secret);
    Ok(hal::created(
        &base.join(&format!("/tokens/{}", seg(name))),
        rendered,
    ))
}

async fn list(State(state): State<AppState>, base: BaseUrl) -> ApiResult<Hal> {
    let tokens = state.store.tokens().await?;
    Ok(Hal::ok(json!({
        "_embedded": { "tokens": tokens.iter().map(|t| render(&base, t)).collect::<Vec<_>>() },
        "_links": { "self": link(base.join("/tokens")) },
    })))
}

async fn revoke(State(state): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    if state.store.revoke_token(&name).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound(format!(
            "No live token named '{name}' found"
        )))
    }
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    actor: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

async fn audit(
    State(state): State<AppState>,
    base: BaseUrl,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let page = query
        .page
        .request()?
        .unwrap_or(treaty_domain::model::PageRequest {
            number: 1,
            size: 100,
        });
    let entries = state
        .store
        .audit_entries(query.actor.as_deref(), page)
        .await?;
    let mut body = serde_json::Map::new();
    body.insert(
        "_embedded".into(),
        json!({ "entries": entries.items.iter().map(render_entry).collect::<Vec<_>>() }),
    );
    let self_href = base.join("/audit");
    let mut links = serde_json::Map::new();
    links.insert("self".into(), link(&self_href));
    pagination::decorate(&mut body, &mut links, entries.page, &self_href);
    body.insert("_links".into(), Value::Object(links));
    Ok(Hal::ok(Value::Object(body)))
}

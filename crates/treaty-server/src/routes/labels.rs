//! Labels on pacticipants.

use crate::path::Path;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use treaty_domain::LabelName;

use super::pacticipants::{list_body, not_found};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal};
use crate::pagination::PageQuery;
use crate::views::{self, Urls};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/labels", get(names))
        .route("/pacticipants/label/{label}", get(with_label))
        .route(
            "/pacticipants/{pacticipant}/labels/{label}",
            get(show).put(add).delete(remove),
        )
}

async fn names(State(state): State<AppState>, base: BaseUrl) -> ApiResult<Hal> {
    let names = state.store.label_names().await?;
    Ok(Hal::ok(json!({
        "_embedded": { "labels": names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>() },
        "_links": { "self": hal::link(base.join("/labels")) }
    })))
}

async fn with_label(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(label): Path<String>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(page) = page.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let page = page.request()?;
    let urls = Urls::new(base.0);
    let pacticipants = state.store.pacticipants_with_label(&label, page).await?;
    let self_href = format!("{}/pacticipants/label/{}", urls.base, hal::seg(&label));
    Ok(Hal::ok(list_body(&urls, &pacticipants, &self_href)))
}

async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, label)): Path<(String, String)>,
) -> ApiResult<Hal> {
    if !state.store.has_label(&pacticipant, &label).await? {
        return Err(ApiError::NotFound(format!(
            "No label '{label}' found for pacticipant '{pacticipant}'"
        )));
    }
    Ok(Hal::ok(views::label(
        &Urls::new(base.0),
        &pacticipant,
        &label,
    )))
}

async fn add(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, label)): Path<(String, String)>,
) -> ApiResult<Response> {
    let parsed =
        LabelName::parse(label.as_str()).map_err(|e| ApiError::field("label", e.to_string()))?;
    let created = state
        .store
        .add_label(&pacticipant, &parsed)
        .await?
        .ok_or_else(|| not_found(&pacticipant))?;
    let urls = Urls::new(base.0);
    let body = views::label(&urls, &pacticipant, &label);
    Ok(if created {
        hal::created(&urls.label(&pacticipant, &label), body)
    } else {
        Hal::ok(body).into_response()
    })
}

async fn remove(
    State(state): State<AppState>,
    Path((pacticipant, label)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if state.store.remove_label(&pacticipant, &label).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "No label '{label}' found for pacticipant '{pacticipant}'"
        )))
    }
}

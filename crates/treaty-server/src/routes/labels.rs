//! Labels on pacticipants.

use crate::path::Path;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use treaty_domain::LabelName;
use treaty_domain::model::PageInfo;

use super::pacticipants::{list_body, not_found};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal};
use crate::pagination::{self, PageQuery};
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

/// The distinct label names, paginated when asked (labels are few: the page
/// is cut from the whole list).
async fn names(
    State(state): State<AppState>,
    base: BaseUrl,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(page) = page.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let page = page.request()?;
    let names = state.store.label_names().await?;
    let (shown, info) = match page {
        None => (names.as_slice(), None),
        Some(page) => {
            let start = usize::try_from(page.offset())
                .unwrap_or(usize::MAX)
                .min(names.len());
            let end = start.saturating_add(page.size as usize).min(names.len());
            let info = PageInfo {
                number: page.number,
                size: page.size,
                total_elements: names.len() as u64,
            };
            (&names[start..end], Some(info))
        }
    };
    let self_href = base.join("/labels");
    let mut body = Map::new();
    body.insert(
        "_embedded".into(),
        json!({ "labels": shown.iter().map(|n| json!({"name": n})).collect::<Vec<_>>() }),
    );
    let mut links = Map::new();
    links.insert(
        "self".into(),
        json!({ "title": "Labels", "href": self_href }),
    );
    pagination::decorate(&mut body, &mut links, info, &self_href);
    body.insert("_links".into(), Value::Object(links));
    Ok(Hal::ok(Value::Object(body)))
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
    let found = state
        .store
        .label(&pacticipant, &label)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "No label '{label}' found for pacticipant '{pacticipant}'"
            ))
        })?;
    Ok(Hal::ok(views::label_resource(&Urls::new(base.0), &found)))
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
    let stored = state
        .store
        .label(&pacticipant, parsed.as_str())
        .await?
        .ok_or_else(|| not_found(&pacticipant))?;
    let body = views::label_resource(&urls, &stored);
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

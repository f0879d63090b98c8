//! Tags on versions.

use crate::path::Path;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use treaty_domain::TagName;

use super::pacticipants::parse_name;
use super::versions::parse_version;
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal};
use crate::views::{self, Urls};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/pacticipants/{pacticipant}/versions/{version}/tags/{tag}",
        get(show).put(put).delete(delete),
    )
}

fn tag_not_found(pacticipant: &str, version: &str, tag: &str) -> ApiError {
    ApiError::missing(format!(
        "No tag '{tag}' found for version '{version}' of pacticipant '{pacticipant}'"
    ))
}

async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, version, tag)): Path<(String, String, String)>,
) -> ApiResult<Hal> {
    let tag = state
        .store
        .tag(&pacticipant, &version, &tag)
        .await?
        .ok_or_else(|| tag_not_found(&pacticipant, &version, &tag))?;
    Ok(Hal::ok(views::tag(&Urls::new(base.0), &tag)))
}

/// Tags a version, creating the pacticipant and version when missing.
async fn put(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, version, tag)): Path<(String, String, String)>,
    raw: RawBody,
) -> ApiResult<Response> {
    // The body is `{}` or empty; a body that is not JSON is still a client mistake.
    raw.json_value()?;
    let name = parse_name("pacticipant", &pacticipant)?;
    let number = parse_version("version", &version)?;
    let tag_name =
        TagName::parse(tag.as_str()).map_err(|e| ApiError::field("tag", e.to_string()))?;
    let (tag, created) = state.store.add_tag(&name, &number, &tag_name).await?;
    let urls = Urls::new(base.0);
    let body = views::tag(&urls, &tag);
    Ok(if created {
        hal::created(&urls.tag(&pacticipant, &version, &tag.name), body)
    } else {
        Hal::ok(body).into_response()
    })
}

async fn delete(
    State(state): State<AppState>,
    Path((pacticipant, version, tag)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    if state.store.delete_tag(&pacticipant, &version, &tag).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(tag_not_found(&pacticipant, &version, &tag))
    }
}

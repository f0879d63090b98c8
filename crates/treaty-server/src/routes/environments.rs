//! `/environments`: where versions are deployed and released.

use crate::path::Path;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use treaty_domain::EnvironmentName;
use treaty_domain::model::EnvironmentFields;
use treaty_store::StoreError;

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, titled};
use crate::views::{self, Urls};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/environments", get(list).post(create))
        // A static segment: axum matches it before `{uuid}` (uuids are Treaty's).
        .route("/environments/order", get(order).put(set_order))
        .route(
            "/environments/{uuid}",
            get(show).put(replace).delete(delete),
        )
}

pub fn environment_not_found(uuid: &str) -> ApiError {
    ApiError::NotFoundAs {
        detail: format!("No environment with uuid '{uuid}' found"),
        legacy: "Not found",
    }
}

/// Parses an environment body, naming every field that is wrong.
pub(crate) fn parse_fields(body: &Value) -> ApiResult<EnvironmentFields> {
    let mut errors = Map::new();
    let mut add = |field: &str, message: String| {
        if let Some(messages) = errors
            .entry(field.to_owned())
            .or_insert_with(|| json!([]))
            .as_array_mut()
        {
            messages.push(json!(message))
        }
    };
    let name = match body.get("name") {
        None | Some(Value::Null) => {
            add("name", "is missing".into());
            None
        }
        Some(Value::String(raw)) => match EnvironmentName::parse(raw.as_str()) {
            Ok(name) => Some(name),
            Err(e) => {
                add("name", e.to_string());
                None
            }
        },
        Some(_) => {
            add("name", "must be a string".into());
            None
        }
    };
    let production = match body.get("production") {
        Some(Value::Bool(b)) => Some(*b),
        None | Some(Value::Null) => {
            add("production", "is missing".into());
            None
        }
        Some(_) => {
            add("production", "must be one of: true, false".into());
            None
        }
    };
    let display_name = match body.get("displayName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            add("displayName", "must be a string".into());
            None
        }
    };
    let contacts = match body.get("contacts") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                match item.get("name") {
                    Some(Value::String(n)) if !n.trim().is_empty() => {}
                    _ => add("contacts", format!("name is missing (at index {index})")),
                }
                if let Some(details) = item.get("details")
                    && !details.is_object()
                {
                    add(
                        "contacts",
                        format!("details must be an object (at index {index})"),
                    );
                }
            }
            Some(Value::Array(items.clone()))
        }
        Some(_) => {
            add("contacts", "must be an array".into());
            None
        }
    };
    match (name, production) {
        (Some(name), Some(production)) if errors.is_empty() => Ok(EnvironmentFields {
            name,
            display_name,
            production,
            contacts,
        }),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// A name already used is a 400 on the `name` field, as the Pact Broker answers it.
pub(crate) fn name_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict(message) => ApiError::field("name", message),
        other => other.into(),
    }
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    name: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut environments = state.store.environments().await?;
    if let Some(name) = &query.name {
        environments.retain(|e| &e.name == name);
    }
    Ok(listed(&Urls::new(base.0), &environments))
}

/// The list of environments, in the pipeline order they come in.
fn listed(urls: &Urls, environments: &[treaty_domain::model::Environment]) -> Hal {
    Hal::ok(json!({
        "_embedded": {
            "environments": environments.iter().map(|e| views::environment(urls, e)).collect::<Vec<_>>()
        },
        "_links": {
            "self": titled(urls.environments(), "Environments", None),
            "pb:environments": environments.iter().map(|e| titled(urls.environment(&e.uuid), "Environment", Some(&e.name))).collect::<Vec<_>>(),
        }
    }))
}

/// Reads `{"environments": ["test", "staging", "production"]}`.
pub(crate) fn parse_order(body: &Value) -> ApiResult<Vec<String>> {
    let wrong = || {
        ApiError::field(
            "environments",
            "must be an array of environment names, every environment once, in pipeline order (e.g. [\"test\", \"production\"])".to_owned(),
        )
    };
    body.get("environments")
        .and_then(Value::as_array)
        .ok_or_else(wrong)?
        .iter()
        .map(|name| name.as_str().map(str::to_owned).ok_or_else(wrong))
        .collect()
}

/// A wrong order (a name unknown, repeated or left out) is a 400 on the field.
pub(crate) fn order_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict(message) => ApiError::field("environments", message),
        other => other.into(),
    }
}

/// The pipeline order, as `PUT /environments/order` takes it.
fn order_body(urls: &Urls, environments: &[treaty_domain::model::Environment]) -> Hal {
    Hal::ok(json!({
        "environments": environments.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        "_links": {
            "self": titled(format!("{}/order", urls.environments()), "Pipeline order of the environments", None),
            "pb:environments": titled(urls.environments(), "Environments", None),
        }
    }))
}

/// GET `/environments/order`: the pipeline order the UI lists environments
/// in (`GET /environments` keeps the Pact Broker's order, by display name).
async fn order(State(state): State<AppState>, base: BaseUrl) -> ApiResult<Hal> {
    let environments = state.store.pipeline_environments().await?;
    Ok(order_body(&Urls::new(base.0), &environments))
}

/// PUT `/environments/order`: sets the pipeline order.
async fn set_order(State(state): State<AppState>, base: BaseUrl, raw: RawBody) -> ApiResult<Hal> {
    raw.require_json(&["application/json"])?;
    let names = parse_order(&raw.json_value()?)?;
    let environments = state
        .store
        .set_environment_order(&names)
        .await
        .map_err(order_error)?;
    Ok(order_body(&Urls::new(base.0), &environments))
}

async fn create(State(state): State<AppState>, base: BaseUrl, raw: RawBody) -> ApiResult<Response> {
    raw.require_json(&["application/json"])?;
    let fields = parse_fields(&raw.json_value()?)?;
    let environment = state
        .store
        .create_environment(None, fields)
        .await
        .map_err(name_error)?;
    let urls = Urls::new(base.0);
    Ok(hal::created(
        &urls.environment(&environment.uuid),
        views::environment(&urls, &environment),
    ))
}

async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(uuid): Path<String>,
) -> ApiResult<Hal> {
    let environment = state
        .store
        .environment(&uuid)
        .await?
        .ok_or_else(|| environment_not_found(&uuid))?;
    Ok(Hal::ok(views::environment(
        &Urls::new(base.0),
        &environment,
    )))
}

/// PUT replaces an environment; it cannot create one (the uuid is Treaty's).
async fn replace(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(uuid): Path<String>,
    raw: RawBody,
) -> ApiResult<Hal> {
    raw.require_json(&["application/json"])?;
    let fields = parse_fields(&raw.json_value()?)?;
    let environment = state
        .store
        .replace_environment(&uuid, fields)
        .await
        .map_err(name_error)?
        .ok_or_else(|| environment_not_found(&uuid))?;
    Ok(Hal::ok(views::environment(
        &Urls::new(base.0),
        &environment,
    )))
}

async fn delete(State(state): State<AppState>, Path(uuid): Path<String>) -> ApiResult<StatusCode> {
    if state.store.delete_environment(&uuid).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(environment_not_found(&uuid))
    }
}

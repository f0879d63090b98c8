//! `/pacticipants`: list, create, read, replace, merge-update (creating), delete.

use crate::path::Path;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use treaty_domain::PacticipantName;
use treaty_domain::model::{PacticipantFields, UpdateMode};

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::{JsonBody, RawBody, parse_value};
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, titled};
use crate::pagination::{self, PageQuery};
use crate::views::{self, Urls};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pacticipants", get(list).post(create))
        .route(
            "/pacticipants/{pacticipant}",
            get(show).put(replace).patch(merge).delete(delete),
        )
}

/// The fields a client may send for a pacticipant.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PacticipantBody {
    name: Option<String>,
    #[serde(alias = "display_name")]
    display_name: Option<String>,
    #[serde(alias = "repository_url")]
    repository_url: Option<String>,
    #[serde(alias = "repository_name")]
    repository_name: Option<String>,
    #[serde(alias = "repository_namespace")]
    repository_namespace: Option<String>,
    #[serde(alias = "main_branch")]
    main_branch: Option<String>,
}

impl PacticipantBody {
    fn fields(self) -> PacticipantFields {
        PacticipantFields {
            display_name: self.display_name,
            repository_url: self.repository_url,
            repository_name: self.repository_name,
            repository_namespace: self.repository_namespace,
            main_branch: self.main_branch,
        }
    }
}

pub fn parse_name(field: &str, raw: &str) -> ApiResult<PacticipantName> {
    PacticipantName::parse(raw).map_err(|e| ApiError::field(field, e.to_string()))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    q: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let page = query.page.request()?;
    let urls = Urls::new(base.0);
    let pacticipants = state.store.pacticipants(query.q.as_deref(), page).await?;
    Ok(Hal::ok(list_body(
        &urls,
        &pacticipants,
        &urls.pacticipants(),
    )))
}

pub fn list_body(
    urls: &Urls,
    pacticipants: &treaty_domain::model::Page<treaty_domain::model::Pacticipant>,
    self_href: &str,
) -> Value {
    let embedded: Vec<Value> = pacticipants
        .items
        .iter()
        .map(|p| views::pacticipant(urls, p, &[]))
        .collect();
    let deprecated: Vec<Value> = embedded
        .iter()
        .map(|p| {
            let mut p = p.clone();
            if let Some(fields) = p.as_object_mut() {
                fields.insert(
                    "title".into(),
                    json!("DEPRECATED - Please use the embedded pacticipants collection"),
                );
            }
            p
        })
        .collect();
    let mut body = Map::new();
    body.insert("_embedded".into(), json!({ "pacticipants": embedded }));
    body.insert("pacticipants".into(), Value::Array(deprecated));
    let mut links = Map::new();
    links.insert("self".into(), hal::link(self_href));
    links.insert(
        "pb:pacticipants-with-label".into(),
        hal::templated(
            format!("{}/pacticipants/label/{{label}}", urls.base),
            "Find pacticipants by label",
        ),
    );
    let items: Vec<Value> = pacticipants
        .items
        .iter()
        .map(|p| titled(urls.pacticipant(&p.name), "Pacticipant", Some(&p.name)))
        .collect();
    links.insert("pb:pacticipants".into(), Value::Array(items));
    // The deprecated relation is titled with each pacticipant's name.
    let deprecated_links: Vec<Value> = pacticipants
        .items
        .iter()
        .map(|p| {
            titled(
                urls.pacticipant(&p.name),
                &p.name,
                Some("DEPRECATED - please use pb:pacticipants"),
            )
        })
        .collect();
    links.insert("pacticipants".into(), Value::Array(deprecated_links));
    pagination::decorate(&mut body, &mut links, pacticipants.page, self_href);
    body.insert("_links".into(), Value::Object(links));
    Value::Object(body)
}

/// Creates a pacticipant, or answers with the one of that name. Either way
/// the answer is 201 with its `Location`, as the Pact Broker's.
async fn create(
    State(state): State<AppState>,
    base: BaseUrl,
    caller: crate::access::Caller,
    raw: RawBody,
) -> ApiResult<Response> {
    raw.require_json(&["application/json", "application/hal+json"])?;
    // A body that is JSON but not an object names no pacticipant: the
    // Pact Broker says `name` is missing, and so does Treaty.
    let value = match raw.json_value()? {
        object @ Value::Object(_) => object,
        _ => Value::Object(Map::new()),
    };
    let body: PacticipantBody = parse_value(value)?;
    let Some(raw_name) = body.name.clone() else {
        return Err(ApiError::field("name", "is missing"));
    };
    let name = parse_name("name", &raw_name)?;
    caller.may_act_for(name.as_str())?;
    let (pacticipant, _) = state.store.create_pacticipant(&name, body.fields()).await?;
    let urls = Urls::new(base.0);
    let json = render(&state, &urls, &pacticipant).await?;
    Ok(hal::created(&urls.pacticipant(&pacticipant.name), json))
}

async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(name): Path<String>,
) -> ApiResult<Hal> {
    let pacticipant = state
        .store
        .pacticipant(&name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    Ok(Hal::ok(
        render(&state, &Urls::new(base.0), &pacticipant).await?,
    ))
}

/// A pacticipant with the environments it is currently deployed to.
async fn render(
    state: &AppState,
    urls: &Urls,
    pacticipant: &treaty_domain::model::Pacticipant,
) -> ApiResult<Value> {
    let deployed = state
        .store
        .current_deployments_of(&pacticipant.name)
        .await?;
    Ok(views::pacticipant(urls, pacticipant, &deployed))
}

pub fn not_found(name: &str) -> ApiError {
    not_found_as("pacticipant", name)
}

/// The Pact Broker's 404 for a pacticipant named in the path, which names
/// its role there (`consumer`, `provider` or `pacticipant`), in HAL.
pub fn not_found_as(role: &str, name: &str) -> ApiError {
    ApiError::NotFoundHal(format!("No {role} with name '{name}' found"))
}

async fn replace(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<PacticipantBody>,
) -> ApiResult<Response> {
    let parsed = parse_name("name", &name)?;
    let (pacticipant, _) = state
        .store
        .update_pacticipant(&parsed, body.fields(), UpdateMode::Replace, false)
        .await?
        .ok_or_else(|| not_found(&name))?;
    Ok(Hal::ok(render(&state, &Urls::new(base.0), &pacticipant).await?).into_response())
}

/// PATCH creates the pacticipant when it is missing (the `pact broker
/// create-or-update-pacticipant` command relies on it).
async fn merge(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(name): Path<String>,
    raw: RawBody,
) -> ApiResult<Response> {
    raw.require_json(&["application/json", "application/merge-patch+json"])?;
    let body: PacticipantBody = parse_value(raw.json_value()?)?;
    let parsed = parse_name("name", &name)?;
    let (pacticipant, created) = state
        .store
        .update_pacticipant(&parsed, body.fields(), UpdateMode::Merge, true)
        .await?
        .ok_or_else(|| not_found(&name))?;
    let urls = Urls::new(base.0);
    let json = render(&state, &urls, &pacticipant).await?;
    Ok(if created {
        hal::created(&urls.pacticipant(&pacticipant.name), json)
    } else {
        Hal::ok(json).into_response()
    })
}

async fn delete(
    State(state): State<AppState>,
    caller: crate::access::Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    super::ledger::keep_history_from_writers(&state, &caller, &name, None).await?;
    if state.store.delete_pacticipant(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&name))
    }
}

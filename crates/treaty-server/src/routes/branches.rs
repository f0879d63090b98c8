//! Branches of a pacticipant and the versions on them.

use crate::path::Path;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use treaty_domain::BranchName;
use treaty_domain::model::{PageRequest, Version};
use treaty_domain::time;
use treaty_store::LatestVersion;

use super::pacticipants::{not_found as pacticipant_not_found, parse_name};
use super::versions::{parse_version, render, version_list};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, titled};
use crate::pagination::{self, PageQuery};
use crate::views::{self, Urls};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/pacticipants/{pacticipant}/branches",
            get(list).delete(delete_all_but),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}",
            get(show).delete(delete),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/latest-version",
            get(latest),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/versions",
            get(versions),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/versions/{version}",
            get(show_version).put(add_version).delete(remove_version),
        )
}

fn branch_not_found(pacticipant: &str, branch: &str) -> ApiError {
    ApiError::NotFound(format!(
        "No branch '{branch}' found for pacticipant '{pacticipant}'"
    ))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    q: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// Branches, most recently updated first, always a page (100 unless asked
/// otherwise, as the Pact Broker); `q` keeps those whose name contains it.
async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(pacticipant): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let page = query.page.request()?.unwrap_or(PageRequest {
        number: 1,
        size: pagination::DEFAULT_PAGE_SIZE,
    });
    if state.store.pacticipant(&pacticipant).await?.is_none() {
        return Err(pacticipant_not_found(&pacticipant));
    }
    let urls = Urls::new(base.0);
    let branches = state
        .store
        .branches(&pacticipant, query.q.as_deref(), Some(page))
        .await?;
    let self_href = urls.branches(&pacticipant);
    let mut body = Map::new();
    body.insert(
        "_embedded".into(),
        json!({ "branches": branches.items.iter().map(|b| views::branch(&urls, b)).collect::<Vec<_>>() }),
    );
    let mut links = Map::new();
    links.insert(
        "self".into(),
        titled(&self_href, format!("{pacticipant} branches"), None),
    );
    links.insert(
        "pb:branches".into(),
        Value::Array(
            branches
                .items
                .iter()
                .map(|b| json!({ "name": b.name, "href": urls.branch(&pacticipant, &b.name) }))
                .collect(),
        ),
    );
    links.insert(
        "pb:pacticipant".into(),
        views::pacticipant_link(&urls, &pacticipant),
    );
    pagination::decorate(&mut body, &mut links, branches.page, &self_href);
    body.insert("_links".into(), Value::Object(links));
    Ok(Hal::ok(Value::Object(body)))
}

async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, branch)): Path<(String, String)>,
) -> ApiResult<Hal> {
    let branch = state
        .store
        .branch(&pacticipant, &branch)
        .await?
        .ok_or_else(|| branch_not_found(&pacticipant, &branch))?;
    Ok(Hal::ok(views::branch(&Urls::new(base.0), &branch)))
}

/// Deletes the branch, not its versions.
async fn delete(
    State(state): State<AppState>,
    Path((pacticipant, branch)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if state.store.delete_branch(&pacticipant, &branch).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(branch_not_found(&pacticipant, &branch))
    }
}

/// The branch names `exclude[]=name` lists (Rack's reading; a lone
/// `exclude=name` is one name too).
fn excluded_branches(query: Option<&str>) -> ApiResult<Vec<String>> {
    use treaty_domain::matrix_query::{RackValue, parse_nested_query};
    let refuse = || {
        ApiError::BadRequest(
            "exclude lists the branches to keep, one name each: ?exclude[]=main&exclude[]=feat%2Fx"
                .to_owned(),
        )
    };
    let parsed = parse_nested_query(query.unwrap_or_default()).map_err(ApiError::BadRequest)?;
    let RackValue::Map(entries) = parsed else {
        return Ok(Vec::new());
    };
    match entries.into_iter().find(|(key, _)| key == "exclude") {
        None => Ok(Vec::new()),
        Some((_, RackValue::Str(name))) => Ok(vec![name]),
        Some((_, RackValue::List(names))) => names
            .into_iter()
            .map(|name| match name {
                RackValue::Str(name) => Ok(name),
                _ => Err(refuse()),
            })
            .collect(),
        Some(_) => Err(refuse()),
    }
}

/// Deletes every branch of a pacticipant but those excluded and its main
/// branch, with the Pact Broker's answer: 202 and a notice naming what is
/// left. The Pact Broker deletes after answering; Treaty deletes before,
/// in the request's one transaction, so the notice says it is done.
async fn delete_all_but(
    State(state): State<AppState>,
    Path(pacticipant): Path<String>,
    uri: axum::http::Uri,
) -> ApiResult<Response> {
    let keep = excluded_branches(uri.query())?;
    let outcome = state
        .store
        .delete_branches_except(&pacticipant, &keep)
        .await?
        .ok_or_else(|| pacticipant_not_found(&pacticipant))?;
    let text = format!(
        "Deleted {} branches for pacticipant {pacticipant}. Remaining branches are: {}",
        outcome.deleted,
        outcome.remaining.join(", ")
    );
    let body = json!({ "notices": [{ "type": "success", "text": text }] });
    Ok((StatusCode::ACCEPTED, Hal::ok(body)).into_response())
}

async fn latest(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, branch)): Path<(String, String)>,
) -> ApiResult<Hal> {
    let version = state
        .store
        .latest_version(&pacticipant, LatestVersion::OnBranch(branch.clone()))
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "No version of {pacticipant} from branch '{branch}' found"
            ))
        })?;
    let urls = Urls::new(base.0);
    Ok(Hal::ok(render(&state, &urls, &version, None).await?))
}

async fn versions(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, branch)): Path<(String, String)>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(page) = page.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let page = page.request()?;
    if state.store.branch(&pacticipant, &branch).await?.is_none() {
        return Err(branch_not_found(&pacticipant, &branch));
    }
    let urls = Urls::new(base.0);
    let versions = state
        .store
        .branch_versions(&pacticipant, &branch, page)
        .await?;
    let self_href = format!("{}/versions", urls.branch(&pacticipant, &branch));
    Ok(Hal::ok(
        version_list(
            &state,
            &urls,
            &pacticipant,
            &versions,
            &self_href,
            &format!("Versions for branch {branch} of {pacticipant}"),
        )
        .await?,
    ))
}

async fn show_version(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, branch, number)): Path<(String, String, String)>,
) -> ApiResult<Hal> {
    let version = state
        .store
        .branch_version(&pacticipant, &branch, &number)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "Version '{number}' of {pacticipant} is not on branch '{branch}'"
            ))
        })?;
    let urls = Urls::new(base.0);
    let body = render_branch_version(&state, &urls, &version, &branch).await?;
    Ok(Hal::ok(body))
}

/// A branch version: the version, with the branch version's own times (when
/// it was added to the branch, and last added again) and links to both.
async fn render_branch_version(
    state: &AppState,
    urls: &Urls,
    version: &Version,
    branch: &str,
) -> ApiResult<Value> {
    let (pacticipant, number) = (&version.pacticipant, &version.number);
    let self_href = urls.branch_version(pacticipant, branch, number);
    let mut body = render(state, urls, version, Some(self_href.clone())).await?;
    add_branch_links(urls, &mut body, pacticipant, branch, number);
    let times = state
        .store
        .branch_version_times(pacticipant, branch, number)
        .await?;
    if let Some(fields) = body.as_object_mut() {
        fields.remove("updatedAt");
        if let Some(times) = times {
            fields.insert("createdAt".into(), json!(time::format(times.created_at)));
            if times.updated_at != times.created_at {
                fields.insert("updatedAt".into(), json!(time::format(times.updated_at)));
            }
        }
        if let Some(links) = fields.get_mut("_links").and_then(Value::as_object_mut) {
            links.insert(
                "self".into(),
                json!({ "title": "Branch version", "href": self_href }),
            );
        }
    }
    Ok(body)
}

/// A branch version links to its branch and to its version.
fn add_branch_links(urls: &Urls, body: &mut Value, pacticipant: &str, branch: &str, number: &str) {
    if let Some(links) = body.get_mut("_links").and_then(Value::as_object_mut) {
        links.insert(
            "pb:branch".into(),
            titled(urls.branch(pacticipant, branch), "Branch", Some(branch)),
        );
        links.insert(
            "pb:version".into(),
            views::version_link(urls, pacticipant, number),
        );
    }
}

/// Adds a version to a branch (creating all of them as needed); it becomes the head.
async fn add_version(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, branch, number)): Path<(String, String, String)>,
    raw: RawBody,
) -> ApiResult<Response> {
    raw.json_value()?;
    let name = parse_name("pacticipant", &pacticipant)?;
    let branch_name =
        BranchName::parse(branch.as_str()).map_err(|e| ApiError::field("branch", e.to_string()))?;
    let parsed = parse_version("version", &number)?;
    let (version, added) = state
        .store
        .add_branch_version(&name, &branch_name, &parsed)
        .await?;
    let urls = Urls::new(base.0);
    let self_href = urls.branch_version(&pacticipant, &branch, &number);
    let body = render_branch_version(&state, &urls, &version, &branch).await?;
    Ok(if added {
        hal::created(&self_href, body)
    } else {
        Hal::ok(body).into_response()
    })
}

async fn remove_version(
    State(state): State<AppState>,
    Path((pacticipant, branch, number)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    if state
        .store
        .delete_branch_version(&pacticipant, &branch, &number)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "Version '{number}' of {pacticipant} is not on branch '{branch}'"
        )))
    }
}

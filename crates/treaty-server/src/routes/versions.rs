//! Versions of a pacticipant: list, read, create-or-update, delete, latest.

use crate::path::Path;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use treaty_domain::model::Version;
use treaty_domain::{BranchName, TagName, VersionNumber};
use treaty_store::{LatestVersion, VersionChanges};

use super::pacticipants::{not_found as pacticipant_not_found, parse_name};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::{RawBody, parse_value};
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, titled};
use crate::pagination::{self, PageQuery};
use crate::views::{self, Urls};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pacticipants/{pacticipant}/versions", get(list))
        .route(
            "/pacticipants/{pacticipant}/versions/{version}",
            get(show).put(put).patch(patch).delete(delete),
        )
        .route("/pacticipants/{pacticipant}/latest-version", get(latest))
        .route(
            "/pacticipants/{pacticipant}/latest-version/{tag}",
            get(latest),
        )
        .route(
            "/pacticipants/{pacticipant}/tags/{tag}/versions",
            get(tagged),
        )
        .route(
            "/pacticipants/{pacticipant}/environments/{uuid}/versions",
            get(in_environment),
        )
}

pub fn version_not_found(pacticipant: &str, number: &str) -> ApiError {
    ApiError::missing(format!(
        "No version with number '{number}' found for pacticipant '{pacticipant}'"
    ))
}

pub fn parse_version(field: &str, raw: &str) -> ApiResult<VersionNumber> {
    VersionNumber::parse(raw).map_err(|e| ApiError::field(field, e.to_string()))
}

/// A version with the pacts it published, as a response body.
pub async fn render(
    state: &AppState,
    urls: &Urls,
    version: &Version,
    self_href: Option<String>,
) -> ApiResult<Value> {
    let store = &state.store;
    let pacts = store
        .pacts_of_consumer_version(&version.pacticipant, &version.number)
        .await?;
    let environments = store.environments().await?;
    let deployments = store
        .deployments_of_version(&version.pacticipant, &version.number)
        .await?;
    let releases = store
        .releases_of_version(&version.pacticipant, &version.number)
        .await?;
    let context = views::VersionContext {
        pacts: &pacts,
        environments: &environments,
        deployments: &deployments,
        releases: &releases,
    };
    Ok(views::version(urls, version, self_href, context))
}

async fn require_pacticipant(state: &AppState, name: &str) -> ApiResult<()> {
    match state.store.pacticipant(name).await? {
        Some(_) => Ok(()),
        None => Err(pacticipant_not_found(name)),
    }
}

/// A list of versions, as the Pact Broker lists them: each with the pacts
/// it published and where it was deployed (read for the whole list at once).
pub async fn version_list(
    state: &AppState,
    urls: &Urls,
    pacticipant: &str,
    versions: &treaty_domain::model::Page<Version>,
    self_href: &str,
    title: &str,
) -> ApiResult<Value> {
    let ids: Vec<i64> = versions.items.iter().map(|v| v.id).collect();
    let (pacts, deployments) = state.store.pacts_and_deployments_of_versions(&ids).await?;
    let embedded: Vec<Value> = versions
        .items
        .iter()
        .map(|v| {
            let pacts: Vec<_> = pacts
                .iter()
                .filter(|p| p.consumer_version_id == v.id)
                .cloned()
                .collect();
            let deployments: Vec<_> = deployments
                .iter()
                .filter(|d| d.version == v.number)
                .cloned()
                .collect();
            let context = views::VersionContext {
                pacts: &pacts,
                deployments: &deployments,
                ..views::VersionContext::default()
            };
            views::version(urls, v, None, context)
        })
        .collect();
    let mut body = Map::new();
    body.insert("_embedded".into(), json!({ "versions": embedded }));
    let mut links = Map::new();
    let pacticipant_href = urls.pacticipant(pacticipant);
    links.insert("self".into(), titled(self_href, title, None));
    links.insert(
        "pb:pacticipant".into(),
        json!({ "href": pacticipant_href, "title": pacticipant }),
    );
    let link_to = |v: &Version, title: String| json!({ "href": urls.version(pacticipant, &v.number), "title": title });
    let items: Vec<Value> = versions
        .items
        .iter()
        .map(|v| {
            link_to(
                v,
                format!("Version {} - {}", v.number, v.updated_at.format("%d/%m/%Y")),
            )
        })
        .collect();
    links.insert("pb:versions".into(), Value::Array(items));
    links.insert(
        "pacticipant".into(),
        titled(
            &pacticipant_href,
            "Deprecated - please use pb:pacticipant",
            None,
        ),
    );
    links.insert(
        "versions".into(),
        versions
            .items
            .iter()
            .map(|v| link_to(v, "Deprecated - please use pb:versions".to_owned()))
            .collect(),
    );
    pagination::decorate(&mut body, &mut links, versions.page, self_href);
    body.insert("_links".into(), Value::Object(links));
    Ok(Value::Object(body))
}

async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(pacticipant): Path<String>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(page) = page.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let page = page.request()?;
    require_pacticipant(&state, &pacticipant).await?;
    let urls = Urls::new(base.0);
    let versions = state.store.versions(&pacticipant, page).await?;
    let body = version_list(
        &state,
        &urls,
        &pacticipant,
        &versions,
        &urls.versions(&pacticipant),
        &format!("All application versions of {pacticipant}"),
    )
    .await?;
    Ok(Hal::ok(body))
}

async fn show(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, number)): Path<(String, String)>,
) -> ApiResult<Hal> {
    let version = state
        .store
        .version(&pacticipant, &number)
        .await?
        .ok_or_else(|| version_not_found(&pacticipant, &number))?;
    let urls = Urls::new(base.0);
    Ok(Hal::ok(render(&state, &urls, &version, None).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VersionBody {
    build_url: Option<String>,
    branch: Option<String>,
    tags: Option<Vec<TagBody>>,
}

#[derive(Debug, Deserialize)]
struct TagBody {
    name: String,
}

impl VersionBody {
    fn changes(self, replace: bool) -> ApiResult<VersionChanges> {
        if let Some(found) = self
            .build_url
            .as_deref()
            .and_then(treaty_domain::names::forbidden_character)
        {
            return Err(ApiError::field("buildUrl", format!("contains {found}")));
        }
        let branch = self
            .branch
            .map(|b| BranchName::parse(b).map_err(|e| ApiError::field("branch", e.to_string())))
            .transpose()?;
        let tags = self
            .tags
            .map(|tags| {
                tags.into_iter()
                    .map(|t| {
                        TagName::parse(t.name).map_err(|e| ApiError::field("tags", e.to_string()))
                    })
                    .collect::<ApiResult<Vec<_>>>()
            })
            .transpose()?;
        Ok(VersionChanges {
            build_url: self.build_url,
            tags,
            branch,
            replace,
        })
    }
}

async fn write(
    state: AppState,
    base: BaseUrl,
    pacticipant: String,
    number: String,
    raw: RawBody,
    media_types: &[&str],
    replace: bool,
) -> ApiResult<Response> {
    raw.require_json(media_types)?;
    let body: VersionBody = parse_value(raw.json_value()?)?;
    let name = parse_name("pacticipant", &pacticipant)?;
    let parsed = parse_version("version", &number)?;
    let (version, created) = state
        .store
        .put_version(&name, &parsed, body.changes(replace)?)
        .await?;
    let urls = Urls::new(base.0);
    let json = render(&state, &urls, &version, None).await?;
    // Created by PUT (or PATCH) at the address the client gave: 201, and
    // no `Location` (the Pact Broker sends none).
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(Hal(status, json).into_response())
}

async fn put(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, number)): Path<(String, String)>,
    raw: RawBody,
) -> ApiResult<Response> {
    write(
        state,
        base,
        pacticipant,
        number,
        raw,
        &["application/json"],
        true,
    )
    .await
}

async fn patch(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, number)): Path<(String, String)>,
    raw: RawBody,
) -> ApiResult<Response> {
    write(
        state,
        base,
        pacticipant,
        number,
        raw,
        &["application/merge-patch+json"],
        false,
    )
    .await
}

async fn delete(
    State(state): State<AppState>,
    Path((pacticipant, number)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if state.store.delete_version(&pacticipant, &number).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(version_not_found(&pacticipant, &number))
    }
}

/// `latest-version` and `latest-version/{tag}`.
#[derive(Debug, Deserialize)]
struct LatestPath {
    pacticipant: String,
    tag: Option<String>,
}

async fn latest(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(LatestPath { pacticipant, tag }): Path<LatestPath>,
) -> ApiResult<Hal> {
    let (which, missing) = match tag {
        None => (
            LatestVersion::Any,
            format!("No versions found for pacticipant '{pacticipant}'"),
        ),
        Some(tag) => (
            LatestVersion::WithTag(tag.clone()),
            format!("No version with tag '{tag}' found for pacticipant '{pacticipant}'"),
        ),
    };
    let version = state
        .store
        .latest_version(&pacticipant, which)
        .await?
        .ok_or(ApiError::NotFound(missing))?;
    let urls = Urls::new(base.0);
    Ok(Hal::ok(render(&state, &urls, &version, None).await?))
}

async fn tagged(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, tag)): Path<(String, String)>,
) -> ApiResult<Hal> {
    require_pacticipant(&state, &pacticipant).await?;
    let urls = Urls::new(base.0);
    let versions = state.store.versions_with_tag(&pacticipant, &tag).await?;
    let page = treaty_domain::model::Page {
        items: versions,
        page: None,
    };
    let self_href = format!(
        "{}/tags/{}/versions",
        urls.pacticipant(&pacticipant),
        hal::seg(&tag)
    );
    let body = version_list(
        &state,
        &urls,
        &pacticipant,
        &page,
        &self_href,
        &format!("Versions of {pacticipant} with tag {tag}"),
    )
    .await?;
    Ok(Hal::ok(body))
}

/// The versions of a pacticipant ever deployed or released to an
/// environment, newest first (the Pact Broker's `EnvironmentVersions`,
/// added after 2.120).
async fn in_environment(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((pacticipant, uuid)): Path<(String, String)>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(page) = page.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let page = page.request()?;
    let environment = state
        .store
        .environment(&uuid)
        .await?
        .ok_or_else(|| ApiError::missing(format!("No environment with uuid '{uuid}' found")))?;
    require_pacticipant(&state, &pacticipant).await?;
    let urls = Urls::new(base.0);
    let versions = state
        .store
        .versions_in_environment(&pacticipant, &uuid, page)
        .await?;
    let label = environment
        .display_name
        .as_deref()
        .unwrap_or(&environment.name);
    let body = version_list(
        &state,
        &urls,
        &pacticipant,
        &versions,
        &format!(
            "{}/environments/{}/versions",
            urls.pacticipant(&pacticipant),
            hal::seg(&uuid)
        ),
        &format!("Versions for {pacticipant} in environment {label}"),
    )
    .await?;
    Ok(Hal::ok(body))
}

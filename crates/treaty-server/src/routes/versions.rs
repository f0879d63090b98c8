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
use crate::hal::{self, Hal};
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
    let facts = store
        .version_list_facts(&version.pacticipant, std::slice::from_ref(&version.number))
        .await?;
    let providers: Vec<String> = facts.pacts.into_iter().map(|(_, p)| p).collect();
    let environments = store.environments().await?;
    let context = views::VersionContext {
        pact_providers: &providers,
        environments: &environments,
        deployments: &facts.deployments,
        releases: &facts.releases,
    };
    Ok(views::version(urls, version, self_href, context))
}

async fn require_pacticipant(state: &AppState, name: &str) -> ApiResult<()> {
    match state.store.pacticipant(name).await? {
        Some(_) => Ok(()),
        None => Err(pacticipant_not_found(name)),
    }
}

/// A page of versions, each with its pacts, deployments and releases (read
/// for the whole page at once), in the Pact Broker's shape.
pub async fn version_list(
    state: &AppState,
    urls: &Urls,
    pacticipant: &str,
    versions: &treaty_domain::model::Page<Version>,
    self_href: &str,
    title: &str,
) -> ApiResult<Value> {
    let numbers: Vec<String> = versions.items.iter().map(|v| v.number.clone()).collect();
    let facts = state
        .store
        .version_list_facts(pacticipant, &numbers)
        .await?;
    let embedded: Vec<Value> = versions
        .items
        .iter()
        .map(|v| {
            let providers: Vec<String> = facts
                .pacts
                .iter()
                .filter(|(number, _)| *number == v.number)
                .map(|(_, provider)| provider.clone())
                .collect();
            let deployments: Vec<_> = facts
                .deployments
                .iter()
                .filter(|d| d.version == v.number)
                .cloned()
                .collect();
            let releases: Vec<_> = facts
                .releases
                .iter()
                .filter(|r| r.version == v.number)
                .cloned()
                .collect();
            let context = views::VersionContext {
                pact_providers: &providers,
                environments: &[],
                deployments: &deployments,
                releases: &releases,
            };
            views::version(urls, v, None, context)
        })
        .collect();
    let mut body = Map::new();
    body.insert("_embedded".into(), json!({ "versions": embedded }));
    let mut links = Map::new();
    links.insert("self".into(), json!({ "href": self_href, "title": title }));
    let pacticipant_href = urls.pacticipant(pacticipant);
    links.insert(
        "pb:pacticipant".into(),
        json!({ "href": pacticipant_href, "title": pacticipant }),
    );
    links.insert(
        "pb:versions".into(),
        Value::Array(
            versions
                .items
                .iter()
                .map(|v| {
                    json!({
                        "href": urls.version(pacticipant, &v.number),
                        "title": format!("Version {} - {}", v.number, v.updated_at.format("%d/%m/%Y")),
                    })
                })
                .collect(),
        ),
    );
    links.insert(
        "pacticipant".into(),
        json!({ "href": pacticipant_href, "title": "Deprecated - please use pb:pacticipant" }),
    );
    links.insert(
        "versions".into(),
        Value::Array(
            versions
                .items
                .iter()
                .map(|v| {
                    json!({
                        "href": urls.version(pacticipant, &v.number),
                        "title": "Deprecated - please use pb:versions",
                    })
                })
                .collect(),
        ),
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
    Ok(Hal::ok(
        version_list(
            &state,
            &urls,
            &pacticipant,
            &versions,
            &urls.versions(&pacticipant),
            &format!("All application versions of {pacticipant}"),
        )
        .await?,
    ))
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
    // A version made by PUT is 201 without a `Location`, as the Pact
    // Broker answers (the URL asked for is the version's).
    Ok(if created {
        Hal(StatusCode::CREATED, json).into_response()
    } else {
        Hal::ok(json).into_response()
    })
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
    caller: crate::access::Caller,
    Path((pacticipant, number)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    super::ledger::keep_history_from_writers(&state, &caller, &pacticipant, Some(&number)).await?;
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
    page: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult<Hal> {
    let Query(page) = page.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let page = page.request()?;
    require_pacticipant(&state, &pacticipant).await?;
    let urls = Urls::new(base.0);
    let versions = state
        .store
        .versions_with_tag(&pacticipant, &tag, page)
        .await?;
    // As the Pact Broker: a tag no version carries is not there.
    if versions.items.is_empty() && versions.page.is_none_or(|p| p.total_elements == 0) {
        return Err(ApiError::missing(format!(
            "No version of {pacticipant} has the tag '{tag}'"
        )));
    }
    let self_href = format!(
        "{}/tags/{}/versions",
        urls.pacticipant(&pacticipant),
        hal::seg(&tag)
    );
    Ok(Hal::ok(
        version_list(
            &state,
            &urls,
            &pacticipant,
            &versions,
            &self_href,
            &format!("All application versions of {pacticipant}"),
        )
        .await?,
    ))
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

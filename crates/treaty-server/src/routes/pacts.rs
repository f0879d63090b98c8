//! One pact of a pair: publish it (the older PUT), merge into it (PATCH),
//! delete it, and read it by consumer version, latest, tag, branch or
//! content hash; also at the deprecated `/pact/...` addresses. The lists
//! are in `pact_lists.rs`, the comparisons in `pact_diffs.rs`.

use crate::path::Path;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, put};
use serde::Deserialize;
use serde_json::json;
use treaty_domain::model::Pact;
use treaty_domain::pact::PactDocument;
use treaty_domain::publish::OnConflict;
use treaty_store::PactSelector;

use super::pacticipants::parse_name;
use super::versions::parse_version;
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::hal::{self, Hal, link, titled};
use crate::views::{self, Urls};

/// The pacts of one pair: the prefix of every pact route.
pub(super) const PAIR: &str = "/pacts/provider/{provider}/consumer/{consumer}";
/// The Pact Broker's deprecated singular prefix, still served.
const DEPRECATED_PAIR: &str = "/pact/provider/{provider}/consumer/{consumer}";

/// Each route reading one pact: its prefix, its suffix and the pact it names.
const ONE_PACT: &[(&str, &str, OnePact)] = &[
    (PAIR, "/version/{version}", OnePact::ConsumerVersion),
    (PAIR, "/versions/{version}", OnePact::ConsumerVersion),
    (PAIR, "/pact-version/{sha}", OnePact::Sha),
    (
        PAIR,
        "/pact-version/{sha}/metadata/{metadata}",
        OnePact::Sha,
    ),
    (PAIR, "/latest", OnePact::Latest),
    (PAIR, "/latest-untagged", OnePact::LatestUntagged),
    (PAIR, "/latest/{tag}", OnePact::LatestTagged),
    (PAIR, "/branch/{branch}/latest", OnePact::LatestOnBranch),
    (
        DEPRECATED_PAIR,
        "/version/{version}",
        OnePact::ConsumerVersion,
    ),
    (DEPRECATED_PAIR, "/latest", OnePact::Latest),
];

/// The routes of this module as a table: one handler over [`OnePact`],
/// and a route is a line naming its selector.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for (prefix, suffix, which) in ONE_PACT {
        router = router.route(&format!("{prefix}{suffix}"), one_pact_route(*which));
    }
    for prefix in [PAIR, DEPRECATED_PAIR] {
        router = router.route(
            &format!("{prefix}/version/{{version}}"),
            put(put_pact).patch(patch_pact).delete(delete_pact),
        );
    }
    router
}

/// The path parameters of the pact routes; each route has some of them.
#[derive(Debug, Deserialize)]
pub(super) struct PactPath {
    pub provider: String,
    pub consumer: String,
    pub version: Option<String>,
    pub sha: Option<String>,
    pub tag: Option<String>,
    pub branch: Option<String>,
    pub metadata: Option<String>,
}

impl PactPath {
    /// A parameter the route's template has (so axum always supplies it).
    pub(super) fn param(value: &Option<String>) -> String {
        value.clone().unwrap_or_default()
    }
}

/// Which one pact of a pair a route names.
#[derive(Debug, Clone, Copy)]
pub(super) enum OnePact {
    /// `/version/{version}` (and the older `/versions/{version}`).
    ConsumerVersion,
    /// `/pact-version/{sha}`, with or without `/metadata/{metadata}`.
    Sha,
    Latest,
    LatestUntagged,
    /// `/latest/{tag}`.
    LatestTagged,
    /// `/branch/{branch}/latest`.
    LatestOnBranch,
}

impl OnePact {
    /// The store's selector, and how a 404 words what was not found.
    pub(super) fn select(self, path: &PactPath) -> (PactSelector, String) {
        match self {
            Self::ConsumerVersion => {
                let version = PactPath::param(&path.version);
                let what = format!("for consumer version {version}");
                (PactSelector::ConsumerVersion(version), what)
            }
            Self::Sha => {
                let sha = PactPath::param(&path.sha);
                let what = format!("with content hash {sha}");
                (PactSelector::Sha(sha), what)
            }
            Self::Latest => (PactSelector::Latest, String::new()),
            Self::LatestUntagged => (
                PactSelector::LatestUntagged,
                "for an untagged version".to_owned(),
            ),
            Self::LatestTagged => {
                let tag = PactPath::param(&path.tag);
                let what = format!("for a version tagged '{tag}'");
                (PactSelector::LatestWithTag(tag), what)
            }
            Self::LatestOnBranch => {
                let branch = PactPath::param(&path.branch);
                let what = format!("for a version from branch '{branch}'");
                (PactSelector::LatestOnBranch(branch), what)
            }
        }
    }

    /// The metadata segment of the pact's `pb:publish-verification-results`
    /// link, as the Pact Broker gives it: a pact fetched as the latest
    /// (for a tag) says which consumer version (and tag) it was, so the
    /// result published there is tied to that version; a pact fetched by
    /// its content's address keeps the segment it was fetched with.
    fn verification_metadata(self, path: &PactPath, pact: &Pact) -> Option<String> {
        let tag = match self {
            Self::ConsumerVersion => return None,
            Self::Sha => return path.metadata.clone(),
            Self::Latest | Self::LatestOnBranch => None,
            Self::LatestUntagged => Some("untagged".to_owned()),
            Self::LatestTagged => path.tag.clone(),
        };
        Some(views::latest_pact_metadata(
            tag.as_deref(),
            pact.consumer_version_id,
        ))
    }
}

fn one_pact_route(which: OnePact) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>,
              base: BaseUrl,
              headers: HeaderMap,
              Path(path): Path<PactPath>| async move {
            one_pact(&state, base, &headers, &path, which).await
        },
    )
}

pub(super) fn pact_not_found(consumer: &str, provider: &str, what: &str) -> ApiError {
    ApiError::NotFound(format!(
        "No pact found between {consumer} and {provider} {what}"
    ))
}

/// The pact a route names, or a 404 naming what is missing.
pub(super) async fn find_pact(
    state: &AppState,
    path: &PactPath,
    which: OnePact,
) -> ApiResult<Pact> {
    let (consumer, provider) = (&path.consumer, &path.provider);
    let (selector, what) = which.select(path);
    state
        .store
        .pact(consumer, provider, selector)
        .await?
        .ok_or_else(|| pact_not_found(consumer, provider, &what))
}

/// The media types a pact is offered in, the Pact Broker's first.
const PACT_MEDIA_TYPES: &[&str] = &["application/hal+json", "application/json", "text/html"];

async fn one_pact(
    state: &AppState,
    base: BaseUrl,
    headers: &HeaderMap,
    path: &PactPath,
    which: OnePact,
) -> ApiResult<Response> {
    let accepted = hal::negotiate(headers, PACT_MEDIA_TYPES);
    let pact = find_pact(state, path, which).await?;
    if accepted == "text/html" {
        // A browser following a pact's address gets the contract's page.
        return crate::ui::contract_page(
            state,
            &base,
            &pact.provider,
            &pact.consumer,
            &pact.consumer_version,
        )
        .await;
    }
    let metadata = which.verification_metadata(path, &pact);
    let mut response = Hal::ok(views::pact_with_metadata(
        &Urls::new(base.0),
        &pact,
        metadata.as_deref(),
    ))
    .into_response();
    if accepted == "application/json" {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=utf-8"),
        );
    }
    // Which consumer version this pact is from, for clients that fetch "latest".
    if let Ok(value) = HeaderValue::from_str(&pact.consumer_version) {
        response
            .headers_mut()
            .insert("x-pact-consumer-version", value);
    }
    Ok(response)
}

/// Publishes a pact for one consumer version: the raw pact is the body.
async fn put_pact(
    state: State<AppState>,
    base: BaseUrl,
    path: Path<(String, String, String)>,
    raw: RawBody,
) -> ApiResult<Response> {
    write_pact(state, base, path, raw, OnConflict::Overwrite).await
}

/// Merges the interactions of the body into the stored pact.
async fn patch_pact(
    state: State<AppState>,
    base: BaseUrl,
    path: Path<(String, String, String)>,
    raw: RawBody,
) -> ApiResult<Response> {
    write_pact(state, base, path, raw, OnConflict::Merge).await
}

async fn write_pact(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, version)): Path<(String, String, String)>,
    raw: RawBody,
    on_conflict: OnConflict,
) -> ApiResult<Response> {
    raw.require_json(&["application/json", "application/merge-patch+json"])?;
    let document = PactDocument::from_value(raw.json_value()?)
        .map_err(|e| ApiError::BadRequest(format!("The pact {e}")))?;
    let mut errors = serde_json::Map::new();
    for (role, named, path_name) in [
        ("consumer.name", document.consumer_name(), &consumer),
        ("provider.name", document.provider_name(), &provider),
    ] {
        if let Some(named) = named
            && named != path_name.as_str()
        {
            errors.insert(
                role.into(),
                json!([format!(
                    "name in pact '{named}' does not match name in URL path '{path_name}'."
                )]),
            );
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let consumer_name = parse_name("consumer", &consumer)?;
    let provider_name = parse_name("provider", &provider)?;
    let number = parse_version("consumerVersionNumber", &version)?;
    let outcome = state
        .store
        .put_pact(
            &consumer_name,
            &provider_name,
            &number,
            document,
            on_conflict,
        )
        .await?;
    let pact = state
        .store
        .pact(
            &consumer,
            &provider,
            PactSelector::ConsumerVersion(version.clone()),
        )
        .await?
        .ok_or_else(|| ApiError::Internal("a pact just published could not be read".into()))?;
    let body = views::pact(&Urls::new(base.0), &pact);
    // Created by PUT at the address the client gave: 201, and no
    // `Location` (the Pact Broker sends none).
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(Hal(status, body).into_response())
}

async fn delete_pact(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((provider, consumer, version)): Path<(String, String, String)>,
) -> ApiResult<Hal> {
    if !state
        .store
        .delete_pact(&consumer, &provider, &version)
        .await?
    {
        return Err(pact_not_found(
            &consumer,
            &provider,
            &format!("for consumer version {version}"),
        ));
    }
    let urls = Urls::new(base.0);
    Ok(Hal::ok(json!({
        "_links": {
            "index": link(&urls.base),
            "pb:latest-pact-version": titled(format!("{}/latest", urls.pact_pair(&provider, &consumer)), "Latest version of this pact", None),
        }
    })))
}

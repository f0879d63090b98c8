//! Badges, as the Pact Broker serves them: a pact's verification status
//! (`.../latest/badge`, `.../latest/{tag}/badge`, `.../latest-untagged/badge`,
//! and the matrix badge of two tags), can-i-deploy from a tag or branch, and
//! can-i-merge. Each redirects (307) to its shields.io image, or is drawn
//! here when `--shields-io-base-url` is empty. A badge always answers: what
//! it cannot show (an unknown pacticipant, version or environment) is an
//! error badge, never an error page. With `--public-badge-access` anyone
//! may read them (`access.rs`, from these routes' templates).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use treaty_domain::access::badge_routes;
use treaty_domain::badges::{Badge, PactLabel, PactStatus, Side};
use treaty_domain::matrix::Matrix;
use treaty_domain::matrix_query::{self, MatrixQuery, Scope, VersionSelector};
use treaty_store::{BadgeVersions, LatestVersion};

use super::matrix::{branch_to_environment_query, tag_to_tag_query};
use crate::AppState;
use crate::error::ApiResult;
use crate::path::Path;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(badge_routes::LATEST_PACT, get(latest_pact))
        .route(badge_routes::LATEST_TAGGED_PACT, get(latest_tagged_pact))
        .route(
            badge_routes::LATEST_UNTAGGED_PACT,
            get(latest_untagged_pact),
        )
        .route(badge_routes::MATRIX, get(matrix_badge))
        .route(badge_routes::CAN_I_DEPLOY_TAG_TO_TAG, get(tag_to_tag))
        .route(
            badge_routes::CAN_I_DEPLOY_BRANCH_TO_ENVIRONMENT,
            get(branch_to_environment),
        )
        .route(badge_routes::CAN_I_MERGE, get(can_i_merge))
}

/// The Pact Broker's badges are never cached, but for a can-i-merge answer.
const NO_CACHE: &str = "no-cache";
const CAN_I_MERGE_CACHE: &str = "max-age=30";

/// The badge's query parameters: `label` (a text, or which name a pact
/// badge shows) and `initials` (`true`: a pact badge shortens the names).
struct Options {
    label: Option<String>,
    initials: bool,
}

impl Options {
    fn of(raw: Option<&str>) -> Self {
        let mut options = Self {
            label: None,
            initials: false,
        };
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "label" if !value.is_empty() => options.label = Some(value.into_owned()),
                "initials" => options.initials = value == "true",
                _ => {}
            }
        }
        options
    }
}

/// The badge as the configuration says: a redirect to shields.io, or drawn.
fn respond(state: &AppState, badge: &Badge, cache: &'static str) -> Response {
    let svg = HeaderValue::from_static("image/svg+xml;charset=utf-8");
    let cache = HeaderValue::from_static(cache);
    if let Some(base) = &state.config.shields_io_base_url
        && let Ok(location) = HeaderValue::try_from(badge.shields_url(base))
    {
        return (
            StatusCode::TEMPORARY_REDIRECT,
            [
                (header::LOCATION, location),
                (header::CONTENT_TYPE, svg),
                (header::CACHE_CONTROL, cache),
            ],
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, svg), (header::CACHE_CONTROL, cache)],
        badge.svg(),
    )
        .into_response()
}

/// A badge for a failure of Treaty's own: logged, and still a badge.
fn failed(state: &AppState, error: &crate::error::ApiError) -> Response {
    tracing::error!("a badge could not be worked out: {error}");
    respond(
        state,
        &Badge::error("error", "see the server log"),
        NO_CACHE,
    )
}

async fn pact_badge(
    state: &AppState,
    raw: Option<&str>,
    provider: &str,
    consumer: &str,
    consumer_versions: BadgeVersions,
    tags: Option<(&str, &str)>,
) -> Response {
    let options = Options::of(raw);
    let facts = match state
        .store
        .pact_badge(
            consumer,
            provider,
            consumer_versions,
            tags.map(|(_, provider_tag)| provider_tag),
        )
        .await
    {
        Ok(facts) => facts,
        Err(error) => return failed(state, &error.into()),
    };
    let status = PactStatus::of(
        facts.pact_sha.as_deref(),
        facts
            .verification
            .as_ref()
            .map(|(sha, success)| (sha.as_str(), *success)),
    );
    let pair = facts.pact_sha.as_ref().map(|_| {
        (
            Side {
                name: consumer,
                tag: tags.map(|(consumer_tag, _)| consumer_tag),
            },
            Side {
                name: provider,
                tag: tags.map(|(_, provider_tag)| provider_tag),
            },
        )
    });
    let badge = Badge::pact(
        pair,
        PactLabel::parse(options.label.as_deref()),
        options.initials,
        status,
    );
    respond(state, &badge, NO_CACHE)
}

async fn latest_pact(
    State(state): State<AppState>,
    Path((provider, consumer)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    pact_badge(
        &state,
        raw.as_deref(),
        &provider,
        &consumer,
        BadgeVersions::All,
        None,
    )
    .await
}

async fn latest_tagged_pact(
    State(state): State<AppState>,
    Path((provider, consumer, tag)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    pact_badge(
        &state,
        raw.as_deref(),
        &provider,
        &consumer,
        BadgeVersions::Tagged(tag),
        None,
    )
    .await
}

async fn latest_untagged_pact(
    State(state): State<AppState>,
    Path((provider, consumer)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    pact_badge(
        &state,
        raw.as_deref(),
        &provider,
        &consumer,
        BadgeVersions::Untagged,
        None,
    )
    .await
}

/// The latest pact of a consumer tag, and its latest verification by a
/// provider version with the provider tag.
async fn matrix_badge(
    State(state): State<AppState>,
    Path((provider, provider_tag, consumer, tag)): Path<(String, String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    pact_badge(
        &state,
        raw.as_deref(),
        &provider,
        &consumer,
        BadgeVersions::Tagged(tag.clone()),
        Some((&tag, &provider_tag)),
    )
    .await
}

/// A can-i-deploy answer, or the badge saying what does not exist.
async fn can_i_deploy_badge(
    state: &AppState,
    query: &MatrixQuery,
    what_is_missing: impl AsyncFnOnce() -> ApiResult<Badge>,
    badge: impl FnOnce(&Matrix) -> Badge,
) -> Response {
    let answer = match state.store.matrix_evidence(query).await {
        Ok(answer) => answer,
        Err(error) => return failed(state, &error.into()),
    };
    let matrix = answer.map(|evidence| treaty_domain::matrix::evaluate(query, evidence));
    let badge = match matrix {
        Ok(matrix) if matrix.missing_versions().is_empty() => badge(&matrix),
        _ => match what_is_missing().await {
            Ok(badge) => badge,
            Err(error) => return failed(state, &error),
        },
    };
    respond(state, &badge, NO_CACHE)
}

async fn tag_to_tag(
    State(state): State<AppState>,
    Path((pacticipant, tag, to)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let label = Options::of(raw.as_deref()).label;
    let query = tag_to_tag_query(pacticipant.clone(), tag.clone(), to.clone());
    can_i_deploy_badge(
        &state,
        &query,
        async || {
            Ok(if state.store.pacticipant(&pacticipant).await?.is_none() {
                Badge::error("pacticipant", "not found")
            } else {
                Badge::error("version", "not found")
            })
        },
        |matrix| Badge::can_i_deploy(&tag, &to, label.as_deref(), matrix.summary.deployable),
    )
    .await
}

async fn branch_to_environment(
    State(state): State<AppState>,
    Path((pacticipant, branch, environment)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let label = Options::of(raw.as_deref()).label;
    let query =
        branch_to_environment_query(pacticipant.clone(), branch.clone(), environment.clone());
    can_i_deploy_badge(
        &state,
        &query,
        async || {
            let store = &state.store;
            Ok(if store.pacticipant(&pacticipant).await?.is_none() {
                Badge::error("pacticipant", "not found")
            } else if store
                .latest_version(&pacticipant, LatestVersion::OnBranch(branch.clone()))
                .await?
                .is_none()
            {
                if store.branch(&pacticipant, &branch).await?.is_none() {
                    Badge::error("branch", "not found")
                } else {
                    Badge::error("version", "not found")
                }
            } else {
                Badge::error("environment", "not found")
            })
        },
        |matrix| {
            Badge::can_i_deploy(
                &branch,
                &environment,
                label.as_deref(),
                matrix.summary.deployable,
            )
        },
    )
    .await
}

/// Whether the head of the pacticipant's main branch works with the heads
/// of its partners' main branches (the Pact Broker's `can_i_merge`).
async fn can_i_merge(State(state): State<AppState>, Path(pacticipant): Path<String>) -> Response {
    let found = async {
        let Some(found) = state.store.pacticipant(&pacticipant).await? else {
            return Ok(None);
        };
        let Some(main_branch) = found.main_branch else {
            return Ok(Some(None));
        };
        let head = match state
            .store
            .latest_version(&pacticipant, LatestVersion::OnBranch(main_branch.clone()))
            .await?
        {
            Some(head) => Some(head),
            // A main branch kept as a tag, as older clients did.
            None => {
                state
                    .store
                    .latest_version(&pacticipant, LatestVersion::WithTag(main_branch))
                    .await?
            }
        };
        Ok::<_, crate::error::ApiError>(Some(head))
    };
    let head = match found.await {
        Ok(None) => return respond(&state, &Badge::error("pacticipant", "not found"), NO_CACHE),
        Ok(Some(None)) => {
            return respond(
                &state,
                &Badge::error("main branch version", "not found"),
                NO_CACHE,
            );
        }
        Ok(Some(Some(head))) => head,
        Err(error) => return failed(&state, &error),
    };
    let query = MatrixQuery {
        selectors: vec![VersionSelector {
            pacticipant,
            version: Some(head.number),
            ..VersionSelector::default()
        }],
        latest_by: Some(matrix_query::LatestBy::Cvp),
        scope: Some(Scope {
            latest: true,
            main_branch: true,
            ..Scope::default()
        }),
        ignore: Vec::new(),
        success: None,
        limit: matrix_query::NO_LIMIT,
    };
    match super::matrix::answer(&state, &query).await {
        Ok(matrix) => respond(
            &state,
            &Badge::can_i_merge(matrix.summary.deployable),
            CAN_I_MERGE_CACHE,
        ),
        Err(error) => failed(&state, &error),
    }
}

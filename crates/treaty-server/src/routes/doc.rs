//! `/doc/{rel}`: a short page for each relation the resources link with the
//! `pb` prefix (every resource's `curies` points here, as the Pact Broker's
//! do). The relations are the ones the Pact Broker documents; any other
//! relation gets a page that says so and points at the API description.
//!
//! `/problems/{slug}`: the page of each problem type, where the `type` of
//! every error answer leads (RFC 9457: what it means and how to fix it).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::{ApiError, ApiResult, PROBLEM_TYPES};
use crate::path::Path;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/doc/{rel}", get(page))
        .route("/problems/{slug}", get(problem_page))
}

#[derive(Template)]
#[template(path = "doc/relation.html")]
struct Page<'a> {
    title: String,
    paragraphs: Vec<&'a str>,
    whitelist: Option<&'static str>,
    openapi: String,
}

#[derive(Debug, Deserialize)]
struct DocQuery {
    /// Where the link was (`index`, `pact`, ...); a relation reads the same
    /// everywhere here, so it only names the page.
    #[allow(dead_code)]
    context: Option<String>,
}

/// Relations documented under another name, as the Pact Broker maps them.
fn canonical(rel: &str) -> &str {
    match rel {
        "webhooks-create" | "webhooks-webhooks" | "webhook" | "create" => "webhooks",
        "can-i-deploy-pacticipant-version-to-tag"
        | "can-i-deploy-pacticipant-version-to-environment" => "can-i-deploy",
        "pacticipant" => "pacticipants",
        other => other,
    }
}

/// What each documented relation leads to.
pub const RELATIONS: &[(&str, &str)] = &[
    ("self", "The resource itself."),
    (
        "publish-pact",
        "PUT a pact here to publish it for a consumer version: the URL names the provider, the consumer and the consumer version. Publishing through publish-contracts is preferred: it records the version's branch and tags in the same request.",
    ),
    (
        "publish-contracts",
        "POST a consumer version's branch, tags and contracts here to publish them in one request; the answer's notices say what happened and what to do next.",
    ),
    (
        "latest-pact-versions",
        "The latest pact of every consumer and provider pair.",
    ),
    (
        "tagged-pact-versions",
        "Every version of a pact whose consumer version carries a tag.",
    ),
    (
        "branch-pact-versions",
        "Every version of a pact whose consumer version is on a branch.",
    ),
    (
        "latest-branch-pact-versions",
        "The latest version of a pact from a consumer branch.",
    ),
    (
        "main-branch-pact-versions",
        "Every version of a pact from the consumer's main branch.",
    ),
    (
        "latest-main-branch-pact-versions",
        "The latest version of a pact from the consumer's main branch.",
    ),
    ("provider-pacts", "Every pact version of a provider."),
    (
        "provider-pacts-with-tag",
        "A provider's pact versions whose consumer versions carry a tag.",
    ),
    (
        "provider-pacts-with-branch",
        "A provider's pact versions from a consumer branch.",
    ),
    (
        "provider-pacts-with-main-branch",
        "A provider's pact versions from each consumer's main branch.",
    ),
    (
        "latest-provider-pacts",
        "The latest pact of each consumer of a provider.",
    ),
    (
        "latest-provider-pacts-with-tag",
        "The latest pact with a consumer version tag for each consumer of a provider.",
    ),
    (
        "latest-provider-pacts-with-branch",
        "The latest pact from a consumer branch for each consumer of a provider.",
    ),
    (
        "latest-provider-pacts-with-main-branch",
        "The latest pact from the main branch of each consumer of a provider.",
    ),
    (
        "provider-pacts-for-verification",
        "POST the consumer version selectors (and the provider version's branch, for pending and WIP pacts) to get the pacts a provider should verify, each with why it was selected and whether it is pending.",
    ),
    (
        "pending-provider-pacts",
        "Pacts the provider has not yet verified successfully: their failures do not fail the provider's build.",
    ),
    (
        "pacticipants",
        "The applications the broker knows, consumers and providers alike (pacticipants). POST one to create it; a pacticipant can also be read, replaced (PUT), updated (PATCH) or deleted at its own URL.",
    ),
    (
        "latest-version",
        "The most recently created version of a pacticipant.",
    ),
    (
        "latest-tagged-version",
        "The most recently created version of a pacticipant that carries a tag.",
    ),
    (
        "pacticipant-version",
        "A version of a pacticipant: read it, create or replace it (PUT), update it (PATCH), or delete it.",
    ),
    (
        "pacticipant-version-tag",
        "A tag on a version: PUT to tag the version (creating the pacticipant and version when missing), DELETE to remove the tag.",
    ),
    (
        "pacticipant-branch",
        "A branch of a pacticipant: read it or delete it (its versions stay).",
    ),
    (
        "pacticipant-branch-version",
        "A version on a branch: PUT to add the version to the branch (it becomes the branch's head), DELETE to remove it from the branch.",
    ),
    (
        "environments",
        "The environments applications are deployed or released to. POST one to create it.",
    ),
    (
        "environment",
        "An environment: read it, replace it (PUT) or delete it; it links to what is deployed and released there.",
    ),
    (
        "webhooks",
        "Webhooks: HTTP requests the broker makes when a contract is published or changes, or a verification result is published. POST one to create it; each can be read, replaced, deleted and executed as a test.",
    ),
    (
        "integrations",
        "Every consumer and provider pair that has a pact, most recently active first. DELETE a pair's integration to remove its pacts and verifications.",
    ),
    (
        "metrics",
        "Counts of what the broker holds (JSON). A Prometheus scraper that asks for OpenMetrics or text/plain gets Treaty's request, database, webhook and deployment metrics instead.",
    ),
    (
        "can-i-deploy",
        "Whether an application version can be deployed to an environment (or to the versions carrying a tag): the verification results between it and what runs there, and the verdict.",
    ),
    (
        "matrix",
        "The verification results between versions of consumers and providers, as rows, with the verdict for the versions asked about.",
    ),
    ("consumer", "The consumer of the pact."),
    ("provider", "The provider of the pact."),
    (
        "consumer-version",
        "The consumer version that published the pact.",
    ),
    (
        "pact-versions",
        "The pacts a version published, one per provider.",
    ),
    ("all-pact-versions", "Every version of this pact."),
    ("latest-pact-version", "The latest version of this pact."),
    (
        "diff",
        "The differences between this pact's content and another version's.",
    ),
    (
        "diff-previous-distinct",
        "The differences between this pact's content and the content published before it.",
    ),
    (
        "matrix-for-consumer-version",
        "The matrix rows of the consumer version that published this pact.",
    ),
    (
        "pact-webhooks",
        "The webhooks of this pact's consumer and provider.",
    ),
    (
        "provider-states",
        "The provider states the provider's pacts ask for.",
    ),
    (
        "publish-verification-results",
        "POST a verification result of this pact here: success, the provider version, and optionally its branch, test results and build URL.",
    ),
    (
        "tag-prod-version",
        "PUT here to tag the consumer version prod.",
    ),
    ("tag-version", "PUT here to tag the consumer version."),
    (
        "can-i-deploy-badge",
        "A badge (SVG) that says whether the latest version with a tag can be deployed to an environment.",
    ),
    (
        "label",
        "A label on a pacticipant: PUT to add it, DELETE to remove it.",
    ),
    ("versions", "The versions of a pacticipant, newest first."),
    (
        "latest-verification-results-where-pacticipant-is-consumer",
        "The latest verification results of the pacts this consumer version published.",
    ),
];

/// The webhooks page's section that validation errors point at.
const WHITELIST: &str = "A webhook's method, URL scheme and host must be allowed: Treaty serve's --webhook-allowed-methods (POST by default), --webhook-allowed-schemes (https by default) and --webhook-allowed-hosts (any public host by default; a host resolving to an internal address must be listed). A webhook that is not allowed is refused when it is saved, with the field that is not allowed named.";

async fn page(
    State(_state): State<AppState>,
    base: BaseUrl,
    Path(rel): Path<String>,
    Query(_query): Query<DocQuery>,
) -> ApiResult<Response> {
    let name = canonical(&rel);
    let found = RELATIONS.iter().find(|(r, _)| *r == name);
    let (status, title, paragraphs) = match found {
        Some((r, text)) => (StatusCode::OK, format!("pb:{r}"), vec![*text]),
        // As the Pact Broker: a page, which says there is no more to read.
        None => (
            StatusCode::OK,
            format!("pb:{rel}"),
            vec![
                "Treaty has no page of its own for this relation: its resource is described with every other route below.",
            ],
        ),
    };
    html(
        status,
        &Page {
            title,
            paragraphs,
            whitelist: (name == "webhooks").then_some(WHITELIST),
            openapi: base.join("/openapi.json"),
        },
    )
}

/// The page of a problem type; a slug no error answer uses is a 404.
async fn problem_page(base: BaseUrl, Path(slug): Path<String>) -> ApiResult<Response> {
    let problem = PROBLEM_TYPES
        .iter()
        .find(|p| p.slug == slug)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "No problem type named '{slug}': the type of an error answer names one"
            ))
        })?;
    html(
        StatusCode::OK,
        &Page {
            title: problem.title.to_owned(),
            paragraphs: vec![problem.meaning],
            whitelist: None,
            openapi: base.join("/openapi.json"),
        },
    )
}

fn html(status: StatusCode, page: &Page<'_>) -> ApiResult<Response> {
    let body = page
        .render()
        .map_err(|e| ApiError::Internal(format!("rendering a doc page: {e}")))?;
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(response)
}

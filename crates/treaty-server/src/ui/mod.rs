//! The web UI: server-rendered pages over the same store the API reads.
//!
//! Every page is an askama template (HTML-escaped by default) filled from a
//! view model built here; nothing is loaded from outside (one stylesheet and
//! one small script, served below), so the UI works where there is no internet. Pages only
//! read, except the forms of signed-in users allowed to act (`manage.rs`):
//! those post to `/ui/...` routes that need the same roles as the API routes
//! they stand for (`treaty_domain::access::route_access`), carry a CSRF token
//! (`forms.rs`), call the same store operations and are audited like them.

pub mod api_browser;
mod application;
mod assets;
mod contract;
mod deployment_actions;
mod deployments;
pub(crate) mod environment;
mod forms;
mod home;
mod hooks;
mod integration_matrix;
mod integration_status;
mod integrations;
mod manage;
mod network;
mod provider_contract;
pub mod session;
mod sign_in;
mod verdicts;
mod version;
mod view;

pub(crate) use view::Links;

use askama::Template;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::AppState;
use crate::error::ApiError;

pub use contract::for_version as contract_page;
pub use forms::Viewer;
pub use home::page as home;
pub use sign_in::challenge as sign_in_page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ui", get(home::page))
        .route("/ui/assets/treaty.css", get(assets::stylesheet))
        .route("/ui/assets/copy.js", get(assets::copy_script))
        .route("/ui/applications/{name}", get(application::page))
        .route(
            "/ui/applications/{name}/versions/{version}",
            get(version::page),
        )
        .route(
            "/ui/applications/{name}/provider-contracts/{version}",
            get(provider_contract::page),
        )
        .route(
            "/ui/applications/{name}/provider-contracts/{version}/comparisons/{consumer}/{consumer_version}",
            get(provider_contract::comparison),
        )
        .route("/ui/environments/{name}", get(environment::page))
        .route("/ui/network", get(network::page))
        .route("/ui/contracts/{provider}/{consumer}", get(contract::page))
        .route("/ui/deployments", get(deployments::list))
        .route("/ui/deployments/{id}", get(deployments::detail))
        .route("/ui/sign-in", get(sign_in::page).post(sign_in::submit))
        .route("/ui/sign-out", post(sign_in::sign_out))
        .merge(manage::router())
        .merge(deployment_actions::router())
        .route("/ui/integrations", get(integrations::page))
        .route(
            "/ui/integrations/{provider}/{consumer}",
            get(integration_matrix::page),
        )
}

/// Whether a request is a browser's: it asks for HTML. API clients ask for
/// HAL or JSON, and curl for anything (`*/*`), and get the API.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The UI's pages allow their own stylesheet and inline SVG, nothing else:
/// no scripts, no outside origins, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The one page with a script (the Copy button of a token just created,
/// `assets/copy.js`) also allows Treaty's own script files; never inline
/// script, never another origin. Every other page stays script-free.
const CONTENT_SECURITY_POLICY_WITH_SCRIPT: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

type PageResult = Result<Response, ApiError>;

/// Renders a page with the UI's headers.
fn html(status: StatusCode, page: &impl Template) -> PageResult {
    render(status, page, CONTENT_SECURITY_POLICY)
}

/// Renders the page that loads Treaty's own script (see
/// `CONTENT_SECURITY_POLICY_WITH_SCRIPT`).
fn html_with_script(status: StatusCode, page: &impl Template) -> PageResult {
    render(status, page, CONTENT_SECURITY_POLICY_WITH_SCRIPT)
}

fn render(status: StatusCode, page: &impl Template, policy: &'static str) -> PageResult {
    let body = page
        .render()
        .map_err(|e| ApiError::Internal(format!("rendering a page: {e}")))?;
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn ok(page: &impl Template) -> PageResult {
    html(StatusCode::OK, page)
}

#[derive(Template)]
#[template(path = "ui/not_found.html")]
struct NotFound {
    nav: view::Nav,
    title: String,
    detail: String,
}

/// A 404 page saying what was not found and where to go instead.
fn not_found(nav: &view::Nav, title: &str, detail: String) -> PageResult {
    html(
        StatusCode::NOT_FOUND,
        &NotFound {
            nav: nav.clone(),
            title: title.to_owned(),
            detail,
        },
    )
}

//! Cross-cutting layers: rendering and logging errors, common headers, panics.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::{AppState, PACT_BROKER_API_VERSION};

/// Turns an `ApiError` left in a response's extensions into its problem
/// document, logs it once, and adds the headers every response carries.
pub async fn render_errors(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let (parts, body) = request.into_parts();
    let base = BaseUrl::from_parts(&parts, state.config.base_url.as_deref());
    let request = Request::from_parts(parts, body);

    let mut response = next.run(request).await;
    if let Some(error) = response.extensions_mut().remove::<Arc<ApiError>>() {
        let reference = uuid::Uuid::new_v4().simple().to_string();
        match error.as_ref() {
            ApiError::Internal(cause) => {
                tracing::error!(http.method = %method, http.path = %path, error.reference = %reference, "request failed: {cause}");
            }
            ApiError::Panic => {}
            client_error => {
                tracing::debug!(http.method = %method, http.path = %path, status = %client_error.status(), "client error: {client_error}");
            }
        }
        let body = error.body(&base.0, &path, &reference);
        // Clients that ask for problem+json get it; everyone else gets the
        // content type the Pact Broker sends, which the Pact clients' own
        // contracts check. The body is a problem document either way.
        let wants_problem = accept.contains("application/problem+json");
        let content_type = if wants_problem {
            "application/problem+json;charset=utf-8"
        } else {
            error.legacy_content_type()
        };
        let status = response.status();
        let mut rendered = (status, body.to_string()).into_response();
        rendered
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        // Every value of each header (a 401 carries one challenge per scheme).
        for (name, value) in response.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                rendered.headers_mut().append(name.clone(), value.clone());
            }
        }
        if let ApiError::TooManyRequests {
            retry_after_seconds,
            ..
        } = error.as_ref()
            && !rendered.headers().contains_key(header::RETRY_AFTER)
            && let Ok(value) = HeaderValue::from_str(&retry_after_seconds.to_string())
        {
            rendered.headers_mut().insert(header::RETRY_AFTER, value);
        }
        // What inner layers left for outer ones (who asked, for the API browser).
        *rendered.extensions_mut() = std::mem::take(response.extensions_mut());
        response = rendered;
    }
    let headers = response.headers_mut();
    headers.insert(
        "x-pact-broker-version",
        HeaderValue::from_static(PACT_BROKER_API_VERSION),
    );
    headers.insert(
        "x-treaty-version",
        HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
    );
    headers
        .entry(header::VARY)
        .or_insert(HeaderValue::from_static("Accept"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
    // Nothing Treaty serves is meant to be framed, sniffed or to run scripts
    // from elsewhere; a page that needs more sets its own policy.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; frame-ancestors 'none'",
        ));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    response
}

/// Answers 503 when a request is not answered within `--request-timeout`.
/// Dropping the handler's future stops its work at its next `.await`; work
/// that would not reach one for long (CPU-heavy) runs on blocking threads
/// with a deadline of its own (`crate::heavy`), so it stops too.
pub async fn time_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.config.request_timeout;
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(http.method = %method, http.path = %path, "request stopped after {}", humantime::format_duration(limit));
            ApiError::RequestTimeout { limit }.into_response()
        }
    }
}

/// The answer to a panicking handler: a 500 problem document. The panic hook
/// installed by the binary has already logged the panic with its location.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    ApiError::Panic.into_response()
}

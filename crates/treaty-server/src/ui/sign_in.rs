//! The sign-in page (a basic user's name and password, or an API token),
//! and signing out.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::Deserialize;
use treaty_domain::access;

use super::session::{self, Kind};
use super::view::Links;
use crate::AppState;
use crate::access::{TypedCredentials, sign_in_typed};
use crate::base_url::BaseUrl;
use crate::error::ApiError;

#[derive(Template)]
#[template(path = "ui/sign_in.html")]
struct SignInPage {
    links: Links,
    basic: bool,
    tokens: bool,
    open: bool,
    csrf: String,
    next: String,
    problem: Option<String>,
}

/// Where to go after signing in: a path of this server only, never a URL
/// of another site (`//evil.example`, `https://...`).
fn local_target(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.starts_with("/ui/sign-") =>
        {
            path.to_owned()
        }
        _ => "/ui".to_owned(),
    }
}

async fn render(
    state: &AppState,
    base: &BaseUrl,
    status: StatusCode,
    next: &str,
    problem: Option<String>,
) -> Result<Response, ApiError> {
    let key = session::key(state).await?;
    let (nonce, cookie) = session::sign_in_nonce(base);
    let auth = &state.config.auth;
    let page = SignInPage {
        links: Links::new(base),
        basic: auth.basic.is_some() || auth.basic_read_only.is_some(),
        tokens: auth.tokens || auth.admin_token.is_some(),
        open: !auth.enabled(),
        csrf: session::sign_in_token(&key, &nonce),
        next: local_target(Some(next)),
        problem,
    };
    let mut response = super::html(status, &page)?;
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// The answer to a browser that must sign in first (401): the sign-in page,
/// which returns to `target` afterwards.
pub async fn challenge(state: &AppState, base: &BaseUrl, target: &str) -> Response {
    match render(state, base, StatusCode::UNAUTHORIZED, target, None).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /ui/sign-in`
pub async fn page(
    State(state): State<AppState>,
    base: BaseUrl,
    Query(query): Query<NextQuery>,
) -> Result<Response, ApiError> {
    render(
        &state,
        &base,
        StatusCode::OK,
        query.next.as_deref().unwrap_or("/ui"),
        None,
    )
    .await
}

/// `POST /ui/sign-in`: checks the credentials as the API does (throttle
/// included), then starts a session and goes where the user was going.
pub async fn submit(
    State(state): State<AppState>,
    base: BaseUrl,
    request: Request,
) -> Result<Response, ApiError> {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |ConnectInfo(a)| a.ip().to_string());
    let nonce = session::cookie(request.headers(), session::SIGN_IN_COOKIE).unwrap_or_default();
    let bytes = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|e| ApiError::BadRequest(format!("cannot read the form: {e}")))?;
    let field = |name: &str| {
        form_urlencoded::parse(&bytes)
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    let next = local_target(Some(&field("next")));
    let key = session::key(&state).await?;
    if nonce.is_empty()
        || !access::same_secret(&field("csrf"), &session::sign_in_token(&key, &nonce))
    {
        return render(
            &state,
            &base,
            StatusCode::FORBIDDEN,
            &next,
            Some("The sign-in form expired or came from another page: try again.".to_owned()),
        )
        .await;
    }
    let token = field("token");
    let (typed, kind, secret) = if token.trim().is_empty() {
        let (user, password) = (field("user"), field("password"));
        (
            TypedCredentials::Basic {
                user,
                password: password.clone(),
            },
            Kind::Basic,
            password,
        )
    } else {
        let token = token.trim().to_owned();
        let admin = state
            .config
            .auth
            .admin_token
            .as_ref()
            .is_some_and(|t| access::same_secret(&token, t.expose_secret()));
        (
            TypedCredentials::Token(token.clone()),
            if admin { Kind::Admin } else { Kind::Token },
            token,
        )
    };
    let identity = match sign_in_typed(&state, typed, &address).await {
        Ok(Some(identity)) => identity,
        Ok(None) | Err(ApiError::Unauthorized(_)) => {
            return render(
                &state,
                &base,
                StatusCode::UNAUTHORIZED,
                &next,
                Some(
                    "Those credentials are not known, or the token was revoked or expired."
                        .to_owned(),
                ),
            )
            .await;
        }
        Err(other) => return Err(other),
    };
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, base.join(&next))],
    )
        .into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        session::start(&key, &base, kind, &identity, &secret),
    );
    headers.append(
        header::SET_COOKIE,
        session::clear(&base, session::SIGN_IN_COOKIE),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `POST /ui/sign-out`: removes the session cookie, then shows the sign-in page.
pub async fn sign_out(base: BaseUrl, _form: super::forms::Posted) -> Response {
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, base.join("/ui/sign-in"))],
    )
        .into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::clear(&base, session::COOKIE));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_sign_in_only_a_path_of_this_server() {
        assert_eq!(
            local_target(Some("/ui/environments/production")),
            "/ui/environments/production"
        );
        assert_eq!(local_target(Some("//evil.example/x")), "/ui");
        assert_eq!(local_target(Some("/\\evil.example")), "/ui");
        assert_eq!(local_target(Some("https://evil.example")), "/ui");
        assert_eq!(local_target(Some("/ui/sign-out")), "/ui");
        assert_eq!(local_target(None), "/ui");
    }
}

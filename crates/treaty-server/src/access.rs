//! Authentication, the role check every route gets from here, and the audit
//! entry every write leaves.
//!
//! Credentials: HTTP basic auth (a read-write and a read-only user, as the
//! Pact Broker offers) and bearer tokens (the admin token given at start,
//! and tokens created through `/tokens`, stored as hashes). Unknown users,
//! wrong passwords and unknown tokens are all answered the same way, after
//! the same work; failed sign-ins are throttled per address and user name.
//!
//! What a request needs comes from the route the router matched and its
//! path parameters (`treaty_domain::access::route_access`), never from the
//! text of the path; a write whose pacticipant is in its body or in the
//! record it changes is checked by its handler, through [`Caller`], on the
//! body it parsed or the record it loaded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use treaty_domain::access::{self, ActingFor, Identity, Role, RouteAccess};
use treaty_store::NewAuditEntry;
use treaty_store::audit::RequestAudit;

use crate::AppState;
use crate::audit_log::MAX_TARGET_BYTES;
use crate::base_url::BaseUrl;
use crate::error::ApiError;

/// Who may sign in, and how.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// The read-write basic-auth user.
    pub basic: Option<(String, SecretString)>,
    /// The read-only basic-auth user.
    pub basic_read_only: Option<(String, SecretString)>,
    /// The admin bearer token given at start, to bootstrap the others.
    pub admin_token: Option<SecretString>,
    /// Bearer tokens created through `/tokens` are accepted.
    pub tokens: bool,
}

impl AuthConfig {
    /// Whether any credentials are required at all.
    pub fn enabled(&self) -> bool {
        self.basic_enabled() || self.bearer_enabled()
    }

    fn basic_enabled(&self) -> bool {
        self.basic.is_some() || self.basic_read_only.is_some()
    }

    fn bearer_enabled(&self) -> bool {
        self.admin_token.is_some() || self.tokens
    }

    /// One `WWW-Authenticate` challenge per scheme that can succeed: a
    /// browser reads only a header it can parse, so `Basic` gets its own
    /// (and then asks for a user name and password).
    fn challenges(&self) -> Vec<HeaderValue> {
        let mut challenges = Vec::new();
        if self.basic_enabled() {
            challenges.push(HeaderValue::from_static(
                "Basic realm=\"Treaty\", charset=\"UTF-8\"",
            ));
        }
        if self.bearer_enabled() {
            challenges.push(HeaderValue::from_static("Bearer realm=\"Treaty\""));
        }
        challenges
    }
}

/// The caller when authentication is off: anyone may do anything.
fn anonymous() -> Identity {
    Identity {
        name: "anonymous".to_owned(),
        role: Role::Admin,
        pacticipants: None,
    }
}

fn anonymous_reader() -> Identity {
    Identity {
        name: "anonymous".to_owned(),
        role: Role::Read,
        pacticipants: None,
    }
}

fn unauthorized() -> ApiError {
    ApiError::Unauthorized(
        "Authentication required: send a bearer token (--broker-token, PACT_BROKER_TOKEN) or basic auth credentials".to_owned(),
    )
}

/// The credentials of a request, as sent.
enum Credentials {
    Bearer(String),
    Basic { user: String, password: String },
    Unknown,
}

/// Reads the `Authorization` header; the scheme is case-insensitive (RFC 9110).
fn credentials(headers: &HeaderMap) -> Option<Credentials> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    Some(if scheme.eq_ignore_ascii_case("bearer") {
        Credentials::Bearer(rest.to_owned())
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .unwrap_or_default();
        let (user, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
        Credentials::Basic {
            user: user.to_owned(),
            password: password.to_owned(),
        }
    } else {
        Credentials::Unknown
    })
}

/// The identity the credentials prove; `Err` for wrong ones, `Ok(None)` for none.
async fn identify(
    state: &AppState,
    credentials: Option<&Credentials>,
) -> Result<Option<Identity>, ApiError> {
    let auth = &state.config.auth;
    let Some(credentials) = credentials else {
        return Ok(None);
    };
    match credentials {
        Credentials::Bearer(token) => {
            let admin = auth
                .admin_token
                .as_ref()
                .is_some_and(|t| access::same_secret(token, t.expose_secret()));
            if admin {
                return Ok(Some(Identity {
                    name: "admin".to_owned(),
                    role: Role::Admin,
                    pacticipants: None,
                }));
            }
            if auth.tokens
                && let Some(stored) = state
                    .store
                    .token_by_hash(&access::token_hash(token))
                    .await?
            {
                let live = stored.revoked_at.is_none()
                    && stored.expires_at.is_none_or(|at| at > Utc::now());
                if live {
                    return Ok(Some(Identity {
                        name: stored.name,
                        role: stored.role,
                        pacticipants: stored.pacticipants,
                    }));
                }
            }
            Err(unauthorized())
        }
        Credentials::Basic { user, password } => {
            // Both users are always compared, so timing says nothing about which exists.
            let matches = |configured: &Option<(String, SecretString)>| {
                configured.as_ref().is_some_and(|(name, secret)| {
                    access::same_secret(user, name)
                        & access::same_secret(password, secret.expose_secret())
                })
            };
            let (write, read) = (matches(&auth.basic), matches(&auth.basic_read_only));
            if write || read {
                return Ok(Some(Identity {
                    name: user.clone(),
                    role: if write { Role::Write } else { Role::Read },
                    pacticipants: None,
                }));
            }
            Err(unauthorized())
        }
        Credentials::Unknown => Err(unauthorized()),
    }
}

/// The request as the access layer sees it.
struct Incoming {
    method: Method,
    /// The path and query, cut to a bounded length, for the audit log.
    target: String,
    address: String,
    access: RouteAccess,
    /// A route of the web UI: its forms post URL-encoded bodies with a CSRF
    /// token, and its session cookie signs in.
    ui_route: bool,
    /// The caller is a browser asking for a page.
    wants_html: bool,
}

impl Incoming {
    /// `public_badges`: `--public-badge-access`, which opens the badge routes.
    fn of(request: &Request, public_badges: bool) -> Self {
        let method = request.method().clone();
        let mut target = request.uri().path_and_query().map_or_else(
            || request.uri().path().to_owned(),
            |pq| pq.as_str().to_owned(),
        );
        treaty_store::audit::truncate(&mut target, MAX_TARGET_BYTES);
        let address = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |ConnectInfo(a)| a.ip().to_string());
        // A request no route matched gets a 404 (or 405) and changes nothing:
        // reading that answer needs only the read role.
        let ui_route = request
            .extensions()
            .get::<MatchedPath>()
            .is_some_and(|route| route.as_str().starts_with("/ui"));
        let wants_html = crate::ui::wants_html(request.headers());
        let access = match request.extensions().get::<MatchedPath>() {
            Some(route) => {
                access::route_access_with(method.as_str(), route.as_str(), public_badges)
                    .unwrap_or(RouteAccess::UNLISTED_WRITE)
            }
            None => RouteAccess::UNROUTED,
        };
        Self {
            method,
            target,
            address,
            access,
            ui_route,
            wants_html,
        }
    }

    /// A session cookie signs in reads, and the UI's forms (which carry a
    /// CSRF token); API writes need credentials sent on purpose.
    fn session_may_sign_in(&self) -> bool {
        !self.is_write() || self.ui_route
    }

    fn is_write(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD | Method::OPTIONS)
    }

    /// Writes (and administration) leave an audit entry, whatever their outcome.
    fn audited(&self) -> bool {
        self.is_write() && self.access.role.is_some_and(|role| role > Role::Read)
    }

    fn entry(&self, actor: String, status: u16, summary: String) -> NewAuditEntry {
        NewAuditEntry {
            actor,
            address: self.address.clone(),
            method: self.method.to_string(),
            target: self.target.clone(),
            status,
            summary,
        }
    }
}

/// Checks who calls and whether they may; then runs the request, and leaves
/// an audit entry for every write, whatever its outcome: inside the write's
/// own transaction when it commits one, after the answer otherwise.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let incoming = Incoming::of(&request, state.config.public_badge_access);
    let (parts, body) = request.into_parts();
    let base = BaseUrl::from_parts(&parts, state.config.base_url.as_deref());
    let request = Request::from_parts(parts, body);
    let (mut request, identity, acting) = match check(&state, request, &incoming).await {
        Ok(checked) => checked,
        Err(Refusal { error, actor }) => {
            let mut response = error.into_response();
            // A browser that must sign in gets the sign-in page with the
            // challenge: it shows its own password prompt first (basic
            // auth), and the page when that is cancelled or not offered.
            if response.status() == StatusCode::UNAUTHORIZED && incoming.wants_html {
                response = crate::ui::sign_in_page(&state, &base, &incoming.target).await;
            }
            if response.status() == StatusCode::UNAUTHORIZED {
                for challenge in state.config.auth.challenges() {
                    response
                        .headers_mut()
                        .append(header::WWW_AUTHENTICATE, challenge);
                }
            }
            // A refused write is audited too: who tried, and that it was refused.
            if incoming.audited() {
                let entry = incoming.entry(
                    actor.unwrap_or_else(|| "unauthenticated".to_owned()),
                    response.status().as_u16(),
                    "refused".to_owned(),
                );
                refused(&state, entry).await;
            }
            return response;
        }
    };
    // Without sign-in there is nobody to tell apart (a CI fleet often shares
    // one address), so the limit applies to identities only.
    if let Some(limiter) = state
        .rate_limiter
        .as_ref()
        .filter(|_| state.config.auth.enabled())
    {
        let caller = if identity.name == "anonymous" {
            format!("anonymous callers from {}", incoming.address)
        } else {
            identity.name.clone()
        };
        if let Err(wait) = limiter.check(&caller) {
            return too_many_requests(caller, wait);
        }
    }
    let actor = identity.name.clone();
    let limited_handler_check = (incoming.access.acting_for == ActingFor::Handler
        && identity.pacticipants.is_some())
    .then(ActingChecked::default);
    if let Some(checked) = &limited_handler_check {
        request.extensions_mut().insert(checked.clone());
    }
    request.extensions_mut().insert(identity.clone());
    // Who asked, for the page a browser gets instead of the JSON answer
    // (`ui::api_browser`, outside this layer).
    let session = request
        .extensions()
        .get::<crate::ui::session::Session>()
        .cloned();
    let renewal = match request.extensions().get::<crate::ui::session::Session>() {
        Some(session) => match crate::ui::session::key(&state).await {
            Ok(key) => session.renewal(&key, &base),
            Err(error) => return error.into_response(),
        },
        None => None,
    };
    let mut response = run(
        &state,
        request,
        next,
        &incoming,
        actor,
        limited_handler_check,
        acting,
    )
    .await;
    if let Some(cookie) = renewal {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response.extensions_mut().insert(identity);
    if let Some(session) = session {
        response.extensions_mut().insert(session);
    }
    response
}

/// Runs a request that may go on, in its audit scope when it is audited.
async fn run(
    state: &AppState,
    request: Request,
    next: Next,
    incoming: &Incoming,
    actor: String,
    limited_handler_check: Option<ActingChecked>,
    acting: Option<String>,
) -> Response {
    if !incoming.audited() {
        return next.run(request).await;
    }
    let key = match state.audit_key().await {
        Ok(key) => key.clone(),
        Err(error) => {
            return ApiError::Internal(format!("cannot read the audit log's key: {error}"))
                .into_response();
        }
    };
    let audit = RequestAudit::new(
        incoming.entry(actor.clone(), 0, acting.clone().unwrap_or_default()),
        key.clone(),
    );
    let response = audit.scope(next.run(request)).await;
    let status = response.status();
    if let Some(checked) = limited_handler_check
        && status.is_success()
        && !checked.0.load(Ordering::SeqCst)
    {
        tracing::error!(
            http.method = %incoming.method,
            "{} {} wrote for an identity limited to some pacticipants without its handler checking whom it acts for",
            incoming.method,
            incoming.target
        );
    }
    if !audit.committed() {
        let entry = audit.entry();
        let summary = match (entry.summary.is_empty(), status.canonical_reason()) {
            (true, reason) => reason.unwrap_or("").to_owned(),
            (false, reason) => format!("{}: {}", entry.summary, reason.unwrap_or("")),
        };
        let entry = incoming.entry(actor, status.as_u16(), summary);
        let stored = if matches!(status.as_u16(), 401 | 403 | 415 | 429) {
            refused(state, entry).await;
            Ok(())
        } else {
            state
                .audit_log
                .append(&state.store, &key, entry)
                .await
                .map(|_| ())
        };
        if let Err(error) = stored {
            tracing::error!(
                "cannot write the audit entry of {} {}: {error}",
                incoming.method,
                incoming.target
            );
        }
    }
    response
}

async fn refused(state: &AppState, entry: NewAuditEntry) {
    let key = match state.audit_key().await {
        Ok(key) => key.clone(),
        Err(error) => {
            tracing::error!("cannot read the audit log's key: {error}");
            return;
        }
    };
    let (method, target) = (entry.method.clone(), entry.target.clone());
    if let Err(error) = state.audit_log.refused(&state.store, &key, entry).await {
        tracing::error!("cannot write the audit entry of {method} {target}: {error}");
    }
}

/// A 429; its `Retry-After` is added where errors are rendered.
fn too_many_requests(caller: String, wait: std::time::Duration) -> Response {
    ApiError::TooManyRequests {
        caller,
        retry_after_seconds: wait.as_secs() + 1,
    }
    .into_response()
}

type Checked = (Request, Identity, Option<String>);

/// Why a request may not go on, and who asked (when known).
struct Refusal {
    error: ApiError,
    actor: Option<String>,
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Self { error, actor: None }
    }
}

async fn check(
    state: &AppState,
    request: Request,
    incoming: &Incoming,
) -> Result<Checked, Refusal> {
    let (mut parts, body) = request.into_parts();
    if incoming.is_write() {
        refuse_cross_site(state, &parts)?;
        // The UI's forms post URL-encoded bodies and prove where they come
        // from with their CSRF token instead.
        if !incoming.ui_route {
            require_json_body(&parts.headers, &body)?;
        }
    }
    let acting = match incoming.access.acting_for {
        ActingFor::PathParameter(name) => {
            let parameters = RawPathParams::from_request_parts(&mut parts, state)
                .await
                .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
            parameters
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_owned())
        }
        ActingFor::Nobody | ActingFor::Handler => None,
    };
    let mut request = Request::from_parts(parts, body);
    if !state.config.auth.enabled() {
        return Ok((request, anonymous(), acting));
    }
    let credentials = credentials(request.headers());
    let session = if credentials.is_none() && incoming.session_may_sign_in() {
        crate::ui::session::from_headers(state, request.headers()).await?
    } else {
        None
    };
    let session_identity = session.as_ref().map(|s| s.identity.clone());
    if let Some(session) = session {
        request.extensions_mut().insert(session);
    }
    let Some(needed) = incoming.access.role else {
        // What anyone may call does not care about credentials, right or wrong.
        let identity = match session_identity {
            Some(identity) => identity,
            None => identify(state, credentials.as_ref())
                .await
                .ok()
                .flatten()
                .unwrap_or_else(anonymous_reader),
        };
        return Ok((request, identity, acting));
    };
    let identity = match session_identity {
        Some(identity) => Some(identity),
        None => sign_in(state, credentials.as_ref(), &incoming.address).await?,
    };
    let Some(identity) = identity else {
        return Err(unauthorized().into());
    };
    let refuse = |error: ApiError| Refusal {
        error,
        actor: Some(identity.name.clone()),
    };
    if identity.role < needed {
        return Err(refuse(ApiError::Forbidden(format!(
            "{} has the {} role; {} {} needs {}",
            identity.name,
            identity.role.as_str(),
            incoming.method,
            request.uri().path(),
            needed.as_str()
        ))));
    }
    if needed < Role::Write || identity.pacticipants.is_none() {
        return Ok((request, identity, acting));
    }
    // An identity limited to some pacticipants.
    match (incoming.access.acting_for, &acting) {
        (ActingFor::Handler, _) => Ok((request, identity, acting)),
        (_, Some(pacticipant)) if identity.may_act_for(pacticipant) => {
            Ok((request, identity, acting))
        }
        (_, Some(pacticipant)) => Err(refuse(not_for(&identity, pacticipant))),
        (_, None) => Err(refuse(ApiError::Forbidden(format!(
            "{} is limited to some pacticipants, and {} {} is not about one of them",
            identity.name,
            incoming.method,
            request.uri().path()
        )))),
    }
}

/// Identifies the caller, throttling failed sign-ins per address and user name.
async fn sign_in(
    state: &AppState,
    credentials: Option<&Credentials>,
    address: &str,
) -> Result<Option<Identity>, Refusal> {
    let user_key = match credentials {
        Some(Credentials::Basic { user, .. }) => Some(format!("user {user}")),
        _ => None,
    };
    let address_key = format!("address {address}");
    let keys: Vec<&str> = std::iter::once(address_key.as_str())
        .chain(user_key.as_deref())
        .collect();
    if credentials.is_some()
        && let Err(wait) = state.sign_in_throttle.check(&keys)
    {
        let seconds = wait.as_secs() + 1;
        return Err(ApiError::TooManyRequests {
            caller: format!("{address} after failed sign-ins"),
            retry_after_seconds: seconds,
        }
        .into());
    }
    match identify(state, credentials).await {
        Ok(identity) => Ok(identity),
        Err(error) => {
            if matches!(error, ApiError::Unauthorized(_)) {
                state.sign_in_throttle.failed(&keys);
            }
            Err(error.into())
        }
    }
}

/// Credentials typed into the UI's sign-in form.
pub(crate) enum TypedCredentials {
    Basic { user: String, password: String },
    Token(String),
}

/// Checks credentials typed into the sign-in form exactly as the same
/// credentials sent in `Authorization` are checked, throttle included.
/// `Ok(None)` when no credentials are configured that could match.
pub(crate) async fn sign_in_typed(
    state: &AppState,
    typed: TypedCredentials,
    address: &str,
) -> Result<Option<Identity>, ApiError> {
    let credentials = match typed {
        TypedCredentials::Basic { user, password } => Credentials::Basic { user, password },
        TypedCredentials::Token(token) => Credentials::Bearer(token),
    };
    sign_in(state, Some(&credentials), address)
        .await
        .map_err(|refusal| refusal.error)
}

fn not_for(identity: &Identity, pacticipant: &str) -> ApiError {
    ApiError::Forbidden(format!(
        "{} may not act for {pacticipant}: it is limited to {}",
        identity.name,
        identity.pacticipants.clone().unwrap_or_default().join(", ")
    ))
}

/// A write from a page of another site (a browser sends its cookies and
/// cached basic credentials along) is refused: browsers say where a request
/// comes from in `Sec-Fetch-Site` and `Origin`; other clients send neither.
fn refuse_cross_site(state: &AppState, parts: &Parts) -> Result<(), ApiError> {
    let headers = &parts.headers;
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    // A browser's own word that the page is Treaty's: its forms send
    // `Origin: null` under `Referrer-Policy: no-referrer`.
    if fetch_site.as_deref() == Some("same-origin") {
        return Ok(());
    }
    if let Some(site) = fetch_site.filter(|s| s == "cross-site" || s == "same-site") {
        return Err(ApiError::Forbidden(format!(
            "Writes from another site's pages are refused (Sec-Fetch-Site: {site}): call Treaty from its own pages, or from a client outside a browser"
        )));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("").trim_end_matches('/');
        let base = BaseUrl::from_parts(parts, state.config.base_url.as_deref());
        if !same_origin(origin, &base.0) {
            return Err(ApiError::Forbidden(format!(
                "Writes from another origin are refused (Origin: {origin}, Treaty is {}): call Treaty from its own pages, or from a client outside a browser",
                origin_of(&base.0)
            )));
        }
    }
    Ok(())
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

fn same_origin(origin: &str, base: &str) -> bool {
    origin.eq_ignore_ascii_case(origin_of(base))
}

/// A write that carries a body must say it is JSON: a page of another site
/// can send a body with no type, or `text/plain`, without asking first.
fn require_json_body(headers: &HeaderMap, body: &axum::body::Body) -> Result<(), ApiError> {
    use axum::body::HttpBody;
    // A body of unknown length (chunked) counts as one.
    let has_body = !body.is_end_stream() && body.size_hint().exact() != Some(0);
    if !has_body {
        return Ok(());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let json = content_type.as_deref().is_some_and(|media| {
        media == "application/json"
            || (media.starts_with("application/") && media.ends_with("+json"))
    });
    if json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "A request body must be JSON: send Content-Type: application/json (got {})",
            content_type.map_or_else(|| "no Content-Type".to_owned(), |c| format!("'{c}'"))
        )))
    }
}

/// Marks that a handler checked whom a write acts for (see [`Caller`]).
#[derive(Clone, Default)]
struct ActingChecked(Arc<AtomicBool>);

/// The identity the access layer proved, for handlers whose write acts for
/// a pacticipant named in the body or by the record it changes: they call
/// [`Caller::may_act_for`] on what they parsed or loaded, before writing.
pub struct Caller {
    pub identity: Identity,
    checked: Option<ActingChecked>,
}

impl Caller {
    /// `Forbidden` when the caller is limited to pacticipants not including this one.
    pub fn may_act_for(&self, pacticipant: &str) -> Result<(), ApiError> {
        if let Some(checked) = &self.checked {
            checked.0.store(true, Ordering::SeqCst);
        }
        if self.identity.may_act_for(pacticipant) {
            Ok(())
        } else {
            Err(not_for(&self.identity, pacticipant))
        }
    }

    /// The caller's name for records that say who acted (`deployed_by`);
    /// `None` when nobody signed in.
    pub fn name(&self) -> Option<&str> {
        (self.identity.name != "anonymous").then_some(self.identity.name.as_str())
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let identity = parts.extensions.get::<Identity>().cloned().ok_or_else(|| {
            ApiError::Internal("no identity: the access layer did not run".into())
        })?;
        Ok(Self {
            identity,
            checked: parts.extensions.get::<ActingChecked>().cloned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_by_scheme_host_and_port() {
        assert!(same_origin(
            "http://127.0.0.1:9292",
            "http://127.0.0.1:9292"
        ));
        assert!(same_origin(
            "https://broker.example",
            "https://broker.example/prefix"
        ));
        assert!(!same_origin(
            "https://evil.example",
            "https://broker.example"
        ));
        assert!(!same_origin(
            "http://broker.example",
            "https://broker.example"
        ));
        assert!(!same_origin("null", "https://broker.example"));
    }

    #[test]
    fn the_scheme_of_credentials_is_case_insensitive() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bEaReR abc"),
        );
        assert!(matches!(credentials(&headers), Some(Credentials::Bearer(t)) if t == "abc"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("BASIC dTpw"),
        );
        assert!(matches!(
            credentials(&headers),
            Some(Credentials::Basic { user, password }) if user == "u" && password == "p"
        ));
    }

    #[test]
    fn each_enabled_scheme_gets_its_own_challenge() {
        let basic_only = AuthConfig {
            basic: Some(("u".into(), SecretString::from("p"))),
            ..AuthConfig::default()
        };
        assert_eq!(basic_only.challenges().len(), 1);
        assert!(
            basic_only.challenges()[0]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
        let both = AuthConfig {
            tokens: true,
            ..basic_only
        };
        assert_eq!(both.challenges().len(), 2);
    }
}

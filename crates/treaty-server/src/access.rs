//! Authentication, the role check every route gets from here, and the audit
//! entry every write leaves.
//!
//! Credentials: HTTP basic auth (a read-write and a read-only user, as the
//! Pact Broker offers) and bearer tokens (the admin token given at start,
//! and tokens created through `/tokens`, stored as hashes). Unknown users,
//! wrong passwords and unknown tokens are all answered the same way, after
//! the same work.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use treaty_domain::access::{self, Identity, Role};
use treaty_store::NewAuditEntry;

use crate::AppState;
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
        self.basic.is_some()
            || self.basic_read_only.is_some()
            || self.admin_token.is_some()
            || self.tokens
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

fn unauthorized() -> ApiError {
    ApiError::Unauthorized(
        "Authentication required: send a bearer token (--broker-token, PACT_BROKER_TOKEN) or basic auth credentials".to_owned(),
    )
}

/// The identity the credentials prove; `Err` for wrong ones, `Ok(None)` for none.
async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Option<Identity>, ApiError> {
    let auth = &state.config.auth;
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    if let Some(token) = value.strip_prefix("Bearer ").map(str::trim) {
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
            let live =
                stored.revoked_at.is_none() && stored.expires_at.is_none_or(|at| at > Utc::now());
            if live {
                return Ok(Some(Identity {
                    name: stored.name,
                    role: stored.role,
                    pacticipants: stored.pacticipants,
                }));
            }
        }
        return Err(unauthorized());
    }
    if let Some(encoded) = value.strip_prefix("Basic ").map(str::trim) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .unwrap_or_default();
        let (user, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
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
                name: user.to_owned(),
                role: if write { Role::Write } else { Role::Read },
                pacticipants: None,
            }));
        }
        return Err(unauthorized());
    }
    Err(unauthorized())
}

/// The pacticipant a write body names, for the writes whose path does not.
fn pacticipant_in_body(path: &str, body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let keys: &[&str] = match path {
        "/contracts/publish" => &["pacticipantName"],
        "/deployment-events" => &["product_name", "pacticipant", "product"],
        _ => &[],
    };
    keys.iter()
        .find_map(|k| json.get(*k).and_then(|v| v.as_str()).map(str::to_owned))
}

/// Checks who calls and whether they may; then runs the request, and leaves
/// an audit entry for every write, whatever its outcome.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let target = request
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |pq| pq.as_str().to_owned());
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |ConnectInfo(a)| a.ip().to_string());
    let needed = access::required_role(method.as_str(), &path);
    let audited = needed.is_some_and(|role| role > Role::Read) && method != Method::GET;
    let (request, identity, acting) = match check(&state, request, &method, &path, needed).await {
        Ok(checked) => checked,
        Err(Refusal { error, actor }) => {
            let mut response = error.into_response();
            if response.status() == axum::http::StatusCode::UNAUTHORIZED {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"Treaty\", Bearer"),
                );
            }
            // A refused write is audited too: who tried, and that it was refused.
            if audited {
                let entry = NewAuditEntry {
                    actor: actor.unwrap_or_else(|| "unauthenticated".to_owned()),
                    address,
                    method: method.to_string(),
                    target,
                    status: response.status().as_u16(),
                    summary: "refused".to_owned(),
                };
                if let Err(error) = state.audit_log.append(&state.store, entry.clone()).await {
                    tracing::error!(
                        "cannot write the audit entry of {} {}: {error}",
                        entry.method,
                        entry.target
                    );
                }
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
            format!("anonymous callers from {address}")
        } else {
            identity.name.clone()
        };
        if let Err(wait) = limiter.check(&caller) {
            let seconds = wait.as_secs() + 1;
            let mut response = ApiError::TooManyRequests {
                caller,
                retry_after_seconds: seconds,
            }
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
    }
    let actor = identity.name.clone();
    let mut request = request;
    request.extensions_mut().insert(identity);
    let response = next.run(request).await;
    if audited {
        let status = response.status();
        let summary = format!(
            "{}{}",
            acting.map(|p| format!("{p}: ")).unwrap_or_default(),
            status.canonical_reason().unwrap_or("")
        );
        let entry = NewAuditEntry {
            actor,
            address,
            method: method.to_string(),
            target,
            status: status.as_u16(),
            summary,
        };
        if let Err(error) = state.audit_log.append(&state.store, entry.clone()).await {
            tracing::error!(
                "cannot write the audit entry of {} {}: {error}",
                entry.method,
                entry.target
            );
        }
    }
    response
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
    method: &Method,
    path: &str,
    needed: Option<Role>,
) -> Result<Checked, Refusal> {
    let mut acting = access::acting_pacticipant(path);
    if !state.config.auth.enabled() {
        return Ok((request, anonymous(), acting));
    }
    let identified = identify(state, request.headers()).await;
    let Some(needed) = needed else {
        // What anyone may call does not care about credentials, right or wrong.
        let identity = identified.ok().flatten().unwrap_or_else(anonymous_reader);
        return Ok((request, identity, acting));
    };
    let Some(identity) = identified? else {
        return Err(unauthorized().into());
    };
    let refuse = |error: ApiError| Refusal {
        error,
        actor: Some(identity.name.clone()),
    };
    if identity.role < needed {
        return Err(refuse(ApiError::Forbidden(format!(
            "{} has the {} role; {method} {path} needs {}",
            identity.name,
            identity.role.as_str(),
            needed.as_str()
        ))));
    }
    if needed < Role::Write || identity.pacticipants.is_none() {
        return Ok((request, identity, acting));
    }
    // A token limited to some pacticipants: find whom the write is for.
    let request = if acting.is_none() {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
            .await
            .map_err(|_| {
                refuse(ApiError::PayloadTooLarge {
                    limit: state.config.max_body_bytes,
                })
            })?;
        acting = pacticipant_in_body(path, &bytes);
        Request::from_parts(parts, Body::from(bytes))
    } else {
        request
    };
    match &acting {
        Some(pacticipant) if identity.may_act_for(pacticipant) => Ok((request, identity, acting)),
        Some(pacticipant) => Err(refuse(ApiError::Forbidden(format!(
            "{} may not act for {pacticipant}: it is limited to {}",
            identity.name,
            identity.pacticipants.clone().unwrap_or_default().join(", ")
        )))),
        None => Err(refuse(ApiError::Forbidden(format!(
            "{} is limited to some pacticipants, and {method} {path} is not about one of them",
            identity.name
        )))),
    }
}

fn anonymous_reader() -> Identity {
    Identity {
        name: "anonymous".to_owned(),
        role: Role::Read,
        pacticipants: None,
    }
}

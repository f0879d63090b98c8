//! Signing in to the UI: a session cookie, signed with a key derived from the
//! server's secret, and the CSRF token every form carries.
//!
//! Sessions are stateless, so every replica on one database accepts them
//! without a table: the cookie says who signed in and how (a basic user, a
//! token, the admin token), with a proof of the credential, and is checked
//! again on every request against what is configured and stored now. So a
//! token revoked or expired, a password changed or a user removed ends its
//! sessions at once; a token's role is the one stored now. Signing out
//! removes the cookie from the browser; a copy taken from it before stays
//! valid until its idle expiry or lifetime, or until the credential it was
//! made from is revoked (docs/security.md).

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use treaty_domain::access::{self, Identity, Role};

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::error::ApiError;

/// The session cookie's name.
pub const COOKIE: &str = "treaty_session";
/// The cookie that binds the sign-in form to the browser that loaded it.
pub const SIGN_IN_COOKIE: &str = "treaty_sign_in";
/// A session ends this long after sign-in, however busy: a working day.
pub const LIFETIME: chrono::Duration = chrono::Duration::hours(8);
/// ...and this long after its last request.
pub const IDLE: chrono::Duration = chrono::Duration::minutes(30);
/// How stale the last-seen time may get before a response renews the cookie
/// (so not every request sets a cookie).
const RENEW_AFTER: chrono::Duration = chrono::Duration::minutes(1);

type HmacSha256 = Hmac<Sha256>;

/// The key that signs session cookies and CSRF tokens, derived from the
/// server's secret (the same on every replica).
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    pub fn derive(secret: &str) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"treaty ui session v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }

    fn mac_text(&self, parts: &[&[u8]]) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(parts))
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(redacted)")
    }
}

/// How the session's holder signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Basic,
    Token,
    Admin,
}

/// What the cookie carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    kind: Kind,
    name: String,
    /// For a token, its stored hash (to look it up and see it is still
    /// live); otherwise a MAC of the credential, so changing it ends the session.
    proof: String,
    /// Random, per session: what its CSRF tokens are bound to.
    nonce: String,
    issued: i64,
    seen: i64,
}

/// A signed-in session, as the access layer found it on a request.
#[derive(Debug, Clone)]
pub struct Session {
    pub identity: Identity,
    claims: Claims,
}

fn proof_of(key: &SessionKey, kind: Kind, name: &str, secret: &str) -> String {
    match kind {
        Kind::Token => access::token_hash(secret),
        Kind::Basic => key.mac_text(&[b"basic", name.as_bytes(), secret.as_bytes()]),
        Kind::Admin => key.mac_text(&[b"admin", secret.as_bytes()]),
    }
}

fn seal(key: &SessionKey, claims: &Claims) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signature = key.mac_text(&[b"session", payload.as_bytes()]);
    format!("{payload}.{signature}")
}

fn open(key: &SessionKey, value: &str, now: DateTime<Utc>) -> Option<Claims> {
    let (payload, signature) = value.split_once('.')?;
    let expected = key.mac_text(&[b"session", payload.as_bytes()]);
    if !access::same_secret(signature, &expected) {
        return None;
    }
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let now = now.timestamp();
    let fresh =
        now - claims.issued < LIFETIME.num_seconds() && now - claims.seen < IDLE.num_seconds();
    fresh.then_some(claims)
}

/// A cookie's value in a `Cookie` header.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value of a cookie only this server's pages send back:
/// HttpOnly, SameSite=Strict, Secure when Treaty is served over https.
fn set_cookie(base: &BaseUrl, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if base.0.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let path = match base.0.find("://").and_then(|i| base.0[i + 3..].find('/')) {
        Some(at) => base.0[base.0.find("://").unwrap_or(0) + 3 + at..].to_owned(),
        None => "/".to_owned(),
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("treaty_invalid=1"))
}

/// The session key, read once from the server's secret.
pub async fn key(state: &AppState) -> Result<SessionKey, ApiError> {
    state
        .session_key()
        .await
        .cloned()
        .map_err(|e| ApiError::Internal(format!("cannot read the server's secret: {e}")))
}

/// The session a request's cookie proves, if it is valid now: signed by
/// this server, within its lifetime and idle expiry, and made from a
/// credential that is still configured or stored and live.
pub async fn from_headers(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, ApiError> {
    let Some(value) = cookie(headers, COOKIE) else {
        return Ok(None);
    };
    let key = key(state).await?;
    let Some(claims) = open(&key, &value, Utc::now()) else {
        return Ok(None);
    };
    let auth = &state.config.auth;
    let identity = match claims.kind {
        Kind::Token => match state.store.token_by_hash(&claims.proof).await? {
            Some(token)
                if auth.tokens
                    && token.revoked_at.is_none()
                    && token.expires_at.is_none_or(|at| at > Utc::now()) =>
            {
                Some(Identity {
                    name: token.name,
                    role: token.role,
                    pacticipants: token.pacticipants,
                })
            }
            _ => None,
        },
        Kind::Admin => auth
            .admin_token
            .as_ref()
            .filter(|token| {
                access::same_secret(
                    &claims.proof,
                    &proof_of(&key, Kind::Admin, "", token.expose_secret()),
                )
            })
            .map(|_| Identity {
                name: "admin".to_owned(),
                role: Role::Admin,
                pacticipants: None,
            }),
        Kind::Basic => [
            (&auth.basic, Role::Write),
            (&auth.basic_read_only, Role::Read),
        ]
        .into_iter()
        .find_map(|(user, role)| {
            let (name, password) = user.as_ref()?;
            let proof = proof_of(&key, Kind::Basic, name, password.expose_secret());
            (name == &claims.name && access::same_secret(&claims.proof, &proof)).then(|| Identity {
                name: name.clone(),
                role,
                pacticipants: None,
            })
        }),
    };
    Ok(identity.map(|identity| Session { identity, claims }))
}

/// A new session for a credential that just proved `identity`.
pub fn start(
    key: &SessionKey,
    base: &BaseUrl,
    kind: Kind,
    identity: &Identity,
    secret: &str,
) -> HeaderValue {
    let now = Utc::now().timestamp();
    let claims = Claims {
        kind,
        name: identity.name.clone(),
        proof: proof_of(key, kind, &identity.name, secret),
        nonce: uuid::Uuid::new_v4().simple().to_string(),
        issued: now,
        seen: now,
    };
    set_cookie(base, COOKIE, &seal(key, &claims), LIFETIME.num_seconds())
}

/// The `Set-Cookie` that removes a cookie (the session: signing out).
pub fn clear(base: &BaseUrl, name: &str) -> HeaderValue {
    set_cookie(base, name, "", 0)
}

impl Session {
    /// The renewed cookie, when the last-seen time is stale enough to renew.
    pub fn renewal(&self, key: &SessionKey, base: &BaseUrl) -> Option<HeaderValue> {
        let now = Utc::now();
        if now.timestamp() - self.claims.seen < RENEW_AFTER.num_seconds() {
            return None;
        }
        let claims = Claims {
            seen: now.timestamp(),
            ..self.claims.clone()
        };
        let left = self.claims.issued + LIFETIME.num_seconds() - now.timestamp();
        Some(set_cookie(base, COOKIE, &seal(key, &claims), left.max(0)))
    }
}

/// What a form's CSRF token is bound to: the session, or for a browser that
/// signs in with its own password prompt, the credentials it sends.
fn csrf_binding(parts_headers: &HeaderMap, session: Option<&Session>) -> String {
    match session {
        Some(session) => format!("session {}", session.claims.nonce),
        None => format!(
            "header {}",
            parts_headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(access::token_hash)
                .unwrap_or_default()
        ),
    }
}

/// The CSRF token the forms of a page carry.
pub fn csrf_token(key: &SessionKey, parts: &Parts) -> String {
    let binding = csrf_binding(&parts.headers, parts.extensions.get::<Session>());
    key.mac_text(&[b"csrf", binding.as_bytes()])
}

/// Whether a posted CSRF token is the one this browser's pages carry.
pub fn csrf_matches(key: &SessionKey, parts: &Parts, given: &str) -> bool {
    access::same_secret(given, &csrf_token(key, parts))
}

/// The sign-in form's token: bound to a random value in a cookie of its own
/// (there is no session yet), so a page of another site cannot sign a
/// browser in to an account of its choosing.
pub fn sign_in_token(key: &SessionKey, nonce: &str) -> String {
    key.mac_text(&[b"sign-in", nonce.as_bytes()])
}

/// A fresh sign-in nonce and its cookie (ten minutes to fill in the form).
pub fn sign_in_nonce(base: &BaseUrl) -> (String, HeaderValue) {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let cookie = set_cookie(base, SIGN_IN_COOKIE, &nonce, 600);
    (nonce, cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(issued: i64, seen: i64) -> Claims {
        Claims {
            kind: Kind::Basic,
            name: "reader".into(),
            proof: "p".into(),
            nonce: "n".into(),
            issued,
            seen,
        }
    }

    #[test]
    fn a_cookie_opens_only_with_its_key_unaltered_and_in_time() {
        let key = SessionKey::derive("secret");
        let now = Utc::now();
        let t = now.timestamp();
        let value = seal(&key, &claims(t - 60, t - 60));
        assert!(open(&key, &value, now).is_some());
        assert!(open(&SessionKey::derive("other"), &value, now).is_none());
        let (payload, signature) = value.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims {
                kind: Kind::Admin,
                ..claims(t, t)
            })
            .unwrap(),
        );
        assert!(open(&key, &format!("{forged}.{signature}"), now).is_none());
        assert!(open(&key, payload, now).is_none());
        // Idle too long, or past its lifetime although busy.
        let idle = seal(&key, &claims(t - 3600, t - IDLE.num_seconds() - 1));
        assert!(open(&key, &idle, now).is_none());
        let old = seal(&key, &claims(t - LIFETIME.num_seconds() - 1, t));
        assert!(open(&key, &old, now).is_none());
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_behind_https() {
        let plain = set_cookie(&BaseUrl("http://t:1".into()), COOKIE, "v", 60);
        let plain = plain.to_str().unwrap();
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure") && plain.contains("Path=/;"));
        let behind = set_cookie(&BaseUrl("https://b.example/treaty".into()), COOKIE, "v", 60);
        let behind = behind.to_str().unwrap();
        assert!(behind.ends_with("; Secure") && behind.contains("Path=/treaty;"));
    }

    #[test]
    fn a_cookie_is_read_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; treaty_session=x.y; b=2"),
        );
        assert_eq!(cookie(&headers, COOKIE).as_deref(), Some("x.y"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}

//! Who is looking at a page, and the forms they post: every form carries a
//! CSRF token bound to the viewer's session (or to the credentials their
//! browser sends), checked before anything else reads the form.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use treaty_domain::access::{Identity, Role};

use super::session::{self, Session};
use crate::AppState;
use crate::error::ApiError;

/// The viewer of a page: who signed in (and how), their role, and the
/// CSRF token of the page's forms.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub name: String,
    pub role: Role,
    /// Signed in through the sign-in page (so there is a session to end);
    /// otherwise the browser sends credentials itself, or sign-in is off.
    pub session: bool,
    /// Sign-in is off: everyone is an anonymous admin.
    pub open: bool,
    pub csrf: String,
}

impl Viewer {
    /// The viewer's name for records that say who acted; `None` when nobody
    /// signed in (as [`crate::access::Caller::name`]).
    pub fn actor(&self) -> Option<&str> {
        (self.name != "anonymous").then_some(self.name.as_str())
    }

    /// Whether the viewer may take actions that need `role` (so the page
    /// shows them); the server checks again when the form is posted.
    pub fn may(&self, role: &str) -> bool {
        Role::parse(role).is_some_and(|needed| self.role >= needed)
    }

    pub fn role_name(&self) -> &'static str {
        self.role.as_str()
    }
}

impl Viewer {
    /// For a page rendered where the request is not at hand (a pact's API
    /// address answered with its contract page): no name and no action.
    pub fn unnamed(state: &AppState) -> Self {
        Self {
            name: "anonymous".to_owned(),
            role: Role::Read,
            session: false,
            open: !state.config.auth.enabled(),
            csrf: String::new(),
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = session::key(state).await?;
        let identity = parts.extensions.get::<Identity>().cloned().ok_or_else(|| {
            ApiError::Internal("no identity: the access layer did not run".into())
        })?;
        let session = parts.extensions.get::<Session>();
        Ok(Self {
            name: identity.name,
            role: identity.role,
            session: session.is_some(),
            open: !state.config.auth.enabled(),
            csrf: session::csrf_token(&key, parts),
        })
    }
}

/// A posted form whose CSRF token matched: its fields by name (the last
/// value of a repeated one).
pub struct Posted {
    fields: HashMap<String, String>,
}

impl Posted {
    /// A field as typed, trimmed; `None` when missing or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl FromRequest<AppState> for Posted {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
            .await
            .map_err(|e| ApiError::BadRequest(format!("cannot read the form: {e}")))?;
        let fields: HashMap<String, String> = form_urlencoded::parse(&bytes).into_owned().collect();
        let key = session::key(state).await?;
        let given = fields.get("csrf").map(String::as_str).unwrap_or_default();
        if !session::csrf_matches(&key, &parts, given) {
            return Err(ApiError::Forbidden(
                "This form's CSRF token is missing or does not belong to your session: go back, reload the page and send the form again".to_owned(),
            ));
        }
        Ok(Self { fields })
    }
}

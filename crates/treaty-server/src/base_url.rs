//! The base URL that every link in a response starts with.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::AppState;

/// The configured public base URL, or one derived from the request's
/// `X-Forwarded-*` and `Host` headers. Never ends with a slash.
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl BaseUrl {
    pub fn from_parts(parts: &Parts, configured: Option<&str>) -> Self {
        if let Some(base) = configured {
            return Self(base.trim_end_matches('/').to_owned());
        }
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let scheme = header("x-forwarded-proto").unwrap_or_else(|| "http".to_owned());
        let host = header("x-forwarded-host")
            .or_else(|| header("host"))
            .or_else(|| parts.uri.authority().map(ToString::to_string))
            .unwrap_or_else(|| "localhost".to_owned());
        let prefix = header("x-forwarded-prefix").unwrap_or_default();
        Self(format!("{scheme}://{host}{}", prefix.trim_end_matches('/')))
    }

    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts, state.config.base_url.as_deref()))
    }
}

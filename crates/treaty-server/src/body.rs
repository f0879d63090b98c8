//! Request bodies: size limit, media type and JSON syntax, each refused with
//! its own problem document before a handler sees the body.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;

/// The raw bytes of a request body, within the configured limit.
pub struct RawBody {
    pub bytes: Bytes,
    pub content_type: Option<String>,
}

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        let limit = state.config.max_body_bytes;
        let body = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|error| match crate::connections::is_body_timeout(&error) {
                Some(limit) => ApiError::BodyTimeout { limit },
                None => ApiError::PayloadTooLarge { limit },
            })?;
        Ok(Self {
            bytes: body,
            content_type,
        })
    }
}

impl RawBody {
    /// Refuses a body whose declared media type is not JSON.
    pub fn require_json(&self, accepted: &[&str]) -> Result<(), ApiError> {
        match &self.content_type {
            Some(content_type) if !accepted.iter().any(|a| content_type.starts_with(a)) => {
                Err(ApiError::UnsupportedMediaType(format!(
                    "Content-Type '{content_type}' is not supported here: send {}",
                    accepted.join(" or ")
                )))
            }
            _ => Ok(()),
        }
    }

    /// Parses the body as JSON; an empty body is `{}`.
    pub fn json_value(&self) -> Result<Value, ApiError> {
        if self.bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(serde_json::Map::new()));
        }
        let text = std::str::from_utf8(&self.bytes).map_err(|e| {
            ApiError::BadRequest(format!(
                "Request body has a non UTF-8 character at byte {} and cannot be parsed as JSON",
                e.valid_up_to()
            ))
        })?;
        serde_json::from_str(text)
            .map_err(|e| ApiError::BadRequest(format!("Request body is not valid JSON: {e}")))
    }
}

/// A JSON body deserialised into `T` (media type `application/json` or a
/// `+json` type); field errors become a 400 with the field named.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let raw = RawBody::from_request(request, state).await?;
        raw.require_json(&[
            "application/json",
            "application/hal+json",
            "application/merge-patch+json",
        ])?;
        let value = raw.json_value()?;
        parse_value(value).map(JsonBody)
    }
}

/// Deserialises a JSON value, naming the offending field in the error.
pub fn parse_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::BadRequest(
            "Request body must be a JSON object".to_owned(),
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        let message = e.to_string();
        // serde names the field in backticks: "invalid type: ..., expected a string at `name`"
        ApiError::BadRequest(format!("Request body is invalid: {message}"))
    })
}

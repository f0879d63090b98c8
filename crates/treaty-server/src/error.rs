//! The one error type of the HTTP layer, rendered once as a problem document.
//!
//! A handler returns `Err(ApiError)`; its `IntoResponse` only records the error
//! in the response's extensions. The `render_errors` middleware, which knows
//! the request, then logs it (once) and writes the body: an RFC 9457 problem
//! document that also carries the Pact Broker's `error`/`errors` members,
//! which the official clients read.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use treaty_store::StoreError;

/// Field name → messages, as the Pact Broker reports validation errors.
pub type FieldErrors = Map<String, Value>;

/// What the Pact Broker says in `error` when a resource does not exist; the
/// specific reason goes in `detail`.
pub const GENERIC_NOT_FOUND: &str = "The requested document was not found on this server.";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    /// A 404 of a resource the Pact Broker answers in HAL (a webhook
    /// scoped to a pacticipant that does not exist).
    #[error("{0}")]
    NotFoundHal(String),
    /// A 404 whose `error` member is a fixed text the clients' contracts expect.
    #[error("{detail}")]
    NotFoundAs {
        detail: String,
        legacy: &'static str,
    },
    /// Request fields that are missing or wrong, by field.
    #[error("validation errors")]
    Validation(FieldErrors),
    /// Validation errors reported as a list (the matrix does this).
    #[error("validation errors")]
    ValidationList(Vec<String>),
    #[error("{0}")]
    BadRequest(String),
    /// No credentials, or wrong ones.
    #[error("{0}")]
    Unauthorized(String),
    /// Credentials that do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Too many requests from one caller.
    #[error("too many requests from {caller}: try again in {retry_after_seconds} s")]
    TooManyRequests {
        caller: String,
        retry_after_seconds: u64,
    },
    #[error("{message}")]
    Conflict {
        message: String,
        /// Extra members of the body, such as publish `notices`.
        extra: Map<String, Value>,
    },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error(
        "the request body is larger than the limit of {limit} bytes (treaty serve --max-body-bytes)"
    )]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request was not answered within `--request-timeout`; its work was stopped.
    #[error(
        "the request took longer than the limit of {} (treaty serve --request-timeout) and was stopped: ask for less at once, or raise the limit",
        humantime::format_duration(*limit)
    )]
    RequestTimeout { limit: std::time::Duration },
    /// The client sent the body too slowly.
    #[error(
        "the request body did not arrive within {} of its headers (treaty serve --body-read-timeout)",
        humantime::format_duration(*limit)
    )]
    BodyTimeout { limit: std::time::Duration },
    /// A new connection while `--max-connections` are open.
    #[error(
        "Treaty is serving its limit of {limit} connections (treaty serve --max-connections): try again in a moment"
    )]
    TooManyConnections { limit: usize },
    /// A new connection from an address that has `--max-connections-per-address` open.
    #[error(
        "your address already has {limit} connections open to Treaty (treaty serve --max-connections-per-address): reuse or close one"
    )]
    TooManyConnectionsFromAddress { limit: usize },
    #[error("unprocessable")]
    Unprocessable(FieldErrors),
    /// A deployment the environment's gates refuse: 423 during a freeze, 428
    /// when promotion or soak is missing, 409 when the contracts say no.
    #[error("{message}")]
    Blocked {
        cause: treaty_domain::gates::Cause,
        message: String,
        verdict: Value,
    },
    /// A fault of Treaty's, not the client's. Logged with its cause; the client
    /// gets a reference to quote.
    #[error("internal error: {0}")]
    Internal(String),
    /// A handler panicked; the panic hook has logged it already.
    #[error("a handler panicked")]
    Panic,
}

impl ApiError {
    /// A 404 that says, in `error`, what the Pact Broker says for a missing
    /// document, and in `detail` what exactly is missing.
    pub fn missing(detail: impl Into<String>) -> Self {
        Self::NotFoundAs {
            detail: detail.into(),
            legacy: GENERIC_NOT_FOUND,
        }
    }

    /// A 400 for one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Map::new();
        errors.insert(field.to_owned(), json!([message.into()]));
        Self::Validation(errors)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) | Self::NotFoundHal(_) | Self::NotFoundAs { .. } => {
                StatusCode::NOT_FOUND
            }
            Self::Validation(_) | Self::ValidationList(_) | Self::BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout { .. } | Self::TooManyConnections { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyConnectionsFromAddress { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Blocked { cause, .. } => match cause {
                treaty_domain::gates::Cause::Freeze => StatusCode::LOCKED,
                treaty_domain::gates::Cause::Promotion | treaty_domain::gates::Cause::Soak => {
                    StatusCode::PRECONDITION_REQUIRED
                }
                treaty_domain::gates::Cause::Contracts => StatusCode::CONFLICT,
            },
            Self::Internal(_) | Self::Panic => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem `type` slug and `title`.
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            Self::NotFound(_) | Self::NotFoundHal(_) | Self::NotFoundAs { .. } => {
                ("not-found", "Not found")
            }
            Self::Validation(_) | Self::ValidationList(_) => {
                ("validation-error", "Validation errors")
            }
            Self::BadRequest(_) => ("bad-request", "Bad request"),
            Self::Conflict { .. } => ("conflict", "Conflict"),
            Self::Unauthorized(_) => ("unauthorized", "Unauthorized"),
            Self::Forbidden(_) => ("forbidden", "Forbidden"),
            Self::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            Self::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            Self::PayloadTooLarge { .. } => ("payload-too-large", "Request body too large"),
            Self::MethodNotAllowed(_) => ("method-not-allowed", "Method not allowed"),
            Self::RequestTimeout { .. } => ("request-timeout", "Request took too long"),
            Self::BodyTimeout { .. } => ("request-body-timeout", "Request body too slow"),
            Self::TooManyConnections { .. } => ("too-many-connections", "Too many connections"),
            Self::TooManyConnectionsFromAddress { .. } => (
                "too-many-connections-from-address",
                "Too many connections from one address",
            ),
            Self::Unprocessable(_) => ("unprocessable-entity", "Unprocessable entity"),
            Self::Blocked { .. } => (
                "deployment-blocked",
                "Deployment blocked by the environment's gates",
            ),
            Self::Internal(_) | Self::Panic => ("server-error", "Server error"),
        }
    }

    /// The content type the Pact Broker answers this with: its resources
    /// refuse in HAL (validation errors, unreadable or untyped bodies, a pact
    /// whose content may not change), while its not-found answers and the
    /// publication conflict (which carries notices) are plain JSON.
    pub(crate) fn legacy_content_type(&self) -> &'static str {
        match self {
            Self::Validation(_)
            | Self::ValidationList(_)
            | Self::Unprocessable(_)
            | Self::NotFoundHal(_)
            | Self::BadRequest(_)
            | Self::UnsupportedMediaType(_) => "application/hal+json;charset=utf-8",
            Self::Conflict { extra, .. } if extra.is_empty() => {
                "application/hal+json;charset=utf-8"
            }
            _ => "application/json;charset=utf-8",
        }
    }

    /// The problem document. `base` makes the `type` URI absolute; `instance`
    /// is the request path; `reference` identifies an internal error in the logs.
    pub(crate) fn body(&self, base: &str, instance: &str, reference: &str) -> Value {
        let (slug, title) = self.kind();
        let mut body = Map::new();
        body.insert("type".into(), json!(format!("{base}/problems/{slug}")));
        body.insert("title".into(), json!(title));
        body.insert("status".into(), json!(self.status().as_u16()));
        body.insert("instance".into(), json!(instance));
        let detail = match self {
            Self::Validation(errors) | Self::Unprocessable(errors) => {
                body.insert("errors".into(), Value::Object(errors.clone()));
                summarise(errors)
            }
            Self::ValidationList(errors) => {
                body.insert("errors".into(), json!(errors));
                errors.join("; ")
            }
            Self::Conflict { message, extra } => {
                body.insert("error".into(), json!(message));
                for (k, v) in extra {
                    body.insert(k.clone(), v.clone());
                }
                message.clone()
            }
            Self::Blocked {
                cause,
                message,
                verdict,
            } => {
                body.insert("error".into(), json!(message));
                body.insert("blocked_by".into(), json!(cause.as_str()));
                body.insert("verdict".into(), verdict.clone());
                if let Some(retry_after) = verdict.get("retry_after") {
                    body.insert("retry_after".into(), retry_after.clone());
                }
                message.clone()
            }
            Self::NotFoundAs { detail, legacy } => {
                body.insert("error".into(), json!(legacy));
                detail.clone()
            }
            Self::Internal(_) | Self::Panic => {
                let message = format!(
                    "An error has occurred. The details have been logged with the reference {reference}"
                );
                body.insert(
                    "error".into(),
                    json!({"message": message, "reference": reference}),
                );
                message
            }
            other => {
                let message = other.to_string();
                body.insert("error".into(), json!(message));
                message
            }
        };
        body.insert("detail".into(), json!(detail));
        Value::Object(body)
    }
}

/// One line that says every field error: `name: is missing; contracts: ...`.
fn summarise(errors: &FieldErrors) -> String {
    errors
        .iter()
        .map(|(field, messages)| {
            let messages = match messages {
                Value::Array(items) => items
                    .iter()
                    .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            if field.is_empty() {
                messages
            } else {
                format!("{field}: {messages}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(message) => Self::NotFound(message),
            StoreError::UnstorableText(message) => Self::BadRequest(message),
            StoreError::Conflict(message) => Self::Conflict {
                message,
                extra: Map::new(),
            },
            conflict @ StoreError::PactContentConflict { .. } => Self::Conflict {
                message: conflict.to_string(),
                extra: Map::new(),
            },
            other => Self::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_problem_keeps_the_pact_broker_errors_member() {
        let error = ApiError::field("pacticipantVersionNumber", "is missing");
        let body = error.body("http://b", "/contracts/publish", "r");
        assert_eq!(body["status"], 400);
        assert_eq!(body["type"], "http://b/problems/validation-error");
        assert_eq!(body["errors"]["pacticipantVersionNumber"][0], "is missing");
        assert_eq!(body["detail"], "pacticipantVersionNumber: is missing");
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let body = ApiError::Internal("database password wrong".into()).body("", "/", "abc");
        assert!(!body.to_string().contains("password"));
        assert_eq!(body["error"]["reference"], "abc");
    }
}

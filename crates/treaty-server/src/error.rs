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

/// A kind of problem: the last segment of its `type` URL, its `title`, and
/// what its page at `/problems/{slug}` says it means and how to fix it.
#[derive(Debug)]
pub struct ProblemType {
    pub slug: &'static str,
    pub title: &'static str,
    pub meaning: &'static str,
}

const NOT_FOUND: ProblemType = ProblemType {
    slug: "not-found",
    title: "Not found",
    meaning: "The request named something Treaty does not hold: a pacticipant, version, tag, branch, pact, verification, environment, deployment or webhook, or a path no resource has. The detail names what is missing. Check the spelling (names are case-sensitive) and escape each name as one path segment; a version, branch or tag is created by publishing or recording it.",
};
const VALIDATION_ERROR: ProblemType = ProblemType {
    slug: "validation-error",
    title: "Validation errors",
    meaning: "The request body or query was read, but a field in it is missing, of the wrong type, or holds a value that is not allowed. The errors member lists each field with what was wrong; fix those fields and send the request again. Nothing was stored.",
};
const BAD_REQUEST: ProblemType = ProblemType {
    slug: "bad-request",
    title: "Bad request",
    meaning: "The request could not be read: a body that is not valid JSON, a document that is not what the resource takes (a pact, a contract, a verification), or a query parameter that cannot be parsed. The detail says what was wrong. Nothing was stored.",
};
const CONFLICT: ProblemType = ProblemType {
    slug: "conflict",
    title: "Conflict",
    meaning: "The request contradicts what is stored: most often a consumer version publishing a different pact for a provider than it published before (publish each change under a new version number), or a deployment step that does not follow the one before. The detail says which. Nothing was changed.",
};
const UNAUTHORIZED: ProblemType = ProblemType {
    slug: "unauthorized",
    title: "Unauthorized",
    meaning: "The request needs credentials and carried none, or ones Treaty does not accept. Send an API token as a bearer token (Authorization: Bearer ...) or the configured basic-auth user; the WWW-Authenticate header names the schemes this server takes.",
};
const FORBIDDEN: ProblemType = ProblemType {
    slug: "forbidden",
    title: "Forbidden",
    meaning: "The credentials are valid but their role does not allow this request: reads need the read role, writes the write role, tokens, webhooks, policies and the audit log the admin role, and a token limited to some pacticipants may only write for those. Ask an administrator for a token with the role the detail names.",
};
const TOO_MANY_REQUESTS: ProblemType = ProblemType {
    slug: "too-many-requests",
    title: "Too many requests",
    meaning: "This caller sent more requests than the server's rate limit allows. Wait for the number of seconds in the Retry-After header and send the request again.",
};
const UNSUPPORTED_MEDIA_TYPE: ProblemType = ProblemType {
    slug: "unsupported-media-type",
    title: "Unsupported media type",
    meaning: "The request body's Content-Type is not one this resource takes. Send JSON with Content-Type: application/json, or application/merge-patch+json where the resource is updated by merge patch.",
};
const PAYLOAD_TOO_LARGE: ProblemType = ProblemType {
    slug: "payload-too-large",
    title: "Request body too large",
    meaning: "The request body is larger than the server accepts (treaty serve --max-body-bytes, 10 MiB by default). Send a smaller body, or ask the operator to raise the limit.",
};
const METHOD_NOT_ALLOWED: ProblemType = ProblemType {
    slug: "method-not-allowed",
    title: "Method not allowed",
    meaning: "The resource exists but does not take this HTTP method. The Allow header lists the methods it takes.",
};
const REQUEST_TIMEOUT: ProblemType = ProblemType {
    slug: "request-timeout",
    title: "Request took too long",
    meaning: "The server stopped waiting for the request after its time limit. A write cut off this way was kept whole or not at all: read what you wrote before sending a write that is not safe to repeat. If a read keeps taking too long, ask a narrower question (a page, a limit) or tell the operator.",
};
const REQUEST_BODY_TIMEOUT: ProblemType = ProblemType {
    slug: "request-body-timeout",
    title: "Request body too slow",
    meaning: "The request body did not arrive within the server's time limit. Send it again over a faster connection.",
};
const TOO_MANY_CONNECTIONS: ProblemType = ProblemType {
    slug: "too-many-connections",
    title: "Too many connections",
    meaning: "The server is serving as many connections as it is configured to. Retry after the number of seconds in the Retry-After header.",
};
const TOO_MANY_CONNECTIONS_FROM_ADDRESS: ProblemType = ProblemType {
    slug: "too-many-connections-from-address",
    title: "Too many connections from one address",
    meaning: "This address holds as many open connections as one address may. Reuse connections (keep-alive) instead of opening new ones, or retry after the number of seconds in the Retry-After header.",
};
const UNPROCESSABLE_ENTITY: ProblemType = ProblemType {
    slug: "unprocessable-entity",
    title: "Unprocessable entity",
    meaning: "The request was well formed but asks for a change that cannot be made, such as setting currentlyDeployed or currentlySupported back to true. The errors member says which field; record a new deployment or release instead.",
};
const DEPLOYMENT_BLOCKED: ProblemType = ProblemType {
    slug: "deployment-blocked",
    title: "Deployment blocked by the environment's gates",
    meaning: "The environment's gates refused the deployment: a freeze (423), a promotion or soak rule (428), or contracts that can-i-deploy does not allow (409). The answer's verdict says which rule and what would let it through. Fix that, wait for the window, or record the deployment as an emergency where the policy allows it.",
};
const SERVER_ERROR: ProblemType = ProblemType {
    slug: "server-error",
    title: "Server error",
    meaning: "A fault of Treaty's, not of the request. The answer carries a reference that is also in the server's log with the cause; quote it to the operator. Writes are transactional: a failed write leaves nothing half done.",
};

/// Every problem type, for their pages.
pub const PROBLEM_TYPES: &[ProblemType] = &[
    NOT_FOUND,
    VALIDATION_ERROR,
    BAD_REQUEST,
    CONFLICT,
    UNAUTHORIZED,
    FORBIDDEN,
    TOO_MANY_REQUESTS,
    UNSUPPORTED_MEDIA_TYPE,
    PAYLOAD_TOO_LARGE,
    METHOD_NOT_ALLOWED,
    REQUEST_TIMEOUT,
    REQUEST_BODY_TIMEOUT,
    TOO_MANY_CONNECTIONS,
    TOO_MANY_CONNECTIONS_FROM_ADDRESS,
    UNPROCESSABLE_ENTITY,
    DEPLOYMENT_BLOCKED,
    SERVER_ERROR,
];

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

    /// The problem type: its `type` slug, `title`, and its page.
    fn kind(&self) -> &'static ProblemType {
        match self {
            Self::NotFound(_) | Self::NotFoundHal(_) | Self::NotFoundAs { .. } => &NOT_FOUND,
            Self::Validation(_) | Self::ValidationList(_) => &VALIDATION_ERROR,
            Self::BadRequest(_) => &BAD_REQUEST,
            Self::Conflict { .. } => &CONFLICT,
            Self::Unauthorized(_) => &UNAUTHORIZED,
            Self::Forbidden(_) => &FORBIDDEN,
            Self::TooManyRequests { .. } => &TOO_MANY_REQUESTS,
            Self::UnsupportedMediaType(_) => &UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => &PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed(_) => &METHOD_NOT_ALLOWED,
            Self::RequestTimeout { .. } => &REQUEST_TIMEOUT,
            Self::BodyTimeout { .. } => &REQUEST_BODY_TIMEOUT,
            Self::TooManyConnections { .. } => &TOO_MANY_CONNECTIONS,
            Self::TooManyConnectionsFromAddress { .. } => &TOO_MANY_CONNECTIONS_FROM_ADDRESS,
            Self::Unprocessable(_) => &UNPROCESSABLE_ENTITY,
            Self::Blocked { .. } => &DEPLOYMENT_BLOCKED,
            Self::Internal(_) | Self::Panic => &SERVER_ERROR,
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
        let ProblemType { slug, title, .. } = self.kind();
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

    /// Every kind of error answer names a problem type that has a page.
    #[test]
    fn every_error_has_a_problem_type_with_a_page() {
        use std::time::Duration;
        let every = [
            ApiError::NotFound(String::new()),
            ApiError::NotFoundHal(String::new()),
            ApiError::missing(""),
            ApiError::field("f", "m"),
            ApiError::ValidationList(Vec::new()),
            ApiError::BadRequest(String::new()),
            ApiError::Unauthorized(String::new()),
            ApiError::Forbidden(String::new()),
            ApiError::TooManyRequests {
                caller: String::new(),
                retry_after_seconds: 1,
            },
            ApiError::Conflict {
                message: String::new(),
                extra: Map::new(),
            },
            ApiError::UnsupportedMediaType(String::new()),
            ApiError::PayloadTooLarge { limit: 1 },
            ApiError::MethodNotAllowed(String::new()),
            ApiError::RequestTimeout {
                limit: Duration::from_secs(1),
            },
            ApiError::BodyTimeout {
                limit: Duration::from_secs(1),
            },
            ApiError::TooManyConnections { limit: 1 },
            ApiError::TooManyConnectionsFromAddress { limit: 1 },
            ApiError::Unprocessable(Map::new()),
            ApiError::Blocked {
                cause: treaty_domain::gates::Cause::Freeze,
                message: String::new(),
                verdict: Value::Null,
            },
            ApiError::Internal(String::new()),
            ApiError::Panic,
        ];
        for error in &every {
            let kind = error.kind();
            let listed = PROBLEM_TYPES.iter().find(|p| p.slug == kind.slug);
            assert_eq!(listed.map(|p| p.title), Some(kind.title), "{error:?}");
        }
        let mut slugs: Vec<_> = PROBLEM_TYPES.iter().map(|p| p.slug).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), PROBLEM_TYPES.len(), "one page a slug");
    }

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

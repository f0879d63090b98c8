//! What can go wrong talking to a broker, told apart so that a command can
//! answer each case differently ("not found" is often a normal outcome).

use crate::error_body::ErrorDetails;
use crate::hal::TemplateError;
use crate::notice::Notice;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The client could not be set up (bad certificate file, header, URL).
    #[error("{0}")]
    Config(String),

    /// The connection was refused: nothing listens at that address, so the
    /// request failed at once, without retries.
    #[error(
        "nothing is listening at {url} (connection refused): is the broker (Treaty) running there, and is the URL right?"
    )]
    NotListening { url: String },

    /// No HTTP response: unreachable, timed out, or cut off.
    #[error("could not connect to the broker at {url}: {reason}")]
    Connection { url: String, reason: String },

    /// The broker answered with an error status (after any retries).
    #[error(transparent)]
    Rejected(Box<Rejection>),

    /// The broker answered with a success status, but not with what a Pact
    /// Broker API client can use (not JSON, missing fields).
    #[error("unexpected response from {url}: {reason}")]
    UnexpectedResponse { url: String, reason: String },

    /// A resource lacks a relation the command needs: usually a broker that
    /// is older than, or not compatible with, the feature used.
    #[error("{}", missing_link_message(relation, offered))]
    MissingLink { relation: String, offered: String },

    #[error(transparent)]
    Template(#[from] TemplateError),
}

impl ClientError {
    /// The HTTP status of a rejected request.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Rejected(rejection) => Some(rejection.status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

/// An error status from the broker, with the reasons it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub method: String,
    pub url: String,
    pub details: ErrorDetails,
}

impl Rejection {
    pub fn messages(&self) -> &[String] {
        &self.details.messages
    }

    pub fn notices(&self) -> &[Notice] {
        &self.details.notices
    }

    /// The reasons as lines to show: the messages, or else the texts of the
    /// notices, or else just the status (an empty 401 or 404 body).
    pub fn reason_lines(&self) -> Vec<String> {
        if !self.details.messages.is_empty() {
            return self.details.messages.clone();
        }
        if !self.details.notices.is_empty() {
            return self
                .details
                .notices
                .iter()
                .map(|notice| notice.text.clone())
                .collect();
        }
        vec![self.summary()]
    }

    /// Which request failed and how: `GET http://b/x answered HTTP 404 Not Found`.
    pub fn summary(&self) -> String {
        format!(
            "{} {} answered HTTP {}",
            self.method,
            self.url,
            status_text(self.status)
        )
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason_lines().join("\n"))
    }
}

impl std::error::Error for Rejection {}

fn missing_link_message(relation: &str, offered: &str) -> String {
    if offered.is_empty() {
        // No `_links` at all: most likely the URL is not a broker's.
        format!(
            "the response has no HAL links, so it has no {relation:?} relation: is this the URL of a Pact Broker?"
        )
    } else {
        format!("the broker does not offer the {relation:?} relation (it offers: {offered})")
    }
}

/// `404 Not Found` rather than a bare number.
pub(crate) fn status_text(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejection(details: ErrorDetails) -> Rejection {
        Rejection {
            status: 401,
            method: "GET".into(),
            url: "http://b/".into(),
            details,
        }
    }

    #[test]
    fn reasons_fall_back_from_messages_to_notices_to_the_status() {
        let notice = Notice {
            kind: "error".into(),
            text: "refused".into(),
        };
        let with_messages = rejection(ErrorDetails {
            messages: vec!["bad".into()],
            notices: vec![notice.clone()],
            ..ErrorDetails::default()
        });
        assert_eq!(with_messages.reason_lines(), ["bad"]);
        let with_notices = rejection(ErrorDetails {
            messages: vec![],
            notices: vec![notice],
            ..ErrorDetails::default()
        });
        assert_eq!(with_notices.reason_lines(), ["refused"]);
        let empty = rejection(ErrorDetails::default());
        assert_eq!(
            empty.to_string(),
            "GET http://b/ answered HTTP 401 Unauthorized"
        );
    }

    #[test]
    fn a_missing_link_names_what_is_offered_or_doubts_the_url() {
        let missing = |offered: &str| {
            ClientError::MissingLink {
                relation: "pb:x".into(),
                offered: offered.into(),
            }
            .to_string()
        };
        assert_eq!(
            missing("self, pb:y"),
            "the broker does not offer the \"pb:x\" relation (it offers: self, pb:y)"
        );
        assert!(missing("").ends_with("is this the URL of a Pact Broker?"));
    }

    #[test]
    fn not_found_is_recognised() {
        let mut not_found = rejection(ErrorDetails::default());
        not_found.status = 404;
        assert!(ClientError::Rejected(Box::new(not_found)).is_not_found());
        assert!(!ClientError::Config("x".into()).is_not_found());
    }
}

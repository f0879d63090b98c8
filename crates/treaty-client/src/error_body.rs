//! Reading the reason out of an error response.
//!
//! A Pact Broker answers errors in several shapes (see "Error bodies" in the
//! API reference), and other brokers add their own:
//! `{"errors": {"field": ["message"]}}`, `{"errors": ["message"]}`,
//! `{"error": "message"}`, `{"error": {"message": "...", "reference": "..."}}`,
//! `{"notices": [...]}` (a refused publication) and RFC 9457 problem
//! documents (`title`, `detail`, `errors[].detail`/`pointer`). This module
//! turns any of them into plain lines a person can read.

use serde_json::Value;

use crate::notice::{Notice, notices_of};

/// The longest piece of a non-JSON body quoted back to the user: enough for a
/// proxy's one-line error, short of dumping a whole HTML page.
const MAX_QUOTED_BODY: usize = 300;

/// What the server said about why it refused a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetails {
    /// One line per problem, in the order the server gave them.
    pub messages: Vec<String>,
    /// The body's `notices`, kept apart because they are shown with their
    /// own colours and may repeat what `messages` says.
    pub notices: Vec<Notice>,
    /// Which deployment gate refused a deployment (Treaty's `blocked_by`):
    /// freeze, promotion, soak or contract-compatibility.
    pub blocked_by: Option<String>,
}

/// Parses an error response body of any known shape; never fails.
pub fn parse_error_body(body: &[u8]) -> ErrorDetails {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return ErrorDetails::default();
    }
    match serde_json::from_str::<Value>(text) {
        Ok(json) => from_json(&json),
        Err(_) => ErrorDetails {
            messages: vec![shorten(text)],
            ..ErrorDetails::default()
        },
    }
}

fn from_json(body: &Value) -> ErrorDetails {
    let notices = notices_of(body);
    let mut messages = Vec::new();

    // A problem document's `detail` is its one-sentence summary; `title`
    // alone ("Validation errors") only helps when nothing better is there.
    // ... unless it only joins the `errors` listed below, which say it line by line.
    let listed = body
        .get("errors")
        .map(messages_of_errors)
        .unwrap_or_default();
    if let Some(detail) = body.get("detail").and_then(Value::as_str)
        && (listed.len() < 2 || detail != listed.join("; "))
    {
        messages.push(detail.to_owned());
    }
    match body.get("error") {
        Some(Value::String(message)) => messages.push(message.clone()),
        Some(Value::Object(error)) => {
            if let Some(message) = error.get("message").and_then(Value::as_str) {
                messages.push(message.to_owned());
            }
        }
        _ => {}
    }
    if let Some(errors) = body.get("errors") {
        messages.extend(messages_of_errors(errors));
    }
    if let Some(message) = body.get("message").and_then(Value::as_str) {
        messages.push(message.to_owned());
    }
    if messages.is_empty()
        && let Some(title) = body.get("title").and_then(Value::as_str)
    {
        messages.push(title.to_owned());
    }
    if messages.is_empty() && notices.is_empty() {
        messages.push(match body {
            Value::String(text) => text.clone(),
            other => shorten(&other.to_string()),
        });
    }
    dedup_in_order(&mut messages);
    ErrorDetails {
        messages,
        notices,
        blocked_by: body
            .get("blocked_by")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// The lines of an `errors` member: an object of field -> message(s), an
/// array of strings or problem-detail objects, or a lone string.
fn messages_of_errors(errors: &Value) -> Vec<String> {
    match errors {
        Value::Object(fields) => fields
            .iter()
            .flat_map(|(field, problems)| match problems {
                Value::Array(items) => items
                    .iter()
                    .map(|item| format!("{field}: {}", text_of(item)))
                    .collect(),
                single => vec![format!("{field}: {}", text_of(single))],
            })
            .collect(),
        Value::Array(items) => items.iter().map(problem_item_text).collect(),
        Value::Null => Vec::new(),
        other => vec![text_of(other)],
    }
}

/// One entry of a problem document's `errors` array, e.g.
/// `{"detail": "consumerName is missing", "pointer": "/contracts/0/consumerName"}`.
fn problem_item_text(item: &Value) -> String {
    let detail = ["detail", "message", "title"]
        .iter()
        .find_map(|key| item.get(key).and_then(Value::as_str));
    match (detail, item.get("pointer").and_then(Value::as_str)) {
        (Some(detail), Some(pointer)) if !pointer.is_empty() => format!("{detail} (at {pointer})"),
        (Some(detail), _) => detail.to_owned(),
        (None, _) => text_of(item),
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_BODY) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn dedup_in_order(messages: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    messages.retain(|message| seen.insert(message.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_detail_that_only_joins_the_errors_is_not_printed_twice() {
        let body =
            json!({"detail": "a is wrong; b is wrong", "errors": ["a is wrong", "b is wrong"]});
        let details = parse_error_body(body.to_string().as_bytes());
        assert_eq!(details.messages, ["a is wrong", "b is wrong"]);
    }

    fn messages(body: Value) -> Vec<String> {
        parse_error_body(body.to_string().as_bytes()).messages
    }

    #[test]
    fn field_errors_become_one_line_per_message() {
        let body = json!({"errors": {
            "pacticipantVersionNumber": ["is missing"],
            "contracts": ["consumerName is missing (at index 0)", "content is not valid Base64"]
        }});
        assert_eq!(
            messages(body),
            [
                "pacticipantVersionNumber: is missing",
                "contracts: consumerName is missing (at index 0)",
                "contracts: content is not valid Base64"
            ]
        );
    }

    #[test]
    fn an_array_of_strings_is_kept_as_is() {
        assert_eq!(
            messages(
                json!({"errors": ["Pacticipant Wiffle not found", "Pacticipant Meep not found"]})
            ),
            ["Pacticipant Wiffle not found", "Pacticipant Meep not found"]
        );
    }

    #[test]
    fn error_as_string_or_object() {
        assert_eq!(
            messages(json!({"error": "No pacticipant with name 'x' found"})),
            ["No pacticipant with name 'x' found"]
        );
        assert_eq!(
            messages(
                json!({"error": {"message": "An error has occurred. The details have been logged with the reference abc", "reference": "abc"}})
            ),
            ["An error has occurred. The details have been logged with the reference abc"]
        );
    }

    #[test]
    fn problem_documents_give_detail_then_each_error_with_its_pointer() {
        let body = json!({
            "title": "Validation errors", "type": "http://b/problems/validation-error", "detail": null, "status": 400,
            "errors": [{"type": "http://b/problems/missing-body-property", "title": "Invalid body parameter",
                        "detail": "consumerName is missing", "pointer": "/contracts/0/consumerName"}]
        });
        assert_eq!(
            messages(body),
            ["consumerName is missing (at /contracts/0/consumerName)"]
        );
        let not_found = json!({"title": "Not found", "type": "http://b/problem/not-found", "detail": "No pacticipant with name 'x' found", "status": 404});
        assert_eq!(messages(not_found), ["No pacticipant with name 'x' found"]);
        assert_eq!(
            messages(json!({"title": "Unauthorized", "status": 401})),
            ["Unauthorized"]
        );
    }

    #[test]
    fn a_refused_publication_keeps_its_notices_apart_from_its_errors() {
        let body = json!({
            "notices": [
                {"type": "error", "text": "Cannot change the content of the pact for Foo version 1 and provider Bar"},
                {"type": "info", "text": "the diff"}
            ],
            "errors": {"contracts": ["Cannot change the content of the pact for Foo version 1 and provider Bar"]}
        });
        let details = parse_error_body(body.to_string().as_bytes());
        assert_eq!(details.notices.len(), 2);
        assert_eq!(
            details.messages,
            ["contracts: Cannot change the content of the pact for Foo version 1 and provider Bar"]
        );
    }

    #[test]
    fn notices_alone_leave_messages_empty() {
        let details = parse_error_body(br#"{"notices":[{"type":"error","text":"nope"}]}"#);
        assert!(details.messages.is_empty());
        assert_eq!(details.notices[0].text, "nope");
    }

    #[test]
    fn unknown_json_text_and_empty_bodies() {
        assert_eq!(
            messages(json!({"unexpected": true})),
            [r#"{"unexpected":true}"#]
        );
        assert_eq!(messages(json!("just a string")), ["just a string"]);
        assert_eq!(parse_error_body(b"Bad Gateway\n").messages, ["Bad Gateway"]);
        assert_eq!(parse_error_body(b"  ").messages, Vec::<String>::new());
        let long = "x".repeat(1000);
        let quoted = &parse_error_body(long.as_bytes()).messages[0];
        assert_eq!(quoted.chars().count(), MAX_QUOTED_BODY + 1);
    }

    #[test]
    fn repeated_messages_are_shown_once() {
        assert_eq!(
            messages(json!({"error": "same", "message": "same"})),
            ["same"]
        );
    }
}

//! Notices: the human-readable lines a broker returns with a publication
//! (and with some errors), each with a type that says how to show it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One `{"type": ..., "text": ...}` entry of a response's `notices` array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
}

/// How a notice should be presented; the broker's types mapped onto the
/// three colours the official clients use (plus "no colour").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Success,
    Warning,
    Error,
    Plain,
}

impl Notice {
    pub fn severity(&self) -> Severity {
        match self.kind.as_str() {
            "success" => Severity::Success,
            "warning" | "prompt" => Severity::Warning,
            "error" | "danger" => Severity::Error,
            _ => Severity::Plain,
        }
    }
}

/// The `notices` of a response body. Entries without a text are skipped and a
/// missing type reads as `info`, so a slightly different broker still gets
/// its messages shown.
pub fn notices_of(body: &Value) -> Vec<Notice> {
    body.get("notices")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    let text = item.get("text")?.as_str()?.to_owned();
                    let kind = item
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("info")
                        .to_owned();
                    Some(Notice { kind, text })
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_notices_leniently() {
        let body = json!({"notices": [
            {"type": "success", "text": "Pact successfully published"},
            {"text": "no type"},
            {"type": "debug"},
            "not an object"
        ]});
        let notices = notices_of(&body);
        assert_eq!(notices.len(), 2);
        assert_eq!(notices[0].severity(), Severity::Success);
        assert_eq!(notices[1].kind, "info");
        assert!(notices_of(&json!({})).is_empty());
    }

    #[test]
    fn maps_types_to_severities() {
        let severity = |kind: &str| {
            Notice {
                kind: kind.into(),
                text: String::new(),
            }
            .severity()
        };
        assert_eq!(severity("warning"), Severity::Warning);
        assert_eq!(severity("prompt"), Severity::Warning);
        assert_eq!(severity("danger"), Severity::Error);
        assert_eq!(severity("error"), Severity::Error);
        assert_eq!(severity("debug"), Severity::Plain);
    }
}

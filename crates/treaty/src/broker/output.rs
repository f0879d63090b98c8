//! How the broker commands print: output formats, plain-text tables,
//! coloured notices, JSON, and errors.
//!
//! Colour is used only on a terminal and never when `NO_COLOR` is set
//! (<https://no-color.org>), so piped output and logs stay plain text.

use std::io::IsTerminal;

use clap::ValueEnum;
use serde_json::Value;
use treaty_client::{ClientError, Notice, Severity};

/// `-o` of `publish`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PublishOutput {
    Json,
    Text,
    Pretty,
}

/// `-o` of commands that print a message or the response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    Json,
    Text,
}

/// `-o` of commands that print a table or the response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableOrJson {
    Json,
    Table,
}

/// `-o` of `describe-pacticipant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DescribeOutput {
    Json,
    Text,
    Table,
}

/// Whether one output stream gets ANSI colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colours {
    enabled: bool,
}

impl Colours {
    pub fn for_stdout() -> Colours {
        Colours::when(std::io::stdout().is_terminal())
    }

    pub fn for_stderr() -> Colours {
        Colours::when(std::io::stderr().is_terminal())
    }

    fn when(is_terminal: bool) -> Colours {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        let dumb = std::env::var_os("TERM").is_some_and(|term| term == "dumb");
        Colours {
            enabled: is_terminal && !no_color && !dumb,
        }
    }

    pub fn enabled(self) -> bool {
        self.enabled
    }

    #[cfg(test)]
    pub fn plain() -> Colours {
        Colours { enabled: false }
    }

    /// `text` in the colour of `severity`. Each line is coloured on its own
    /// so that a multi-line notice never leaves the terminal coloured.
    pub fn paint(self, severity: Severity, text: &str) -> String {
        let code = match severity {
            Severity::Success => "32",
            Severity::Warning => "33",
            Severity::Error => "31",
            Severity::Plain => return text.to_owned(),
        };
        if !self.enabled {
            return text.to_owned();
        }
        text.split('\n')
            .map(|line| {
                if line.is_empty() {
                    String::new()
                } else {
                    format!("\x1b[{code}m{line}\x1b[0m")
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The broker's notices, one per line, coloured by type.
pub fn format_notices(notices: &[Notice], colours: Colours) -> String {
    notices
        .iter()
        .map(|notice| colours.paint(notice.severity(), &notice.text))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The body as the broker sent it: one line, or indented with `pretty`.
pub fn format_json(body: &Value, pretty: bool) -> String {
    if pretty {
        serde_json::to_string_pretty(body).unwrap_or_else(|_| body.to_string())
    } else {
        body.to_string()
    }
}

/// A table in the style of the official Ruby client (`table_print`): a
/// header, a rule, and columns separated by ` | `, padded to the widest cell.
/// Plain ASCII so it survives logs, pipes and `grep`.
pub fn format_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|header| header.chars().count())
        .collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    // Blank cells at the end of a row are left out, separators included,
    // so no line ends in "|" or spaces.
    let line = |cells: Vec<&str>| {
        let used = cells
            .iter()
            .rposition(|cell| !cell.is_empty())
            .map_or(0, |last| last + 1);
        let padded: Vec<String> = cells[..used]
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join(" | ").trim_end().to_owned()
    };
    let mut lines = vec![line(headers.to_vec())];
    lines.push(
        widths
            .iter()
            .map(|width| "-".repeat(*width))
            .collect::<Vec<_>>()
            .join("-|-"),
    );
    for row in rows {
        lines.push(line(row.iter().map(String::as_str).collect()));
    }
    lines.join("\n")
}

/// A string field of a JSON object, or "" (tables show a blank cell).
pub fn text_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(value, |current, key| current.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The `name`s of the objects in an array field, joined with ", ".
pub fn names_at(value: &Value, path: &[&str]) -> String {
    path.iter()
        .try_fold(value, |current, key| current.get(key))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.get("name").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Prints why a command failed, on stderr. A broker's refusal shows the
/// broker's own words (its error messages, then its notices); anything else
/// shows the error and its causes on one line.
pub fn print_error(error: &anyhow::Error) {
    eprintln!("{}", format_error(error, Colours::for_stderr()));
}

fn format_error(error: &anyhow::Error, colours: Colours) -> String {
    let paint = |text: &str| colours.paint(Severity::Error, text);
    let Some(ClientError::Rejected(rejection)) = error.downcast_ref::<ClientError>() else {
        return paint(&format!("{error:#}"));
    };
    // The contexts the command added ("cannot publish ..."), outermost first;
    // the last link of the chain is the rejection itself.
    let contexts: Vec<String> = error.chain().map(ToString::to_string).collect();
    let contexts = &contexts[..contexts.len().saturating_sub(1)];
    let mut lines: Vec<String> = contexts
        .iter()
        .map(|context| paint(&format!("{context}:")))
        .collect();
    let has_reasons = !rejection.messages().is_empty() || !rejection.notices().is_empty();
    // Without a context, a bare "starting up" would not say what failed.
    if contexts.is_empty() && has_reasons {
        lines.push(paint(&format!("{}:", rejection.summary())));
    }
    let notices = rejection.notices();
    // A refused publication says the same thing in `errors` and in an error
    // notice; print it once, in the notice.
    let repeats_a_notice = |message: &String| {
        notices.iter().any(|notice| {
            message.contains(notice.text.trim()) || notice.text.contains(message.as_str())
        })
    };
    let messages: Vec<&String> = rejection
        .messages()
        .iter()
        .filter(|m| !repeats_a_notice(m))
        .collect();
    lines.extend(messages.iter().map(|message| paint(message)));
    if !notices.is_empty() {
        lines.push(format_notices(notices, colours));
    }
    if !has_reasons {
        lines.extend(rejection.reason_lines().iter().map(|line| paint(line)));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;
    use serde_json::json;
    use treaty_client::{ErrorDetails, Rejection};

    #[test]
    fn tables_pad_columns_and_trim_line_ends() {
        let table = format_table(
            &["NAME", "DISPLAY NAME", "CREATED AT"],
            &[
                vec![
                    "Foo".into(),
                    "Foo".into(),
                    "2021-09-01T00:07:21+00:00".into(),
                ],
                vec!["Pricing Service".into(), "".into(), "".into()],
            ],
        );
        assert_eq!(
            table,
            "NAME            | DISPLAY NAME | CREATED AT\n\
             ----------------|--------------|--------------------------\n\
             Foo             | Foo          | 2021-09-01T00:07:21+00:00\n\
             Pricing Service"
        );
    }

    #[test]
    fn a_table_without_rows_is_its_header() {
        assert_eq!(format_table(&["A", "BB"], &[]), "A | BB\n--|---");
    }

    #[test]
    fn colours_only_when_enabled_and_per_line() {
        let on = Colours { enabled: true };
        assert_eq!(on.paint(Severity::Success, "ok"), "\x1b[32mok\x1b[0m");
        assert_eq!(
            on.paint(Severity::Warning, "a\n\nb"),
            "\x1b[33ma\x1b[0m\n\n\x1b[33mb\x1b[0m"
        );
        assert_eq!(on.paint(Severity::Plain, "x"), "x");
        assert_eq!(Colours::plain().paint(Severity::Error, "x"), "x");
    }

    #[test]
    fn notices_are_printed_one_per_line() {
        let notices = [
            Notice {
                kind: "debug".into(),
                text: "Created Foo version 1".into(),
            },
            Notice {
                kind: "success".into(),
                text: "Pact successfully published".into(),
            },
        ];
        assert_eq!(
            format_notices(&notices, Colours { enabled: true }),
            "Created Foo version 1\n\x1b[32mPact successfully published\x1b[0m"
        );
    }

    #[test]
    fn json_compact_or_pretty() {
        let body = json!({"a": [1]});
        assert_eq!(format_json(&body, false), r#"{"a":[1]}"#);
        assert_eq!(format_json(&body, true), "{\n  \"a\": [\n    1\n  ]\n}");
    }

    #[test]
    fn fields_by_path() {
        let pact = json!({"_embedded": {"consumer": {"name": "Foo"}}, "tags": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(text_at(&pact, &["_embedded", "consumer", "name"]), "Foo");
        assert_eq!(text_at(&pact, &["_embedded", "provider", "name"]), "");
        assert_eq!(names_at(&pact, &["tags"]), "a, b");
        assert_eq!(names_at(&pact, &["branches"]), "");
    }

    fn rejected(messages: &[&str], notices: &[(&str, &str)]) -> anyhow::Error {
        let rejection = Rejection {
            status: 409,
            method: "POST".into(),
            url: "http://b/contracts/publish".into(),
            details: ErrorDetails {
                messages: messages.iter().map(|m| m.to_string()).collect(),
                notices: notices
                    .iter()
                    .map(|(kind, text)| Notice {
                        kind: kind.to_string(),
                        text: text.to_string(),
                    })
                    .collect(),
                ..ErrorDetails::default()
            },
        };
        anyhow::Error::new(ClientError::Rejected(Box::new(rejection)))
    }

    #[test]
    fn a_refusal_shows_context_messages_and_notices_without_repeating_itself() {
        let error = Err::<(), _>(rejected(
            &[
                "contracts: Cannot change the content of the pact",
                "branch: is invalid",
            ],
            &[
                ("error", "Cannot change the content of the pact"),
                ("info", "the diff"),
            ],
        ))
        .context("cannot publish the pacts of Foo version 1")
        .expect_err("error");
        assert_eq!(
            format_error(&error, Colours::plain()),
            "cannot publish the pacts of Foo version 1:\n\
             branch: is invalid\n\
             Cannot change the content of the pact\n\
             the diff"
        );
    }

    #[test]
    fn a_refusal_without_context_says_which_request_failed() {
        assert_eq!(
            format_error(&rejected(&["starting up"], &[]), Colours::plain()),
            "POST http://b/contracts/publish answered HTTP 409 Conflict:\nstarting up"
        );
    }

    #[test]
    fn a_refusal_without_reasons_shows_the_status() {
        assert_eq!(
            format_error(&rejected(&[], &[]), Colours::plain()),
            "POST http://b/contracts/publish answered HTTP 409 Conflict"
        );
    }

    #[test]
    fn other_errors_show_their_causes_on_one_line() {
        let error = Err::<(), _>(anyhow::anyhow!("connection refused"))
            .context("cannot reach the broker")
            .expect_err("error");
        assert_eq!(
            format_error(&error, Colours::plain()),
            "cannot reach the broker: connection refused"
        );
    }
}

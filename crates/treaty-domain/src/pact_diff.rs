//! The text diff between two versions of a pact, as the Pact Broker gives
//! it at `.../diff/previous-distinct` and `.../diff/...`: both documents
//! without interaction ids, keys sorted and interactions in a canonical
//! order; compared as pact-support compares an expected and an actual
//! document (keys only the new version has do not count as differences);
//! each side printed as the JSON of its differences only, and the two
//! printouts compared line by line (`unified`).

mod unified;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// What the page says about the two versions compared.
#[derive(Debug, Clone)]
pub struct DiffPage<'a> {
    pub consumer: &'a str,
    pub provider: &'a str,
    /// The version shown, and the one it is compared with.
    pub version: &'a str,
    pub compared_version: &'a str,
    /// When the shown content first appeared: the publication after the compared one.
    pub changed_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// The two pacts' addresses.
    pub href: &'a str,
    pub compared_href: &'a str,
}

/// The whole `text/plain` page: heading, diff and links.
pub fn page(page: &DiffPage<'_>, compared: &Value, shown: &Value) -> String {
    let heading = format!(
        "# Diff between versions {} and {} of the pact between {} and {}\n\nThe following changes were made {} ago ({})",
        page.compared_version,
        page.version,
        page.consumer,
        page.provider,
        distance_in_words(page.changed_at, page.now),
        date_in_words(page.changed_at)
    );
    let name = |version: &str| {
        format!(
            "Pact between {} ({version}) and {}",
            page.consumer, page.provider
        )
    };
    let links = yaml_links(&[
        ("pact-version", &name(page.version), page.href),
        (
            "comparison-pact-version",
            &name(page.compared_version),
            page.compared_href,
        ),
    ]);
    let diff = formatted_diff(compared, shown).unwrap_or_else(|| {
        "The two versions differ in too many places to compare them here: \
         compare the documents at the links below."
            .to_owned()
    });
    format!("{heading}\n\n{diff}\n\n## Links\n{links}")
}

/// What the page says when there is nothing to compare with.
pub fn nothing_to_compare(consumer: &str, version: &str, provider: &str) -> String {
    format!(
        "No previous distinct version was found for Pact between {consumer} ({version}) and {provider}"
    )
}

/// How much comparing may cost: the pairs of equal lines between the two
/// printouts, which the line comparison's time grows with (two printouts
/// of ten thousand `},` lines each are a hundred million pairs).
const MAX_EQUAL_LINE_PAIRS: u64 = 20_000_000;

/// The differences between an older (`expected`) and a newer (`actual`)
/// pact; `None` when comparing them would cost more than the bound.
pub fn formatted_diff(older: &Value, newer: &Value) -> Option<String> {
    let older = canonical(older);
    let newer = canonical(newer);
    let difference = diff(&older, &newer);
    let expected = printed(&difference, Side::Expected);
    let actual = printed(&difference, Side::Actual);
    if unified::equal_line_pairs(&actual, &expected) > MAX_EQUAL_LINE_PAIRS {
        return None;
    }
    let text = unified::diff_as_string(&actual, &expected);
    let text = text.trim_start_matches(['\0', '\t', '\n', '\u{b}', '\u{c}', '\r', ' ']);
    let lines = unified::ruby_lines(text);
    let text = match lines.first() {
        Some(first) if first.contains("@@") => lines[1..].join("\n"),
        _ => text.to_owned(),
    };
    Some(replace_before_closing_bracket(&text, ",", ""))
}

/// The document as the Pact Broker compares it: no interaction ids, keys
/// sorted, interactions (or messages) in the order of their JSON text.
fn canonical(content: &Value) -> Value {
    let mut content = content.clone();
    if let Value::Object(document) = &mut content {
        for key in ["interactions", "messages"] {
            if let Some(Value::Array(items)) = document.get_mut(key) {
                for item in items.iter_mut() {
                    if let Value::Object(item) = item {
                        item.shift_remove("_id");
                    }
                }
            }
        }
    }
    let mut content = sorted_keys(&content);
    let key = match &content {
        Value::Object(document) if document.get("interactions").is_some_and(|v| !v.is_null()) => {
            Some("interactions")
        }
        Value::Object(document) if document.get("messages").is_some_and(|v| !v.is_null()) => {
            Some("messages")
        }
        _ => None,
    };
    if let (Some(key), Value::Object(document)) = (key, &mut content)
        && let Some(Value::Array(items)) = document.get_mut(key)
    {
        items.sort_by_cached_key(|item| item.to_string());
    }
    content
}

fn sorted_keys(value: &Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut keys: Vec<&String> = object.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|key| (key.clone(), sorted_keys(&object[key])))
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted_keys).collect()),
        other => other.clone(),
    }
}

/// One side of a difference: a value, or the marker of what is not there.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Value(Value),
    /// The newer document lacks this key.
    KeyNotFound,
    /// The newer document's array is shorter.
    IndexNotFound,
    /// The older document's array is shorter.
    UnexpectedIndex,
}

/// pact-support's difference tree: only what differs.
#[derive(Debug, Clone)]
enum Difference {
    Object(Vec<(String, Difference)>),
    /// `None` where the items are the same.
    Array(Vec<Option<Difference>>),
    Leaf {
        expected: Item,
        actual: Item,
    },
}

fn diff(expected: &Value, actual: &Value) -> Option<Difference> {
    diff_items(&Item::Value(expected.clone()), &Item::Value(actual.clone()))
}

/// `Pact::Matchers.diff` with its defaults: exact values, and keys only the
/// actual document has are allowed.
fn diff_items(expected: &Item, actual: &Item) -> Option<Difference> {
    let leaf = || {
        Some(Difference::Leaf {
            expected: expected.clone(),
            actual: actual.clone(),
        })
    };
    match (expected, actual) {
        (Item::Value(Value::Object(expected)), Item::Value(Value::Object(actual))) => {
            let differences: Vec<(String, Difference)> = expected
                .iter()
                .filter_map(|(key, value)| {
                    let found = actual
                        .get(key)
                        .map_or(Item::KeyNotFound, |v| Item::Value(v.clone()));
                    diff_items(&Item::Value(value.clone()), &found).map(|d| (key.clone(), d))
                })
                .collect();
            (!differences.is_empty()).then_some(Difference::Object(differences))
        }
        (Item::Value(Value::Array(expected)), Item::Value(Value::Array(actual))) => {
            let length = expected.len().max(actual.len());
            let items: Vec<Option<Difference>> = (0..length)
                .map(|index| {
                    let e = expected
                        .get(index)
                        .map_or(Item::UnexpectedIndex, |v| Item::Value(v.clone()));
                    let a = actual
                        .get(index)
                        .map_or(Item::IndexNotFound, |v| Item::Value(v.clone()));
                    diff_items(&e, &a)
                })
                .collect();
            items
                .iter()
                .any(Option::is_some)
                .then_some(Difference::Array(items))
        }
        (Item::Value(Value::Object(_) | Value::Array(_)), _) => leaf(),
        (Item::Value(e), Item::Value(a)) if same_value(e, a) => None,
        _ => leaf(),
    }
}

/// Ruby's `==` on parsed JSON: an integer equals the float of the same value.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            x.as_f64() == y.as_f64()
        }
        _ => a == b,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Expected,
    Actual,
}

/// What one side prints: its values where they differ, `... ` where array
/// items are the same, nothing for what is not there.
enum Shown {
    Json(Value),
    Object(Vec<(String, Shown)>),
    Array(Vec<Shown>),
    Same,
    Absent,
}

fn shown(difference: &Difference, side: Side) -> Shown {
    match difference {
        Difference::Object(entries) => Shown::Object(
            entries
                .iter()
                .map(|(key, d)| (key.clone(), shown(d, side)))
                .filter(|(_, s)| !matches!(s, Shown::Absent))
                .collect(),
        ),
        Difference::Array(items) => Shown::Array(
            items
                .iter()
                .map(|item| item.as_ref().map_or(Shown::Same, |d| shown(d, side)))
                .filter(|s| !matches!(s, Shown::Absent))
                .collect(),
        ),
        Difference::Leaf { expected, actual } => {
            match if side == Side::Expected {
                expected
            } else {
                actual
            } {
                Item::Value(value) => Shown::Json(value.clone()),
                _ => Shown::Absent,
            }
        }
    }
}

/// One side printed as pact-support prints it: Ruby's `JSON.pretty_generate`,
/// empty objects and arrays opened onto two lines, and a comma after the
/// last item of every array (taken away again after the comparison).
fn printed(difference: &Option<Difference>, side: Side) -> String {
    let mut json = String::new();
    match difference {
        Some(difference) => pretty(&shown(difference, side), 0, &mut json),
        None => json.push_str("{}"),
    }
    let json = remove_blank_line_in_empty_objects(&json);
    let json = open_empty(&json, '{', '}', "{\n  }");
    let json = open_empty(&json, '[', ']', "[\n  ]");
    replace_before_closing_bracket(&json, "", ",")
}

fn pretty(shown: &Shown, depth: usize, out: &mut String) {
    let indent = |depth: usize| "  ".repeat(depth);
    match shown {
        Shown::Json(value) => pretty_value(value, depth, out),
        Shown::Same => out.push_str("... "),
        Shown::Absent => out.push_str("null"),
        Shown::Object(entries) if entries.is_empty() => out.push_str("{}"),
        Shown::Object(entries) => {
            out.push_str("{\n");
            for (index, (key, value)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push_str(",\n");
                }
                out.push_str(&indent(depth + 1));
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                pretty(value, depth + 1, out);
            }
            out.push('\n');
            out.push_str(&indent(depth));
            out.push('}');
        }
        Shown::Array(items) if items.is_empty() => out.push_str("[]"),
        Shown::Array(items) => {
            out.push_str("[\n");
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(",\n");
                }
                out.push_str(&indent(depth + 1));
                pretty(item, depth + 1, out);
            }
            out.push('\n');
            out.push_str(&indent(depth));
            out.push(']');
        }
    }
}

fn pretty_value(value: &Value, depth: usize, out: &mut String) {
    match value {
        Value::Object(object) => pretty(
            &Shown::Object(
                object
                    .iter()
                    .map(|(k, v)| (k.clone(), Shown::Json(v.clone())))
                    .collect(),
            ),
            depth,
            out,
        ),
        Value::Array(items) => pretty(
            &Shown::Array(items.iter().cloned().map(Shown::Json).collect()),
            depth,
            out,
        ),
        Value::Number(number) if number.is_f64() => {
            out.push_str(&ruby_float(number.as_f64().unwrap_or_default()))
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Ruby's `Float#to_s`: `1.0`, `0.25`, `1.0e+20`, `1.0e-05`.
fn ruby_float(x: f64) -> String {
    let magnitude = x.abs();
    if magnitude == 0.0 || (1e-4..1e16).contains(&magnitude) {
        let text = format!("{x}");
        if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        }
    } else {
        let text = format!("{x:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_owned()
        } else {
            format!("{mantissa}.0")
        };
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(digits) => ('-', digits),
            None => ('+', exponent),
        };
        format!("{mantissa}e{sign}{digits:0>2}")
    }
}

fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}' | '\u{b}')
}

/// `gsub(/({\n)\n(\s*})/, '\1\2')`.
fn remove_blank_line_in_empty_objects(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    while let Some(at) = rest.find("{\n\n") {
        let after = &rest[at + 3..];
        let spaces = after.len() - after.trim_start_matches(is_ruby_space).len();
        if after[spaces..].starts_with('}') {
            out.push_str(&rest[..at + 2]);
            rest = &rest[at + 3..];
        } else {
            out.push_str(&rest[..at + 1]);
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// `gsub(/OPEN\s*CLOSE/, replacement)`.
fn open_empty(json: &str, open: char, close: char, replacement: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    while let Some(at) = rest.find(open) {
        out.push_str(&rest[..at]);
        let after = &rest[at + open.len_utf8()..];
        let inner = after.len() - after.trim_start_matches(is_ruby_space).len();
        if after[inner..].starts_with(close) {
            out.push_str(replacement);
            rest = &after[inner + close.len_utf8()..];
        } else {
            out.push(open);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `gsub(/FROM(\n\s*\])/, 'TO\1')`: what stands before a line that closes an array.
fn replace_before_closing_bracket(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    loop {
        let Some(at) = find_closing_line(rest, from) else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        out.push_str(to);
        rest = &rest[at + from.len()..];
        // The newline and the bracket are kept; continue after the bracket.
        let kept = rest.find(']').map_or(rest.len(), |i| i + 1);
        out.push_str(&rest[..kept]);
        rest = &rest[kept..];
    }
}

/// The first position of `from` followed by a newline, whitespace and `]`.
fn find_closing_line(text: &str, from: &str) -> Option<usize> {
    let mut start = 0;
    while let Some(found) = text[start..].find(&format!("{from}\n")) {
        let at = start + found;
        let after = &text[at + from.len() + 1..];
        let spaces = after.len() - after.trim_start_matches(is_ruby_space).len();
        if after[spaces..].starts_with(']') {
            return Some(at);
        }
        start = at + from.len() + 1;
    }
    None
}

/// The Pact Broker's `distance_of_time_in_words` (Rails' wording, English).
pub fn distance_in_words(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let seconds = (to - from).num_milliseconds().abs() as f64 / 1000.0;
    let minutes = (seconds / 60.0).round() as i64;
    let plural = |count: i64, one: &str, many: &str| {
        if count == 1 {
            one.to_owned()
        } else {
            many.replace("{}", &count.to_string())
        }
    };
    let rounded = |divisor: f64| (minutes as f64 / divisor).round() as i64;
    match minutes {
        0 => "less than a minute".to_owned(),
        1 => "1 minute".to_owned(),
        2..45 => format!("{minutes} minutes"),
        45..90 => "about 1 hour".to_owned(),
        90..1440 => plural(rounded(60.0), "about 1 hour", "about {} hours"),
        1440..2520 => "1 day".to_owned(),
        2520..43200 => plural(rounded(1440.0), "1 day", "{} days"),
        43200..86400 => plural(rounded(43200.0), "about 1 month", "about {} months"),
        86400..525600 => plural(rounded(43200.0), "1 month", "{} months"),
        _ => {
            let years = minutes / 525_600;
            let remainder = minutes % 525_600;
            if remainder < 131_400 {
                plural(years, "about 1 year", "about {} years")
            } else if remainder < 394_200 {
                plural(years, "over 1 year", "over {} years")
            } else {
                plural(years + 1, "almost 1 year", "almost {} years")
            }
        }
    }
}

/// `Sun 06 Dec 2026, 12:43am +00:00`: the Pact Broker's `local_date_in_words`
/// (Treaty's local time is UTC).
pub fn date_in_words(at: DateTime<Utc>) -> String {
    at.format("%a %d %b %Y, %l:%M%P %:z")
        .to_string()
        .replace("  ", " ")
}

/// Links as Ruby's YAML writes a hash of hashes, without the `---` line.
fn yaml_links(links: &[(&str, &str, &str)]) -> String {
    let mut out = String::from("\n");
    for (relation, name, href) in links {
        out.push_str(&format!("{relation}:\n"));
        for (key, value) in [("title", "Pact"), ("name", name), ("href", href)] {
            out.push_str(&format!("  {key}: "));
            let column = key.len() + 4;
            out.push_str(&yaml_scalar(value, column));
            out.push('\n');
        }
    }
    // Ruby removes every `---`, also inside values.
    out.replace("---", "")
}

/// A string as libyaml writes it as a mapping value: plain when it can be,
/// single-quoted otherwise; lines longer than 80 columns folded at a space.
fn yaml_scalar(value: &str, column: usize) -> String {
    let plain = !value.is_empty()
        && !value.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c))
        && !value.ends_with([' ', ':'])
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.contains(['\n', '\t'])
        && !resolves_to_other_than_string(value);
    let (text, quote) = if plain {
        (value.to_owned(), "")
    } else {
        (value.replace('\'', "''"), "'")
    };
    let mut out = String::from(quote);
    let mut column = column + quote.len();
    let chars: Vec<char> = text.chars().collect();
    for (index, &c) in chars.iter().enumerate() {
        let next_is_space = chars.get(index + 1).is_some_and(|&n| n == ' ');
        let previous_is_space = index > 0 && chars[index - 1] == ' ';
        if c == ' '
            && !previous_is_space
            && column > 80
            && !next_is_space
            && index != 0
            && index + 1 != chars.len()
        {
            out.push_str("\n    ");
            column = 4;
            continue;
        }
        out.push(c);
        column += 1;
    }
    out.push_str(quote);
    out
}

/// Whether YAML would read the plain text as something other than a
/// string (a number, a boolean, null), so Ruby quotes it.
fn resolves_to_other_than_string(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null" | "~"
    ) || value.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn foo_bar(interactions: Value) -> Value {
        json!({
            "consumer": {"name": "Foo"}, "provider": {"name": "Bar"},
            "interactions": interactions,
            "metadata": {"pactSpecification": {"version": "2.0.0"}}
        })
    }

    fn thing() -> Value {
        json!({"_id": "1", "description": "a request for a thing", "request": {"method": "GET", "path": "/things/1"}, "response": {"status": 200, "body": {"id": 1, "name": "thing"}, "headers": {"Content-Type": "application/json"}}, "providerState": "a thing exists"})
    }

    fn create() -> Value {
        json!({"_id": "2", "description": "a request to create a thing", "request": {"method": "POST", "path": "/things", "body": {"name": "new thing"}, "headers": {"Content-Type": "application/json"}}, "response": {"status": 201, "body": {"id": 2}, "headers": {"Content-Type": "application/json"}}, "providerState": "no things exist"})
    }

    /// The Pact Broker 2.120's answer for these two versions, recorded.
    #[test]
    fn an_added_interaction_is_printed_as_the_pact_broker_prints_it() {
        let older = foo_bar(json!([thing()]));
        let newer = foo_bar(json!([thing(), create()]));
        assert_eq!(
            formatted_diff(&older, &newer).unwrap(),
            r#" {
   "interactions": [
     ... ,
+    {
+      "description": "a request to create a thing",
+      "providerState": "no things exist",
+      "request": {
+        "body": {
+          "name": "new thing"
+        },
+        "headers": {
+          "Content-Type": "application/json"
+        },
+        "method": "POST",
+        "path": "/things"
+      },
+      "response": {
+        "body": {
+          "id": 2
+        },
+        "headers": {
+          "Content-Type": "application/json"
+        },
+        "status": 201
+      }
+    }
   ]
 }"#
        );
    }

    /// Recorded from the Pact Broker 2.120: interactions compared by index
    /// after sorting, keys only the newer version has left out, two hunks.
    #[test]
    fn interactions_compared_in_sorted_order_give_the_pact_broker_s_hunks() {
        let mut colourful = thing();
        colourful["response"]["body"]["colour"] = json!("red");
        let all = json!({"description": "a request for all things", "request": {"method": "GET", "path": "/things"}, "response": {"status": 200, "body": [{"id": 1}], "headers": {"Content-Type": "application/json"}}});
        let older = foo_bar(json!([thing(), create()]));
        let newer = foo_bar(json!([colourful, create(), all]));
        assert_eq!(
            formatted_diff(&older, &newer).unwrap(),
            r#"   "interactions": [
     ... ,
     {
+      "description": "a request for all things",
+      "request": {
+        "method": "GET"
+      },
+      "response": {
+        "body": [
+          {
+            "id": 1
+          },
+        ],
+        "status": 200
+      }
+    },
+    {
       "description": "a request to create a thing",
       "providerState": "no things exist",
       "request": {

@@ -11,11 +25,15 @@
         "headers": {
           "Content-Type": "application/json"
         },
-        "method": "POST"
+        "method": "POST",
+        "path": "/things"
       },
       "response": {
         "body": {
           "id": 2
+        },
+        "headers": {
+          "Content-Type": "application/json"
         },
         "status": 201
       }"#
        );
    }

    #[test]
    fn identical_documents_have_an_empty_diff() {
        let pact = foo_bar(json!([thing()]));
        assert_eq!(formatted_diff(&pact, &pact).unwrap(), "");
    }

    #[test]
    fn the_page_has_the_pact_broker_s_heading_and_links() {
        let at = Utc.with_ymd_and_hms(2026, 12, 6, 0, 43, 5).unwrap();
        let page = page(
            &DiffPage {
                consumer: "Foo",
                provider: "Bar",
                version: "1.1.0",
                compared_version: "1.0.0",
                changed_at: at,
                now: at + chrono::Duration::seconds(20),
                href: "http://b/pacts/provider/Bar/consumer/Foo/version/1.1.0",
                compared_href: "http://b/pacts/provider/Bar/consumer/Foo/version/1.0.0",
            },
            &foo_bar(json!([thing()])),
            &foo_bar(json!([thing()])),
        );
        assert_eq!(
            page,
            "# Diff between versions 1.0.0 and 1.1.0 of the pact between Foo and Bar\n\n\
             The following changes were made less than a minute ago (Sun 06 Dec 2026, 12:43am +00:00)\n\n\n\n\
             ## Links\n\npact-version:\n  title: Pact\n  name: Pact between Foo (1.1.0) and Bar\n  \
             href: http://b/pacts/provider/Bar/consumer/Foo/version/1.1.0\ncomparison-pact-version:\n  \
             title: Pact\n  name: Pact between Foo (1.0.0) and Bar\n  href: http://b/pacts/provider/Bar/consumer/Foo/version/1.0.0\n"
        );
    }

    #[test]
    fn times_are_worded_as_rails_words_them() {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 13, 5, 0).unwrap();
        let after = |minutes: i64| at + chrono::Duration::minutes(minutes);
        assert_eq!(distance_in_words(at, after(0)), "less than a minute");
        assert_eq!(distance_in_words(at, after(1)), "1 minute");
        assert_eq!(distance_in_words(at, after(44)), "44 minutes");
        assert_eq!(distance_in_words(at, after(60)), "about 1 hour");
        assert_eq!(distance_in_words(at, after(180)), "about 3 hours");
        assert_eq!(distance_in_words(at, after(2000)), "1 day");
        assert_eq!(distance_in_words(at, after(10_000)), "7 days");
        assert_eq!(distance_in_words(at, after(600_000)), "about 1 year");
        assert_eq!(date_in_words(at), "Thu 01 Jan 2026, 1:05pm +00:00");
    }

    #[test]
    fn versions_that_differ_everywhere_are_not_compared_beyond_the_bound() {
        let many = |status: u16| {
            let interactions: Vec<Value> = (0..6000)
                .map(|n| json!({"description": format!("request {n}"), "response": {"status": status, "body": {"n": n}}}))
                .collect();
            foo_bar(Value::Array(interactions))
        };
        assert_eq!(formatted_diff(&many(200), &many(201)), None);
        let page = page(
            &DiffPage {
                consumer: "Foo",
                provider: "Bar",
                version: "2",
                compared_version: "1",
                changed_at: Utc::now(),
                now: Utc::now(),
                href: "h2",
                compared_href: "h1",
            },
            &many(200),
            &many(201),
        );
        assert!(page.contains("differ in too many places"), "{page}");
    }

    #[test]
    fn floats_are_printed_as_ruby_prints_them() {
        assert_eq!(ruby_float(1.0), "1.0");
        assert_eq!(ruby_float(0.25), "0.25");
        assert_eq!(ruby_float(1e20), "1.0e+20");
        assert_eq!(ruby_float(1.5e-5), "1.5e-05");
    }

    #[test]
    fn yaml_values_are_quoted_only_when_they_must_be() {
        assert_eq!(
            yaml_scalar("Pact between Foo (1) and Bar", 8),
            "Pact between Foo (1) and Bar"
        );
        assert_eq!(yaml_scalar("a: b", 8), "'a: b'");
        assert_eq!(yaml_scalar("1.0", 8), "'1.0'");
    }
}

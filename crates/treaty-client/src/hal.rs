//! HAL documents: finding a relation's links in `_links` and expanding the
//! `{name}` templates of templated links.
//!
//! The broker's index and resources are plain JSON; this module reads them as
//! `serde_json::Value` so that a field the client does not know about (or one
//! that an older or newer broker lacks) never fails a whole command.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// Everything except `A-Za-z0-9 _ . ~ -` is escaped, as the Pact Broker does
/// for names in its own URLs (`ERB::Util.url_encode`). A `/` in a branch name
/// therefore stays inside one path segment (`feat%2Fx`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'-');

/// One link object of a HAL relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub href: String,
    pub templated: bool,
    pub name: Option<String>,
    pub title: Option<String>,
}

impl Link {
    /// A link read from either shape HAL allows: an object with `href`, or
    /// (seen in old brokers) a bare string.
    fn from_json(value: &Value) -> Option<Link> {
        match value {
            Value::String(href) => Some(Link {
                href: href.clone(),
                templated: href.contains('{'),
                name: None,
                title: None,
            }),
            Value::Object(fields) => {
                let href = fields.get("href")?.as_str()?.to_owned();
                let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_owned);
                Some(Link {
                    // Some broker links omit `templated` although their href
                    // has variables (e.g. `pb:tagged-pact-versions`), so the
                    // href decides as well.
                    templated: fields
                        .get("templated")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                        || href.contains('{'),
                    name: text("name"),
                    title: text("title"),
                    href,
                })
            }
            _ => None,
        }
    }

    /// The href with every `{variable}` replaced by its URL-encoded value.
    pub fn expand(&self, variables: &[(&str, &str)]) -> Result<String, TemplateError> {
        expand_template(&self.href, variables)
    }
}

/// All links of `relation` in `resource._links`: a relation may hold a single
/// link object or an array of them (`pb:record-deployment`, `pb:contracts`).
pub fn links(resource: &Value, relation: &str) -> Vec<Link> {
    match resource.get("_links").and_then(|links| links.get(relation)) {
        Some(Value::Array(items)) => items.iter().filter_map(Link::from_json).collect(),
        Some(single) => Link::from_json(single).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The first link of `relation`, if the resource has one.
pub fn link(resource: &Value, relation: &str) -> Option<Link> {
    links(resource, relation).into_iter().next()
}

/// Names of the relations a resource offers, for error messages that help
/// the user see what the broker does support.
pub fn relation_names(resource: &Value) -> Vec<String> {
    resource
        .get("_links")
        .and_then(Value::as_object)
        .map(|links| links.keys().cloned().collect())
        .unwrap_or_default()
}

/// A `{variable}` of a link template had no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the link template {template:?} needs a value for {{{variable}}}")]
pub struct TemplateError {
    pub template: String,
    pub variable: String,
}

/// Replaces each `{name}` in `template` with the URL-encoded value given for
/// `name`. A variable with no value is an error rather than an empty string:
/// sending `/pacticipants//versions/1` would only produce a confusing 404.
pub fn expand_template(
    template: &str,
    variables: &[(&str, &str)],
) -> Result<String, TemplateError> {
    let mut expanded = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|offset| open + offset) else {
            break;
        };
        let name = &rest[open + 1..close];
        let value = variables
            .iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, value)| *value)
            .ok_or_else(|| TemplateError {
                template: template.to_owned(),
                variable: name.to_owned(),
            })?;
        expanded.push_str(&rest[..open]);
        expanded.push_str(&encode_component(value));
        rest = &rest[close + 1..];
    }
    expanded.push_str(rest);
    Ok(expanded)
}

/// URL-encodes one path segment or query value.
pub fn encode_component(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expands_every_variable_with_url_encoding() {
        let expanded = expand_template(
            "http://b/pacticipants/{pacticipant}/versions/{version}/tags/{tag}",
            &[
                ("pacticipant", "Foo Bar"),
                ("version", "1.0.0+build"),
                ("tag", "feat/x"),
            ],
        );
        assert_eq!(
            expanded.as_deref(),
            Ok("http://b/pacticipants/Foo%20Bar/versions/1.0.0%2Bbuild/tags/feat%2Fx")
        );
    }

    #[test]
    fn keeps_unreserved_characters_and_encodes_unicode() {
        assert_eq!(encode_component("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(encode_component("ü?&#%"), "%C3%BC%3F%26%23%25");
    }

    #[test]
    fn a_variable_without_a_value_is_an_error() {
        let error = expand_template(
            "/pacticipants/{pacticipant}/latest-version/{tag}",
            &[("pacticipant", "Foo")],
        );
        assert_eq!(
            error,
            Err(TemplateError {
                template: "/pacticipants/{pacticipant}/latest-version/{tag}".into(),
                variable: "tag".into()
            })
        );
    }

    #[test]
    fn a_template_without_variables_or_with_an_unclosed_brace_is_left_alone() {
        assert_eq!(
            expand_template("/pacts/latest", &[]).as_deref(),
            Ok("/pacts/latest")
        );
        assert_eq!(expand_template("/odd{", &[]).as_deref(), Ok("/odd{"));
    }

    #[test]
    fn a_value_containing_braces_is_not_expanded_again() {
        assert_eq!(
            expand_template("/p/{a}/{b}", &[("a", "{b}"), ("b", "x")]).as_deref(),
            Ok("/p/%7Bb%7D/x")
        );
    }

    #[test]
    fn reads_single_and_array_relations() {
        let resource = json!({"_links": {
            "pb:pacticipant": {"href": "http://b/pacticipants/{pacticipant}", "templated": true, "title": "A pacticipant"},
            "pb:record-deployment": [
                {"href": "http://b/d/1", "name": "test"},
                {"href": "http://b/d/2", "name": "production"}
            ],
            "legacy": "http://b/legacy",
            "broken": {"title": "no href"}
        }});
        let pacticipant = link(&resource, "pb:pacticipant").expect("link");
        assert!(pacticipant.templated);
        assert_eq!(pacticipant.title.as_deref(), Some("A pacticipant"));
        let names: Vec<_> = links(&resource, "pb:record-deployment")
            .into_iter()
            .filter_map(|l| l.name)
            .collect();
        assert_eq!(names, ["test", "production"]);
        assert_eq!(
            link(&resource, "legacy").map(|l| l.href).as_deref(),
            Some("http://b/legacy")
        );
        assert_eq!(link(&resource, "broken"), None);
        assert_eq!(link(&resource, "pb:missing"), None);
        assert_eq!(link(&json!({"name": "no links"}), "self"), None);
    }

    #[test]
    fn an_href_with_variables_counts_as_templated_even_without_the_flag() {
        let resource =
            json!({"_links": {"pb:tagged-pact-versions": {"href": "/pacts/provider/{provider}"}}});
        assert!(link(&resource, "pb:tagged-pact-versions").is_some_and(|l| l.templated));
    }
}

//! Webhooks: what a webhook is (the Pact Broker's shape), which events it
//! listens to, the `${pactbroker.*}` and `${treaty.*}` templates, and which
//! targets are safe to call.

mod secrets;
mod targets;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

pub use secrets::{
    MASK, is_mask, is_secret_header, keep_stored_secrets, masked_headers, redact,
    redact_logged_headers, secret_values,
};
pub use targets::{TargetPolicy, is_internal};

/// Events of the Pact Broker, then Treaty's own.
pub const EVENTS: &[&str] = &[
    "contract_published",
    "contract_content_changed",
    "contract_requiring_verification_published",
    "provider_verification_published",
    "provider_verification_succeeded",
    "provider_verification_failed",
    "deployment_started",
    "deployment_completed",
    "deployment_failed",
    "deployment_aborted",
    "deployment_timed_out",
    "deployment_bypassed_gates",
    "consumer_unblocked",
    "environment_frozen",
    "environment_unfrozen",
    "provider_contract_published",
    "provider_contract_comparison_failed",
];

/// Who a webhook is for: a pacticipant by name, every pacticipant with a label, or anyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party {
    Any,
    Name(String),
    Label(String),
}

impl Party {
    pub fn to_json(&self) -> Option<Value> {
        match self {
            Self::Any => None,
            Self::Name(name) => Some(json!({ "name": name })),
            Self::Label(label) => Some(json!({ "label": label })),
        }
    }
}

/// The HTTP request a webhook sends, with templates not yet rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestTemplate {
    pub method: String,
    pub url: String,
    /// Lower-cased names, as the Pact Broker stores them.
    pub headers: BTreeMap<String, String>,
    /// A JSON value, or a string sent as it is.
    pub body: Option<Value>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Signs each delivery (HMAC-SHA256 of the body); never shown again.
    pub secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDefinition {
    pub description: Option<String>,
    pub consumer: Party,
    pub provider: Party,
    pub enabled: bool,
    pub request: RequestTemplate,
    pub events: Vec<String>,
}

/// A webhook as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredWebhook {
    pub uuid: String,
    pub definition: WebhookDefinition,
    /// The secrets it still lacks (`request.password`,
    /// `request.headers.NAME`): it was moved in from a broker that showed
    /// them masked, and nobody has given them since.
    pub secrets_to_reenter: Vec<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// One event's delivery to one webhook, with its attempts so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub uuid: String,
    pub webhook_uuid: String,
    pub event_name: String,
    /// The template variables, captured when the event happened.
    pub context: BTreeMap<String, String>,
    /// `not_run`, `retrying`, `success` or `failure`.
    pub status: String,
    pub attempts_made: u32,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub logs: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub consumer: Option<String>,
    pub provider: Option<String>,
    /// The webhook, to send it (present when claimed for sending).
    pub webhook: Option<WebhookDefinition>,
}

/// A value in a delivery's context that is a path on this Treaty: the
/// sender puts its base URL in front.
pub const BASE_MARKER: &str = "{base}";

/// The context with this Treaty's base URL in its links.
pub fn with_base(context: &BTreeMap<String, String>, base: &str) -> BTreeMap<String, String> {
    context
        .iter()
        .map(|(k, v)| (k.clone(), v.replace(BASE_MARKER, base)))
        .collect()
}

/// The metadata segment of the pact URL a webhook carries (`${pactbroker.pactUrl}`):
/// the consumer version and its tags, as the Pact Broker encodes them, so
/// a verification published to that URL says which version it verified.
pub fn pact_url_metadata(consumer_version: &str, tags: &[String]) -> String {
    use base64::Engine;
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("cvn", consumer_version);
    for tag in tags {
        query.append_pair("cvt[]", tag);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(query.finish())
}

fn field_error(errors: &mut Vec<(String, String)>, field: &str, message: impl Into<String>) {
    errors.push((field.to_owned(), message.into()));
}

fn party(value: Option<&Value>, field: &str, errors: &mut Vec<(String, String)>) -> Party {
    match value {
        None | Some(Value::Null) => Party::Any,
        Some(Value::Object(object)) => {
            let name = object
                .get("name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            let label = object
                .get("label")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            match (name, label) {
                (Some(name), None) => Party::Name(name.to_owned()),
                (None, Some(label)) => Party::Label(label.to_owned()),
                (Some(_), Some(_)) => {
                    field_error(errors, field, "cannot specify both a name and a label");
                    Party::Any
                }
                (None, None) => {
                    field_error(
                        errors,
                        &format!("{field}.name"),
                        "can't be blank (or give a label)",
                    );
                    Party::Any
                }
            }
        }
        Some(_) => {
            field_error(errors, field, "must be an object with a name or a label");
            Party::Any
        }
    }
}

/// Reads a webhook as the Pact Broker's clients send it; errors are by
/// field (`request.url`, `consumer.name`, ...), as the clients read them.
pub fn parse_webhook(
    body: &Value,
    policy: &TargetPolicy,
) -> Result<WebhookDefinition, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let Some(object) = body.as_object() else {
        return Err(vec![(
            String::new(),
            "the webhook must be a JSON object".to_owned(),
        )]);
    };
    let consumer = party(object.get("consumer"), "consumer", &mut errors);
    let provider = party(object.get("provider"), "provider", &mut errors);
    let enabled = object
        .get("enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let description = object
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let events = match object.get("events") {
        None | Some(Value::Null) => vec!["contract_content_changed".to_owned()],
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut names = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.get("name").and_then(Value::as_str) {
                    Some(name) if EVENTS.contains(&name) => names.push(name.to_owned()),
                    Some(name) => field_error(
                        &mut errors,
                        &format!("events[{i}].name"),
                        format!("'{name}' is not an event: one of {}", EVENTS.join(", ")),
                    ),
                    None => field_error(&mut errors, &format!("events[{i}].name"), "is missing"),
                }
            }
            names
        }
        // The Pact Broker's words (dry-validation's) for an empty list.
        Some(Value::Array(_)) => {
            field_error(&mut errors, "events", "size cannot be less than 1");
            Vec::new()
        }
        Some(_) => {
            field_error(&mut errors, "events", "must be an array");
            Vec::new()
        }
    };
    let empty = Map::new();
    let request = match object.get("request") {
        Some(Value::Object(request)) if request.is_empty() => {
            field_error(&mut errors, "request", "must be filled");
            &empty
        }
        Some(Value::Object(request)) => request,
        _ => {
            field_error(&mut errors, "request", "is missing");
            &empty
        }
    };
    let text = |key: &str| request.get(key).and_then(Value::as_str).map(str::to_owned);
    let method = text("method").map(|m| m.to_ascii_uppercase());
    let url = text("url").filter(|u| !u.is_empty());
    // What is allowed is Treaty's `--webhook-allowed-*` settings, which the
    // page the Pact Broker's words point at (`/doc/webhooks`) explains.
    const SEE_WHITELIST: &str = "See /doc/webhooks#whitelist for more information.";
    if !request.is_empty() {
        match &method {
            None => field_error(&mut errors, "request.method", "is missing"),
            Some(m) if !policy.methods.iter().any(|a| a.eq_ignore_ascii_case(m)) => field_error(
                &mut errors,
                "request.method",
                match policy.methods.as_slice() {
                    [only] => format!("must be {only}. {SEE_WHITELIST}"),
                    all => format!("must be one of {}. {SEE_WHITELIST}", all.join(", ")),
                },
            ),
            Some(_) => {}
        }
        match &url {
            None => field_error(&mut errors, "request.url", "is missing"),
            // The url crate drops tabs and newlines as it parses; they are
            // refused, not silently changed.
            Some(u) if let Some(found) = crate::names::forbidden_character(u) => {
                field_error(&mut errors, "request.url", format!("contains {found}"));
            }
            Some(u) => match url::Url::parse(u) {
                Err(_) => field_error(
                    &mut errors,
                    "request.url",
                    "is not a valid URL eg. http://example.org",
                ),
                Ok(parsed) => {
                    if !policy
                        .schemes
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(parsed.scheme()))
                    {
                        field_error(
                            &mut errors,
                            "request.url",
                            format!(
                                "scheme must be {}. {SEE_WHITELIST}",
                                policy.schemes.join(", ")
                            ),
                        );
                    }
                    let host = parsed.host_str().unwrap_or_default();
                    if host.contains("${") || host.contains("%7B") {
                        field_error(
                            &mut errors,
                            "request.url",
                            "cannot have a template parameter in the host",
                        );
                    } else if !policy.hosts.is_empty() && !policy.host_listed(host) {
                        field_error(
                            &mut errors,
                            "request.url",
                            format!(
                                "host must be in the whitelist {}. {SEE_WHITELIST}",
                                policy
                                    .hosts
                                    .iter()
                                    .map(|h| format!("{h:?}"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        );
                    }
                }
            },
        }
    }
    let headers = match request.get("headers") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(h)) => h
            .iter()
            .map(|(k, v)| {
                let value = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                let field = format!("request.headers.{k}");
                if !is_header_name(k) {
                    field_error(
                        &mut errors,
                        &field,
                        "is not a header name: letters, digits and !#$%&'*+-.^_`|~ only",
                    );
                } else if let Some(found) = crate::names::forbidden_character(&value) {
                    field_error(&mut errors, &field, format!("contains {found}"));
                }
                (k.to_ascii_lowercase(), value)
            })
            .collect(),
        Some(_) => {
            field_error(&mut errors, "request.headers", "must be an object");
            BTreeMap::new()
        }
    };
    if errors.is_empty() {
        Ok(WebhookDefinition {
            description,
            consumer,
            provider,
            enabled,
            request: RequestTemplate {
                method: method.unwrap_or_default(),
                url: url.unwrap_or_default(),
                headers,
                body: request.get("body").filter(|b| !b.is_null()).cloned(),
                username: text("username"),
                password: text("password"),
                secret: object
                    .get("secret")
                    .or_else(|| request.get("secret"))
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            },
            events,
        })
    } else {
        Err(errors)
    }
}

/// A header name as HTTP defines it (RFC 9110's `token`).
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// How a value is written into the text around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// As it is.
    Text,
    /// Form-encoded, so it stays one component of a URL.
    UrlComponent,
    /// Control characters (a newline in a build URL, say) become spaces, so
    /// the value cannot end the header or start another.
    HeaderValue,
    /// Escaped as the content of a JSON string, so a value cannot close the
    /// string and add keys: a pacticipant named `Evil","admin":true,"x":"`
    /// stays one string.
    JsonStringContent,
}

/// Replaces `${pactbroker.NAME}` and `${treaty.NAME}` with their values;
/// unknown names become empty, as in the Pact Broker. In a URL, values are escaped.
pub fn render(template: &str, vars: &BTreeMap<String, String>, in_url: bool) -> String {
    let how = if in_url {
        Insert::UrlComponent
    } else {
        Insert::Text
    };
    render_as(template, vars, how)
}

/// Replaces `${pactbroker.NAME}` and `${treaty.NAME}` with their values,
/// written as `how` says; unknown names become empty, as in the Pact Broker.
pub fn render_as(template: &str, vars: &BTreeMap<String, String>, how: Insert) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        let key = name
            .strip_prefix("pactbroker.")
            .or_else(|| name.strip_prefix("treaty."));
        match key {
            Some(key) => {
                let value = vars.get(key).map(String::as_str).unwrap_or_default();
                insert(&mut out, value, how);
            }
            None => out.push_str(&rest[start..start + 3 + end]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn insert(out: &mut String, value: &str, how: Insert) {
    match how {
        Insert::Text => out.push_str(value),
        Insert::UrlComponent => out.extend(form_urlencoded::byte_serialize(value.as_bytes())),
        Insert::HeaderValue => {
            out.extend(value.chars().map(|c| if c.is_control() { ' ' } else { c }))
        }
        Insert::JsonStringContent => {
            // serde_json writes the value as a JSON string; its content is
            // everything between the quotes.
            let quoted = Value::String(value.to_owned()).to_string();
            out.push_str(&quoted[1..quoted.len() - 1]);
        }
    }
}

/// A webhook's request with its templates filled in, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedRequest {
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
}

/// Fills in a request's templates, each value escaped for where it goes: in
/// the URL as a URL component, in headers without control characters, in a
/// JSON body as JSON string content (a body given as a JSON object renders
/// string by string; a body given as text is JSON when its content type says
/// so, or when it has none and the template itself is JSON).
pub fn render_request(
    template: &RequestTemplate,
    vars: &BTreeMap<String, String>,
) -> RenderedRequest {
    let headers = template
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), render_as(v, vars, Insert::HeaderValue)))
        .collect();
    let body = match &template.body {
        None => None,
        Some(Value::String(text)) => {
            let how = if text_body_is_json(&template.headers, text) {
                Insert::JsonStringContent
            } else {
                Insert::Text
            };
            Some(render_as(text, vars, how))
        }
        Some(json_body) => Some(render_body(json_body, vars).to_string()),
    };
    RenderedRequest {
        url: render(&template.url, vars, true),
        headers,
        body,
    }
}

/// Whether a body given as text is JSON: its `Content-Type` says so
/// (`application/json`, `application/vnd.x+json`, ...), or it has none and
/// the template parses as JSON.
fn text_body_is_json(headers: &BTreeMap<String, String>, text: &str) -> bool {
    match headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        Some((_, media_type)) => media_type.to_ascii_lowercase().contains("json"),
        None => serde_json::from_str::<Value>(text).is_ok(),
    }
}

/// Renders a body template: strings inside JSON are rendered one by one, so
/// the result stays valid JSON.
pub fn render_body(body: &Value, vars: &BTreeMap<String, String>) -> Value {
    match body {
        Value::String(s) => Value::String(render(s, vars, false)),
        Value::Array(items) => Value::Array(items.iter().map(|i| render_body(i, vars)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (render(k, vars, false), render_body(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A ready-made body for chat tools that take `{"text": ...}` (Slack's
/// incoming webhooks and the many receivers compatible with them).
pub fn slack_body() -> Value {
    json!({
        "text": "${treaty.pacticipant} ${treaty.version} → ${treaty.environment}: deployment ${treaty.status}${treaty.deployedByText}",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [
            ("consumerName", "Foo Service"),
            ("providerName", "Bar"),
            ("status", "completed"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn templates_are_rendered_and_escaped_in_urls() {
        assert_eq!(
            render(
                "${pactbroker.consumerName} -> ${pactbroker.providerName}",
                &vars(),
                false
            ),
            "Foo Service -> Bar"
        );
        assert_eq!(
            render(
                "https://ci/build?c=${pactbroker.consumerName}",
                &vars(),
                true
            ),
            "https://ci/build?c=Foo+Service"
        );
        assert_eq!(
            render(
                "${treaty.status}/${pactbroker.unknown}/${other.x}",
                &vars(),
                false
            ),
            "completed//${other.x}"
        );
        assert_eq!(
            render("unclosed ${pactbroker.consumerName", &vars(), false),
            "unclosed ${pactbroker.consumerName"
        );
        assert_eq!(
            render_body(
                &json!({"who": "${pactbroker.consumerName}", "n": 1}),
                &vars()
            ),
            json!({"who": "Foo Service", "n": 1})
        );
    }

    #[test]
    fn webhooks_are_read_with_the_pact_broker_rules() {
        let policy = TargetPolicy::default();
        let parsed = parse_webhook(
            &json!({"consumer": {"name": "Foo"}, "provider": {"label": "team-a"},
                "request": {"method": "post", "url": "https://ci.example/build", "headers": {"Content-Type": "application/json"}, "body": {"a": 1}}}),
            &policy,
        )
        .unwrap();
        assert_eq!(parsed.events, ["contract_content_changed"]);
        assert_eq!(parsed.request.method, "POST");
        assert_eq!(parsed.request.headers["content-type"], "application/json");
        assert_eq!(parsed.provider, Party::Label("team-a".to_owned()));
        let errors = parse_webhook(
            &json!({"events": [{"name": "nope"}], "request": {"method": "GET", "url": "http://${pactbroker.consumerName}.example/"}}),
            &policy,
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "events[0].name",
                "request.method",
                "request.url",
                "request.url"
            ]
        );
        assert!(
            parse_webhook(&json!({"request": {"method": "POST"}}), &policy).unwrap_err()[0].0
                == "request.url"
        );
    }

    fn request(headers: &[(&str, &str)], body: Value) -> RequestTemplate {
        RequestTemplate {
            method: "POST".into(),
            url: "https://ci.example/build?c=${pactbroker.consumerName}".into(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: Some(body),
            username: None,
            password: None,
            secret: None,
        }
    }

    #[test]
    fn values_cannot_break_out_of_a_json_body_a_header_or_a_url() {
        let evil: BTreeMap<String, String> = [
            ("consumerName", r#"Evil","admin":true,"x":""#),
            ("buildUrl", "https://ci/1\r\nX-Injected: yes"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.replace("\\r\\n", "\r\n")))
        .collect();
        let template = r#"{"consumer": "${pactbroker.consumerName}", "n": 1}"#;
        for headers in [
            vec![("content-type", "application/json")],
            vec![("Content-Type", "application/vnd.api+json; charset=utf-8")],
            // No content type: the template itself is JSON.
            vec![],
        ] {
            let rendered = render_request(&request(&headers, json!(template)), &evil);
            let body: Value = serde_json::from_str(rendered.body.as_deref().unwrap()).unwrap();
            assert_eq!(
                body,
                json!({"consumer": r#"Evil","admin":true,"x":""#, "n": 1}),
                "{headers:?}"
            );
        }
        // A text body that is not JSON gets the value as it is.
        let text = render_request(
            &request(
                &[("content-type", "text/plain")],
                json!("by ${pactbroker.consumerName}"),
            ),
            &evil,
        );
        assert_eq!(text.body.as_deref(), Some(r#"by Evil","admin":true,"x":""#));
        // A JSON object body renders string by string.
        let object = render_request(
            &request(&[], json!({"c": "${pactbroker.consumerName}"})),
            &evil,
        );
        assert_eq!(
            serde_json::from_str::<Value>(object.body.as_deref().unwrap()).unwrap()["c"],
            r#"Evil","admin":true,"x":""#
        );
        let headed = render_request(
            &request(&[("x-build", "${pactbroker.buildUrl}")], json!("")),
            &evil,
        );
        assert_eq!(headed.headers["x-build"], "https://ci/1  X-Injected: yes");
        assert!(
            headed
                .url
                .ends_with("c=Evil%22%2C%22admin%22%3Atrue%2C%22x%22%3A%22")
        );
    }

    #[test]
    fn control_characters_in_a_webhook_url_or_header_are_refused() {
        let policy = TargetPolicy::default();
        let errors = parse_webhook(
            &json!({"request": {"method": "POST", "url": "https://ci.example/\r\nX: 1",
                "headers": {"X-Ok": "fine", "X-Bad": "a\nb", "Bad Name": "v"}}}),
            &policy,
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "request.url",
                "request.headers.X-Bad",
                "request.headers.Bad Name"
            ]
        );
        assert!(
            errors[0]
                .1
                .contains("U+000D CARRIAGE RETURN at position 20")
        );
    }
}

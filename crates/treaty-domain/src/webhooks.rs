//! Webhooks: what a webhook is (the Pact Broker's shape), which events it
//! listens to, the `${pactbroker.*}` and `${treaty.*}` templates, and which
//! targets are safe to call.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Map, Value, json};

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

/// Which targets webhooks may call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPolicy {
    pub schemes: Vec<String>,
    pub methods: Vec<String>,
    /// Empty: any host (that is not private, unless listed here).
    pub hosts: Vec<String>,
}

impl Default for TargetPolicy {
    fn default() -> Self {
        Self {
            schemes: vec!["https".to_owned()],
            methods: vec!["POST".to_owned()],
            hosts: Vec::new(),
        }
    }
}

impl TargetPolicy {
    pub fn host_listed(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// Why a (rendered) target may not be called, if it may not.
    pub fn refuse(&self, method: &str, url: &str) -> Option<String> {
        let Ok(parsed) = url::Url::parse(url) else {
            return Some(format!("'{url}' is not a URL"));
        };
        if !self
            .schemes
            .iter()
            .any(|s| s.eq_ignore_ascii_case(parsed.scheme()))
        {
            return Some(format!(
                "scheme {} is not allowed (allowed: {}; see --webhook-allowed-schemes)",
                parsed.scheme(),
                self.schemes.join(", ")
            ));
        }
        if !self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)) {
            return Some(format!(
                "method {method} is not allowed (allowed: {}; see --webhook-allowed-methods)",
                self.methods.join(", ")
            ));
        }
        let host = parsed.host_str().unwrap_or_default();
        if !self.hosts.is_empty() && !self.host_listed(host) {
            return Some(format!(
                "host {host} is not allowed (allowed: {}; see --webhook-allowed-hosts)",
                self.hosts.join(", ")
            ));
        }
        None
    }
}

/// Loopback, private, link-local and other addresses a webhook must not
/// reach unless its host is explicitly allowed (no server-side request forgery).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // 100.64.0.0/10
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link-local
        }
    }
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
        Some(_) => {
            field_error(
                &mut errors,
                "events",
                "must list at least one {\"name\": ...}",
            );
            Vec::new()
        }
    };
    let empty = Map::new();
    let request = match object.get("request") {
        Some(Value::Object(request)) => request,
        _ => {
            field_error(&mut errors, "request", "is missing");
            &empty
        }
    };
    let text = |key: &str| request.get(key).and_then(Value::as_str).map(str::to_owned);
    let method = text("method").map(|m| m.to_ascii_uppercase());
    let url = text("url").filter(|u| !u.is_empty());
    if !request.is_empty() || object.contains_key("request") {
        match &method {
            None => field_error(&mut errors, "request.method", "is missing"),
            Some(m) if !policy.methods.iter().any(|a| a.eq_ignore_ascii_case(m)) => field_error(
                &mut errors,
                "request.method",
                format!(
                    "must be one of {} (see --webhook-allowed-methods)",
                    policy.methods.join(", ")
                ),
            ),
            Some(_) => {}
        }
        match &url {
            None => field_error(&mut errors, "request.url", "is missing"),
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
                                "scheme must be {} (see --webhook-allowed-schemes)",
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
                            format!("host {host} is not allowed (see --webhook-allowed-hosts)"),
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
                (
                    k.to_ascii_lowercase(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
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

/// Replaces `${pactbroker.NAME}` and `${treaty.NAME}` with their values;
/// unknown names become empty, as in the Pact Broker. In a URL, values are escaped.
pub fn render(template: &str, vars: &BTreeMap<String, String>, in_url: bool) -> String {
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
                if in_url {
                    out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
                } else {
                    out.push_str(value);
                }
            }
            None => out.push_str(&rest[start..start + 3 + end]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
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

    #[test]
    fn targets_are_checked_against_the_policy_and_internal_addresses_are_known() {
        let policy = TargetPolicy {
            schemes: vec!["http".into()],
            methods: vec!["POST".into()],
            hosts: vec!["127.0.0.1".into()],
        };
        assert_eq!(policy.refuse("POST", "http://127.0.0.1:9/x"), None);
        assert!(
            policy
                .refuse("POST", "http://10.0.0.1/")
                .unwrap()
                .contains("host 10.0.0.1 is not allowed")
        );
        assert!(
            policy
                .refuse("PUT", "http://127.0.0.1/")
                .unwrap()
                .contains("method PUT")
        );
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "100.64.0.1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        assert!(!is_internal("93.184.216.34".parse().unwrap()));
    }
}

//! Reading a pacts-for-verification request: the POST body (camelCase; the
//! snake_case spellings are read too) and the deprecated GET query
//! (snake_case), validated as the Pact Broker's contracts validate them and
//! with its words: problems by field, a selector's with its index.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use super::{Request, Selector};

/// The most consumer version selectors one request may give. Real
/// providers give a handful (the defaults are three; the Pact docs' examples
/// a few more); the Pact Broker sets no limit, but each selector is a
/// question to the database, and a 10 MiB body holds half a million.
pub const MAX_SELECTORS: usize = 1_000;

/// What is wrong, by field, in the order found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldErrors(Vec<(String, Vec<String>)>);

impl FieldErrors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        let message = message.into();
        match self.0.iter_mut().find(|(f, _)| f == field) {
            Some((_, messages)) => messages.push(message),
            None => self.0.push((field.to_owned(), vec![message])),
        }
    }

    fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| f == field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> &[(String, Vec<String>)] {
        &self.0
    }

    /// Every message, prefixed with its field.
    pub fn messages(&self) -> Vec<String> {
        self.0
            .iter()
            .flat_map(|(field, messages)| messages.iter().map(move |m| format!("{field} {m}")))
            .collect()
    }
}

const SELECTORS: &str = "consumerVersionSelectors";

const BRANCH_KEYS: &[&str] = &[
    "latest",
    "tag",
    "fallbackTag",
    "branch",
    "fallbackBranch",
    "matchingBranch",
    "mainBranch",
];
const ENVIRONMENT_KEYS: &[&str] = &["environment", "deployed", "released", "deployedOrReleased"];

/// The selector keys in the order the Pact Broker's schema checks them.
const SCHEMA_KEYS: &[&str] = &[
    "mainBranch",
    "tag",
    "branch",
    "matchingBranch",
    "latest",
    "fallbackTag",
    "fallbackBranch",
    "consumer",
    "deployed",
    "released",
    "deployedOrReleased",
    "environment",
];

const PROVIDER_BRANCH_EMPTY: &str = "when pending or WIP pacts are enabled and there are no tags provided, the provider version branch must not be an empty string, as it is used in the calculations for WIP/pending. A value must be provided (recommended), or it must not be set at all.";

fn snake_to_camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn camel_keys(object: &Map<String, Value>) -> Map<String, Value> {
    object
        .iter()
        .map(|(k, v)| (snake_to_camel(k), v.clone()))
        .collect()
}

fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// Ruby's truthiness: anything but nothing and false.
fn truthy(value: Option<&Value>) -> bool {
    !matches!(value, None | Some(Value::Null) | Some(Value::Bool(false)))
}

fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Whether any selector of a body names an environment: only then must the
/// caller look up which environments exist.
pub fn names_an_environment(body: &Value) -> bool {
    let selectors = body
        .get(SELECTORS)
        .or_else(|| body.get("consumer_version_selectors"));
    selectors.and_then(Value::as_array).is_some_and(|items| {
        items
            .iter()
            .filter_map(Value::as_object)
            .any(|item| item.contains_key("environment"))
    })
}

/// The schema's complaint about one selector key, if any.
fn selector_schema_error(key: &str, value: &Value) -> Option<&'static str> {
    match key {
        "mainBranch" | "matchingBranch" | "deployed" | "released" | "deployedOrReleased" => {
            match value {
                Value::Null => Some("must be filled"),
                Value::Bool(true) => None,
                _ => Some("must be one of: true"),
            }
        }
        "latest" => match value {
            Value::Null => Some("must be filled"),
            Value::Bool(_) => None,
            _ => Some("must be one of: true, false"),
        },
        "branch" => match value {
            v if is_empty_value(v) => Some("must be filled"),
            Value::String(_) | Value::Bool(true) => None,
            _ => Some("must be a string or must be equal to true"),
        },
        _ => match value {
            v if is_empty_value(v) => Some("must be filled"),
            Value::String(_) => None,
            _ => Some("must be a string"),
        },
    }
}

/// The problems of one selector object, as the Pact Broker lists them: each
/// rule is skipped when a key it reads is malformed; key problems carry the
/// key; the list is grouped by key in the order first found.
fn selector_errors(
    item: &Map<String, Value>,
    provider_version_branch: Option<&Value>,
    environment_exists: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut found: Vec<(Option<&str>, String)> = Vec::new();
    let mut malformed: Vec<&str> = Vec::new();
    for key in SCHEMA_KEYS {
        if let Some(message) = item.get(*key).and_then(|v| selector_schema_error(key, v)) {
            found.push((Some(key), format!("{key} {message}")));
            malformed.push(key);
        }
    }
    let ok = |keys: &[&str]| !keys.iter().any(|k| malformed.contains(k));
    let all_keys: Vec<&str> = BRANCH_KEYS
        .iter()
        .chain(ENVIRONMENT_KEYS)
        .chain(&["consumer"])
        .copied()
        .collect();
    let get = |key: &str| item.get(key);
    let is = |key: &str| truthy(get(key));
    let provided = |key: &str| match get(key) {
        Some(Value::String(s)) => !blank(s),
        other => !matches!(other, None | Some(Value::Null)),
    };
    let present_except = |except: &[&str]| {
        all_keys
            .iter()
            .any(|k| !except.contains(k) && item.contains_key(*k))
    };
    let base = |found: &mut Vec<(Option<&str>, String)>, message: &str| {
        found.push((None, message.to_owned()))
    };

    if ok(&["consumer"])
        && let Some(Value::String(consumer)) = get("consumer")
        && blank(consumer)
    {
        found.push((Some("consumer"), "consumer cannot be blank".to_owned()));
    }
    if ok(&all_keys) {
        if !provided("mainBranch")
            && !provided("tag")
            && !provided("branch")
            && !provided("environment")
            && [
                "matchingBranch",
                "deployed",
                "released",
                "deployedOrReleased",
                "latest",
            ]
            .iter()
            .all(|k| get(k) != Some(&Value::Bool(true)))
        {
            base(
                &mut found,
                "must specify a value for environment or tag or branch, or specify mainBranch=true, matchingBranch=true, latest=true, deployed=true, released=true or deployedOrReleased=true",
            );
        }
        if is("mainBranch") && present_except(&["consumer", "mainBranch", "latest"]) {
            base(
                &mut found,
                "cannot specify mainBranch=true with any other criteria apart from consumer",
            );
        }
    }
    if ok(&["mainBranch", "latest"])
        && is("mainBranch")
        && get("latest") == Some(&Value::Bool(false))
    {
        base(
            &mut found,
            "cannot specify mainBranch=true with latest=false",
        );
    }
    if ok(&all_keys) && is("matchingBranch") {
        if present_except(&["consumer", "matchingBranch"]) {
            base(
                &mut found,
                "cannot specify matchingBranch=true with any other criteria apart from consumer",
            );
        }
        let branch_given = match provider_version_branch {
            Some(Value::String(b)) => !blank(b),
            other => !matches!(other, None | Some(Value::Null)),
        };
        if !branch_given {
            base(
                &mut found,
                "the providerVersionBranch must be specified when the selector matchingBranch=true is used",
            );
        }
    }
    if ok(&["tag", "branch"]) && is("tag") && is("branch") {
        base(&mut found, "cannot specify both a tag and a branch");
    }
    if ok(&all_keys) {
        let mut branch_fields: Vec<&str> = BRANCH_KEYS
            .iter()
            .copied()
            .filter(|k| item.contains_key(*k))
            .collect();
        let mut environment_fields: Vec<&str> = ENVIRONMENT_KEYS
            .iter()
            .copied()
            .filter(|k| item.contains_key(*k))
            .collect();
        if !branch_fields.is_empty() && !environment_fields.is_empty() {
            branch_fields.sort_unstable();
            environment_fields.sort_unstable();
            let fields = |count: usize| if count == 1 { "field" } else { "fields" };
            base(
                &mut found,
                &format!(
                    "cannot specify the {} {} with the {} {}",
                    fields(branch_fields.len()),
                    branch_fields.join("/"),
                    fields(environment_fields.len()),
                    environment_fields.join("/")
                ),
            );
        }
    }
    if ok(&["fallbackTag", "tag", "latest"]) && is("fallbackTag") {
        if !is("latest") {
            base(&mut found, "fallbackTag can only be set if latest is true");
        }
        if !is("tag") {
            base(
                &mut found,
                "a tag must be specified when a fallbackTag is specified",
            );
        }
    }
    if ok(&["fallbackBranch", "branch", "latest"]) && is("fallbackBranch") {
        if !is("branch") {
            base(
                &mut found,
                "a branch must be specified when a fallbackBranch is specified",
            );
        }
        if get("latest") == Some(&Value::Bool(false)) {
            base(
                &mut found,
                "fallbackBranch can only be set if latest is true",
            );
        }
    }
    if ok(&["branch", "latest"]) && is("branch") && get("latest") == Some(&Value::Bool(false)) {
        base(&mut found, "cannot specify a branch with latest=false");
    }
    if ok(&["environment"])
        && let Some(Value::String(environment)) = get("environment")
        && !blank(environment)
        && !environment_exists(environment)
    {
        found.push((
            Some("environment"),
            format!("environment with name '{environment}' does not exist"),
        ));
    }
    if ok(&["deployed", "released", "deployedOrReleased"]) {
        if is("deployed") && is("released") {
            base(
                &mut found,
                "cannot specify both deployed=true and released=true",
            );
        }
        if is("deployed") && is("deployedOrReleased") {
            base(
                &mut found,
                "cannot specify both deployed=true and deployedOrReleased=true",
            );
        }
        if is("released") && is("deployedOrReleased") {
            base(
                &mut found,
                "cannot specify both released=true and deployedOrReleased=true",
            );
        }
    }
    // Grouped by key, in the order each key first came.
    let mut keys: Vec<Option<&str>> = Vec::new();
    for (key, _) in &found {
        if !keys.contains(key) {
            keys.push(*key);
        }
    }
    keys.iter()
        .flat_map(|key| {
            found
                .iter()
                .filter(move |(k, _)| k == key)
                .map(|(_, m)| m.clone())
        })
        .collect()
}

/// A selector object as the Pact Broker reads it once valid. `latest`
/// given as a string is the GET form.
fn read_selector(
    item: &Map<String, Value>,
    provider_version_branch: Option<&str>,
) -> Vec<Selector> {
    let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
    let flag = |key: &str| item.get(key) == Some(&Value::Bool(true));
    let mut selector = Selector {
        main_branch: flag("mainBranch"),
        tag: text("tag"),
        matching_branch: flag("matchingBranch"),
        fallback_tag: text("fallbackTag"),
        fallback_branch: text("fallbackBranch"),
        consumer: text("consumer"),
        environment: text("environment"),
        deployed: flag("deployed"),
        released: flag("released"),
        ..Selector::default()
    };
    match item.get("branch") {
        Some(Value::String(branch)) => selector.branch = Some(branch.clone()),
        Some(Value::Bool(true)) => selector.each_branch = true,
        _ => {}
    }
    if selector.main_branch || selector.matching_branch || item.contains_key("branch") {
        selector.latest = Some(true);
    }
    match item.get("latest") {
        Some(Value::Bool(latest)) => selector.latest = Some(*latest),
        Some(Value::String(latest)) => selector.latest = Some(latest == "true"),
        _ => {}
    }
    if selector.matching_branch
        && let Some(branch) = provider_version_branch
    {
        selector.branch = Some(branch.to_owned());
    }
    if flag("deployedOrReleased") {
        selector.deployed = true;
        selector.released = true;
    }
    if selector.deployed && selector.released {
        return vec![
            Selector {
                released: false,
                ..selector.clone()
            },
            Selector {
                deployed: false,
                ..selector
            },
        ];
    }
    vec![selector]
}

/// Reads a POST body. `environment_exists` answers for the environments the
/// selectors name (see `names_an_environment`).
pub fn parse_body(
    body: &Value,
    environment_exists: &dyn Fn(&str) -> bool,
) -> Result<Request, FieldErrors> {
    let mut errors = FieldErrors::default();
    let empty = Map::new();
    let fields = match body {
        Value::Object(fields) => camel_keys(fields),
        Value::Null => empty,
        _ => {
            errors.add("body", "must be a JSON object");
            return Err(errors);
        }
    };
    let branch = fields.get("providerVersionBranch");
    let tags = fields.get("providerVersionTags");
    let selectors = fields.get(SELECTORS);
    let pending = fields.get("includePendingStatus");
    let since = fields.get("includeWipPactsSince");

    if !matches!(branch, None | Some(Value::Null) | Some(Value::String(_))) {
        errors.add("providerVersionBranch", "must be a string");
    }
    match tags {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            if items.iter().any(|t| t.as_str().is_none_or(blank)) {
                // Treaty's own check: a tag is a name, never a number or blank.
                errors.add(
                    "providerVersionTags",
                    "must be an array of non-blank strings",
                );
            }
        }
        Some(_) => errors.add("providerVersionTags", "must be an array"),
    }
    match selectors {
        None => {}
        Some(Value::Array(items)) if items.len() > MAX_SELECTORS => errors.add(
            SELECTORS,
            format!(
                "has {} selectors; at most {MAX_SELECTORS} are accepted in one request",
                items.len()
            ),
        ),
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                if !item.is_object() {
                    errors.add(SELECTORS, format!("must be a hash (at index {index})"));
                }
            }
        }
        Some(_) => errors.add(SELECTORS, "must be an array"),
    }
    let mut include_pending_status = true;
    match pending {
        None => {}
        Some(Value::Null) => errors.add("includePendingStatus", "must be filled"),
        Some(Value::Bool(b)) => include_pending_status = *b,
        Some(_) => errors.add("includePendingStatus", "must be one of: true, false"),
    }
    let mut include_wip_pacts_since = None;
    match since {
        None => {}
        Some(v) if is_empty_value(v) => errors.add("includeWipPactsSince", "must be filled"),
        Some(Value::String(s)) => match parse_date(s) {
            Some(at) => include_wip_pacts_since = Some(at),
            None => errors.add("includeWipPactsSince", "must be a date"),
        },
        Some(_) => errors.add("includeWipPactsSince", "must be a date"),
    }

    // A blank provider branch is refused only where it would be used.
    let top_ok = ![
        "providerVersionBranch",
        "providerVersionTags",
        "includePendingStatus",
        "includeWipPactsSince",
    ]
    .iter()
    .any(|f| errors.has(f));
    if top_ok && let Some(Value::String(b)) = branch {
        if !b.is_empty() && blank(b) {
            errors.add("providerVersionBranch", "cannot be blank");
        } else {
            let any_tag = tags
                .and_then(Value::as_array)
                .is_some_and(|t| t.iter().any(|t| truthy(Some(t))));
            let asks_pending_or_wip = truthy(since) || pending == Some(&Value::Bool(true));
            if !any_tag && asks_pending_or_wip && blank(b) {
                errors.add("providerVersionBranch", PROVIDER_BRANCH_EMPTY);
            }
        }
    }

    let items: Vec<Map<String, Value>> = match selectors {
        Some(Value::Array(items)) if !errors.has(SELECTORS) => items
            .iter()
            .filter_map(Value::as_object)
            .map(camel_keys)
            .collect(),
        _ => Vec::new(),
    };
    for (index, item) in items.iter().enumerate() {
        for message in selector_errors(item, branch, environment_exists) {
            errors.add(SELECTORS, format!("{message} (at index {index})"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let provider_version_branch = branch.and_then(Value::as_str).map(str::to_owned);
    Ok(Request {
        selectors: items
            .iter()
            .flat_map(|item| read_selector(item, provider_version_branch.as_deref()))
            .collect(),
        provider_version_branch,
        provider_version_tags: tags
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        include_pending_status,
        include_wip_pacts_since,
    })
}

/// Reads the deprecated GET form: the query as nested values of strings
/// (`consumer_version_selectors[][tag]=prod&provider_version_tags[]=main`),
/// where each selector is a tag, maybe the latest with it.
pub fn parse_query(query: &Value) -> Result<Request, FieldErrors> {
    let mut errors = FieldErrors::default();
    let empty = Map::new();
    let fields = query.as_object().unwrap_or(&empty);
    let text_error = |value: &Value| -> Option<&'static str> {
        match value {
            v if is_empty_value(v) => Some("must be filled"),
            Value::String(_) => None,
            _ => Some("must be a string"),
        }
    };
    let tags = fields.get("provider_version_tags");
    if tags.is_some_and(|t| !t.is_array()) {
        errors.add("provider_version_tags", "must be an array");
    }
    let selectors = fields.get("consumer_version_selectors");
    let mut items: Vec<&Map<String, Value>> = Vec::new();
    match selectors {
        None => {}
        Some(Value::Array(list)) if list.len() > MAX_SELECTORS => errors.add(
            "consumer_version_selectors",
            format!(
                "has {} selectors; at most {MAX_SELECTORS} are accepted in one request",
                list.len()
            ),
        ),
        Some(Value::Array(list)) => {
            for (index, item) in list.iter().enumerate() {
                let Some(item) = item.as_object() else {
                    errors.add(
                        "consumer_version_selectors",
                        format!("must be a hash (at index {index})"),
                    );
                    continue;
                };
                let mut problems = Vec::new();
                match item.get("tag") {
                    None => problems.push("tag is missing".to_owned()),
                    Some(tag) => problems.extend(text_error(tag).map(|m| format!("tag {m}"))),
                }
                match item.get("latest") {
                    None => {}
                    Some(Value::String(l)) if l == "true" || l == "false" => {}
                    Some(v) if is_empty_value(v) => problems.push("latest must be filled".into()),
                    Some(_) => problems.push("latest must be one of: true, false".into()),
                }
                for key in ["fallback_tag", "consumer"] {
                    if let Some(message) = item.get(key).and_then(text_error) {
                        problems.push(format!("{key} {message}"));
                    }
                }
                for problem in problems {
                    errors.add(
                        "consumer_version_selectors",
                        format!("{problem} (at index {index})"),
                    );
                }
                items.push(item);
            }
        }
        Some(_) => errors.add("consumer_version_selectors", "must be an array"),
    }
    let mut include_pending_status = true;
    match fields.get("include_pending_status") {
        None => {}
        Some(Value::String(s)) if s == "true" || s == "false" => {
            include_pending_status = s == "true"
        }
        Some(v) if is_empty_value(v) => errors.add("include_pending_status", "must be filled"),
        Some(_) => errors.add("include_pending_status", "must be one of: true, false"),
    }
    let mut include_wip_pacts_since = None;
    match fields.get("include_wip_pacts_since") {
        None => {}
        Some(v) if is_empty_value(v) => errors.add("include_wip_pacts_since", "must be filled"),
        Some(Value::String(s)) => match parse_date(s) {
            Some(at) => include_wip_pacts_since = Some(at),
            None => errors.add("include_wip_pacts_since", "must be a date"),
        },
        Some(_) => errors.add("include_wip_pacts_since", "must be a date"),
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let selectors = items
        .iter()
        .map(|item| {
            let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
            Selector {
                tag: text("tag"),
                latest: text("latest").map(|l| l == "true"),
                fallback_tag: text("fallback_tag"),
                consumer: text("consumer"),
                ..Selector::default()
            }
        })
        .collect();
    Ok(Request {
        selectors,
        provider_version_branch: fields
            .get("provider_version_branch")
            .and_then(Value::as_str)
            .map(str::to_owned),
        provider_version_tags: tags
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        include_pending_status,
        include_wip_pacts_since,
    })
}

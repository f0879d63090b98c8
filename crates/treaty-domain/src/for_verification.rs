//! Pacts for verification: which pacts a provider's build must verify, why
//! (the consumer version selectors), and whether a failure may fail the build
//! (pending) — the Pact Broker's semantics and words.
//!
//! Storage finds the consumer versions each selector names and the facts
//! pending status depends on; this module validates requests, merges what
//! several selectors chose, and writes the notices.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

/// One consumer version selector, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Selector {
    pub main_branch: bool,
    pub branch: Option<String>,
    pub matching_branch: bool,
    pub fallback_branch: Option<String>,
    pub tag: Option<String>,
    pub fallback_tag: Option<String>,
    pub latest: bool,
    pub deployed: bool,
    pub released: bool,
    pub environment: Option<String>,
    pub consumer: Option<String>,
}

impl Selector {
    /// The words the Pact Broker uses for a selector in `shortDescription`.
    pub fn short_description(&self) -> String {
        let consumer = self
            .consumer
            .as_deref()
            .map(|c| format!("{c} "))
            .unwrap_or_default();
        if self.main_branch {
            return format!("latest {consumer}from main branch").replace("latest  ", "latest ");
        }
        if let Some(branch) = &self.branch {
            return format!("latest {consumer}from branch {branch}");
        }
        if let Some(tag) = &self.tag {
            return if self.latest {
                format!("latest {consumer}with tag {tag}")
            } else {
                format!("one of {consumer}{tag}")
            };
        }
        match (&self.environment, self.deployed, self.released) {
            (Some(e), true, false) => return format!("deployed to {e}"),
            (Some(e), false, true) => return format!("released in {e}"),
            (Some(e), _, _) => return format!("deployed or released in {e}"),
            (None, true, _) => return "deployed".to_owned(),
            (None, _, true) => return "released".to_owned(),
            _ => {}
        }
        if self.latest {
            return format!("latest {consumer}").trim_end().to_owned();
        }
        "all".to_owned()
    }
}

/// A validated pacts-for-verification request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// Empty: the defaults (main branch per consumer, deployed, released).
    pub selectors: Vec<Selector>,
    pub provider_version_branch: Option<String>,
    pub provider_version_tags: Vec<String>,
    pub include_pending_status: bool,
    pub include_wip_pacts_since: Option<DateTime<Utc>>,
}

/// The most consumer version selectors one request may give. Real
/// providers give a handful (the defaults are three; the Pact docs' examples
/// a few more); the Pact Broker sets no limit, but each selector is a
/// question to the database, and a 10 MiB body holds half a million.
pub const MAX_SELECTORS: usize = 1_000;

const SELECTOR_KEYS: &[&str] = &[
    "mainBranch",
    "branch",
    "matchingBranch",
    "fallbackBranch",
    "tag",
    "fallbackTag",
    "latest",
    "deployed",
    "released",
    "deployedOrReleased",
    "environment",
    "consumer",
];

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

/// Reads the request body (or the GET query, as the same shape with
/// snake_case keys), naming every problem.
pub fn parse_request(body: &Value) -> Result<Request, Vec<String>> {
    let mut errors = Vec::new();
    let Some(fields) = body.as_object() else {
        return Err(vec!["The request body must be a JSON object".to_owned()]);
    };
    let fields: Map<String, Value> = fields
        .iter()
        .map(|(k, v)| (snake_to_camel(k), v.clone()))
        .collect();
    let mut request = Request {
        include_pending_status: true,
        ..Request::default()
    };
    match fields.get("providerVersionBranch") {
        None | Some(Value::Null) => {}
        Some(Value::String(b)) => request.provider_version_branch = Some(b.clone()),
        Some(_) => errors.push("providerVersionBranch must be a string".to_owned()),
    }
    match fields.get("providerVersionTags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(tags)) => {
            for tag in tags {
                match tag.as_str() {
                    Some(t) if !t.trim().is_empty() => {
                        request.provider_version_tags.push(t.to_owned())
                    }
                    _ => errors
                        .push("providerVersionTags must be a list of non-blank strings".to_owned()),
                }
            }
        }
        Some(Value::String(t)) => request.provider_version_tags.push(t.clone()),
        Some(_) => errors.push("providerVersionTags must be a list of strings".to_owned()),
    }
    match fields.get("includePendingStatus") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => request.include_pending_status = *b,
        Some(Value::String(s)) if s == "true" || s == "false" => {
            request.include_pending_status = s == "true"
        }
        Some(_) => errors.push("includePendingStatus must be true or false".to_owned()),
    }
    match fields.get("includeWipPactsSince") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => match parse_date(s) {
            Some(at) => request.include_wip_pacts_since = Some(at),
            None => errors.push(format!(
                "includeWipPactsSince must be a date like 2024-01-31 or a timestamp (got '{s}')"
            )),
        },
        Some(_) => errors.push("includeWipPactsSince must be a date string".to_owned()),
    }
    match fields.get("consumerVersionSelectors") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.len() > MAX_SELECTORS => errors.push(format!(
            "consumerVersionSelectors has {} selectors; at most {MAX_SELECTORS} are accepted in one request",
            items.len()
        )),
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                match parse_selector(item, &request) {
                    Ok(selectors) => request.selectors.extend(selectors),
                    Err(messages) => errors.extend(
                        messages
                            .into_iter()
                            .map(|m| format!("consumerVersionSelectors[{index}]: {m}")),
                    ),
                }
            }
        }
        Some(_) => {
            errors.push("consumerVersionSelectors must be a list of selector objects".to_owned())
        }
    }
    if request.provider_version_branch.as_deref() == Some("")
        && request.provider_version_tags.is_empty()
        && (request.include_pending_status || request.include_wip_pacts_since.is_some())
    {
        errors.push(
            "providerVersionBranch cannot be blank when pending or WIP pacts are requested"
                .to_owned(),
        );
    }
    if errors.is_empty() {
        Ok(request)
    } else {
        Err(errors)
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

/// One selector object; `deployedOrReleased` becomes two selectors.
fn parse_selector(item: &Value, request: &Request) -> Result<Vec<Selector>, Vec<String>> {
    let Some(object) = item.as_object() else {
        return Err(vec!["a selector must be an object".to_owned()]);
    };
    let object: Map<String, Value> = object
        .iter()
        .map(|(k, v)| (snake_to_camel(k), v.clone()))
        .collect();
    let mut errors = Vec::new();
    for key in object.keys() {
        if !SELECTOR_KEYS.contains(&key.as_str()) {
            errors.push(format!(
                "unknown key '{key}' (known keys: {})",
                SELECTOR_KEYS.join(", ")
            ));
        }
    }
    let mut flag = |key: &str| -> Option<bool> {
        match object.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) if s == "true" || s == "false" => Some(s == "true"),
            Some(_) => {
                errors.push(format!("{key} must be true or false"));
                None
            }
        }
    };
    let main_branch = flag("mainBranch");
    let matching_branch = flag("matchingBranch");
    let latest = flag("latest");
    let deployed = flag("deployed");
    let released = flag("released");
    let deployed_or_released = flag("deployedOrReleased");
    let mut text = |key: &str| -> Option<String> {
        match object.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(Value::String(_)) => {
                errors.push(format!("{key} cannot be blank"));
                None
            }
            Some(_) => {
                errors.push(format!("{key} must be a string"));
                None
            }
        }
    };
    let branch = text("branch");
    let fallback_branch = text("fallbackBranch");
    let tag = text("tag");
    let fallback_tag = text("fallbackTag");
    let environment = text("environment");
    let consumer = text("consumer");

    let picks = [
        main_branch == Some(true),
        branch.is_some(),
        matching_branch == Some(true),
        tag.is_some(),
        deployed == Some(true)
            || released == Some(true)
            || deployed_or_released == Some(true)
            || environment.is_some(),
        latest == Some(true) && tag.is_none() && branch.is_none(),
    ];
    if picks.iter().all(|p| !p) {
        errors.push("must specify a value for environment or tag or branch, or specify mainBranch=true, matchingBranch=true, latest=true, deployed=true, released=true or deployedOrReleased=true".to_owned());
    }
    if main_branch == Some(true)
        && (branch.is_some()
            || tag.is_some()
            || matching_branch == Some(true)
            || latest.is_some()
            || environment.is_some()
            || deployed.is_some()
            || released.is_some())
    {
        errors.push(
            "cannot specify mainBranch=true with any other criteria apart from consumer".to_owned(),
        );
    }
    if matching_branch == Some(true) && request.provider_version_branch.is_none() {
        errors.push("the providerVersionBranch must be specified when the selector matchingBranch=true is used".to_owned());
    }
    let branch_keys =
        branch.is_some() || matching_branch == Some(true) || fallback_branch.is_some();
    let environment_keys = deployed.is_some()
        || released.is_some()
        || deployed_or_released.is_some()
        || environment.is_some();
    if branch_keys && environment_keys {
        errors.push("cannot specify a branch with deployed, released or environment".to_owned());
    }
    if tag.is_some() && (branch_keys || environment_keys) {
        errors.push(
            "cannot specify a tag with a branch, deployed, released or environment".to_owned(),
        );
    }
    if branch.is_some() && latest == Some(false) {
        errors.push("cannot specify latest=false with branch: a branch selector always means its latest version".to_owned());
    }
    if fallback_tag.is_some() && !(tag.is_some() && latest == Some(true)) {
        errors.push("fallbackTag can only be set with tag and latest=true".to_owned());
    }
    if fallback_branch.is_some() && branch.is_none() && matching_branch != Some(true) {
        errors.push("fallbackBranch can only be set with branch or matchingBranch".to_owned());
    }
    if deployed_or_released == Some(true) && (deployed.is_some() || released.is_some()) {
        errors.push("cannot specify deployedOrReleased with deployed or released".to_owned());
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let base = Selector {
        main_branch: main_branch == Some(true),
        branch: if matching_branch == Some(true) {
            request.provider_version_branch.clone()
        } else {
            branch
        },
        matching_branch: matching_branch == Some(true),
        fallback_branch,
        tag,
        fallback_tag,
        latest: latest == Some(true),
        deployed: deployed == Some(true),
        released: released == Some(true),
        environment,
        consumer,
    };
    if deployed_or_released == Some(true) {
        return Ok(vec![
            Selector {
                deployed: true,
                released: false,
                ..base.clone()
            },
            Selector {
                deployed: false,
                released: true,
                ..base
            },
        ]);
    }
    if base.environment.is_some() && !base.deployed && !base.released {
        return Ok(vec![
            Selector {
                deployed: true,
                ..base.clone()
            },
            Selector {
                released: true,
                ..base
            },
        ]);
    }
    Ok(vec![base])
}

/// A consumer version one selector chose, with the pact it published for the provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chosen {
    pub selector: Selector,
    pub consumer: String,
    pub consumer_version_id: i64,
    pub consumer_version: String,
    pub sha: String,
    /// The environment it is deployed or released in, for `deployed`/`released` selectors.
    pub environment: Option<String>,
    /// The fallback was used (no pact for the tag or branch asked for).
    pub fallback: bool,
}

/// One pact to verify, after merging every selector that chose its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiablePact {
    pub consumer: String,
    pub sha: String,
    /// The newest consumer version with this content among those chosen.
    pub consumer_version: String,
    pub consumer_version_id: i64,
    pub chosen: Vec<Chosen>,
    pub pending: Option<bool>,
    pub wip: bool,
}

/// Merges chosen consumer versions by (consumer, content), keeping every
/// reason once, in the order given.
pub fn merge(chosen: Vec<Chosen>) -> Vec<VerifiablePact> {
    let mut merged: BTreeMap<(String, String, String), VerifiablePact> = BTreeMap::new();
    // The same reason can come twice (a selector given twice, a version
    // deployed to two instances): dropped here in one pass, not by
    // searching each pact's reasons, which was quadratic in the selectors.
    let mut seen: HashSet<Chosen> = HashSet::new();
    for item in chosen {
        if seen.contains(&item) {
            continue;
        }
        let key = (
            item.consumer.to_lowercase(),
            item.consumer.clone(),
            item.sha.clone(),
        );
        let entry = merged.entry(key).or_insert_with(|| VerifiablePact {
            consumer: item.consumer.clone(),
            sha: item.sha.clone(),
            consumer_version: item.consumer_version.clone(),
            consumer_version_id: item.consumer_version_id,
            chosen: Vec::new(),
            pending: None,
            wip: false,
        });
        if item.consumer_version_id > entry.consumer_version_id {
            entry.consumer_version_id = item.consumer_version_id;
            entry.consumer_version = item.consumer_version.clone();
        }
        seen.insert(item.clone());
        entry.chosen.push(item);
    }
    let mut pacts: Vec<VerifiablePact> = merged.into_values().collect();
    pacts.sort_by(|a, b| {
        a.consumer
            .to_lowercase()
            .cmp(&b.consumer.to_lowercase())
            .then(a.consumer_version_id.cmp(&b.consumer_version_id))
    });
    pacts
}

/// `shortDescription`: every selector's words, joined.
pub fn short_description(pact: &VerifiablePact) -> String {
    if pact.wip {
        return "work in progress".to_owned();
    }
    let mut words: Vec<String> = Vec::new();
    let mut said: HashSet<String> = HashSet::new();
    for chosen in &pact.chosen {
        let text = match (
            &chosen.environment,
            chosen.selector.deployed,
            chosen.selector.released,
        ) {
            (Some(e), true, _) => format!("deployed to {e}"),
            (Some(e), _, true) => format!("released in {e}"),
            _ => chosen.selector.short_description(),
        };
        if said.insert(text.clone()) {
            words.push(text);
        }
    }
    words.join(", ")
}

/// The criterion a chosen version matched, as the inclusion notice words it.
fn criterion(chosen: &Chosen) -> String {
    let s = &chosen.selector;
    let v = &chosen.consumer_version;
    let of = s
        .consumer
        .as_deref()
        .map(|c| format!("of {c} "))
        .unwrap_or_default();
    if chosen.fallback {
        if let Some(tag) = &s.fallback_tag {
            return format!(
                "latest version {of}tagged '{tag}' (fallback tag used as no pact was found with tag '{}') ({v})",
                s.tag.as_deref().unwrap_or("")
            );
        }
        if let Some(branch) = &s.fallback_branch {
            return format!(
                "latest version {of}from branch '{branch}' (fallback branch used as no pact was found from branch '{}') ({v})",
                s.branch.as_deref().unwrap_or("")
            );
        }
    }
    if s.main_branch {
        return format!("latest version {of}from the main branch ({v})");
    }
    if let Some(branch) = &s.branch {
        return format!("latest version {of}from branch '{branch}' ({v})");
    }
    if let Some(tag) = &s.tag {
        return if s.latest {
            format!("latest version {of}tagged '{tag}' ({v})")
        } else {
            format!("all consumer versions {of}tagged '{tag}' ({v})")
        };
    }
    if s.deployed {
        return format!(
            "consumer version(s) currently deployed to {} ({v})",
            chosen.environment.as_deref().unwrap_or("an environment")
        );
    }
    if s.released {
        return format!(
            "version(s) of {} released and supported in {} ({v})",
            chosen.consumer,
            chosen.environment.as_deref().unwrap_or("an environment")
        );
    }
    format!("latest version of a consumer that has a pact with the provider ({v})")
}

/// The notices the verifier prints: why the pact is verified, and whether a failure fails the build.
pub fn notices(
    pact: &VerifiablePact,
    pact_url: &str,
    provider: &str,
    request: &Request,
) -> Vec<(String, String)> {
    let mut notices = Vec::new();
    if pact.wip {
        let branch = request.provider_version_branch.as_deref().unwrap_or("");
        notices.push((
            "before_verification".to_owned(),
            format!(
                "The pact at {pact_url} is being verified because it is a 'work in progress' pact (ie. it is the pact for the latest version of {} and it has not yet been successfully verified by a version of {provider} from branch '{branch}' when the pact's application version was explicitly specified in the consumer version selectors). Read more at https://docs.pact.io/go/wip",
                pact.consumer
            ),
        ));
    } else {
        let criteria: Vec<String> = pact.chosen.iter().map(criterion).collect();
        let noun = if criteria.len() == 1 {
            "criterion"
        } else {
            "criteria"
        };
        notices.push((
            "before_verification".to_owned(),
            format!(
                "The pact at {pact_url} is being verified because the pact content belongs to the consumer version matching the following {noun}:\n{}",
                criteria.iter().map(|c| format!("    * {c}")).collect::<Vec<_>>().join("\n")
            ),
        ));
    }
    let who = match (
        &request.provider_version_branch,
        request.provider_version_tags.as_slice(),
    ) {
        (Some(branch), _) => format!("a version of {provider} from branch '{branch}'"),
        (None, []) => format!("any version of {provider}"),
        (None, tags) => format!(
            "a version of {provider} with tag {}",
            tags.iter()
                .map(|t| format!("'{t}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    match pact.pending {
        Some(true) => {
            notices.push((
                "before_verification".to_owned(),
                format!("This pact is in pending state for this version of {provider} because a successful verification result for {who} has not yet been published. If this verification fails, it will not cause the overall build to fail. Read more at https://docs.pact.io/go/pending"),
            ));
            notices.push(("after_verification:success_true_published_false".to_owned(), format!("This pact is still in pending state for {who} as the successful verification results have not yet been published.")));
            notices.push(("after_verification:success_false_published_false".to_owned(), format!("This pact is still in pending state for {who} as the successful verification results have not yet been published.")));
            notices.push(("after_verification:success_true_published_true".to_owned(), format!("This pact is no longer in pending state for {who}, as a successful verification result for this version has been published. If a verification for a version of {provider} fails in the future, it will fail the build. Read more at https://docs.pact.io/go/pending")));
            notices.push(("after_verification:success_false_published_true".to_owned(), format!("This pact is still in pending state for {who} as a successful verification result has not yet been published.")));
        }
        Some(false) => {
            notices.push((
                "before_verification".to_owned(),
                format!("This pact has previously been successfully verified by {who}. If this verification fails, it will fail the build. Read more at https://docs.pact.io/go/pending"),
            ));
        }
        None => {}
    }
    notices
}

/// A successful verification of a pact content, as pending status needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuccessfulVerification {
    pub provider_version_branches: Vec<String>,
    pub provider_version_tags: Vec<String>,
    pub verified_at: DateTime<Utc>,
    pub wip: bool,
}

/// Whether a content is pending for the provider version being built.
/// `branch_created_at`: when the provider's branch (or each tag) was first used, if ever.
pub fn is_pending(
    request: &Request,
    successes: &[SuccessfulVerification],
    branch_created_at: Option<DateTime<Utc>>,
    tag_first_used: &BTreeMap<String, DateTime<Utc>>,
) -> bool {
    let explicit = || successes.iter().filter(|s| !s.wip);
    if let Some(branch) = &request.provider_version_branch {
        let on_branch = successes
            .iter()
            .any(|s| s.provider_version_branches.contains(branch));
        let before_branch_existed =
            explicit().any(|s| branch_created_at.is_none_or(|created| s.verified_at < created));
        return !(on_branch || before_branch_existed);
    }
    if !request.provider_version_tags.is_empty() {
        return request.provider_version_tags.iter().any(|tag| {
            let by_tag = successes
                .iter()
                .any(|s| s.provider_version_tags.contains(tag));
            let before_tag = explicit().any(|s| {
                tag_first_used
                    .get(tag)
                    .is_none_or(|first| s.verified_at < *first)
            });
            !(by_tag || before_tag)
        });
    }
    successes.is_empty()
}

/// The metadata carried in a pact's URL, so a verification result published
/// there says how the pact was selected: base64url (no padding) of a Rack
/// nested query.
pub fn metadata(pact: &VerifiablePact) -> String {
    use base64::Engine;
    let mut pairs: Vec<(String, String)> = Vec::new();
    if pact.wip {
        pairs.push(("w".into(), "true".into()));
    } else {
        for chosen in &pact.chosen {
            let s = &chosen.selector;
            if let Some(b) = &s.branch {
                pairs.push(("s[][b]".into(), b.clone()));
            }
            if s.main_branch {
                pairs.push(("s[][b]".into(), "main".into()));
            }
            if let Some(t) = &s.tag {
                pairs.push(("s[][t]".into(), t.clone()));
            }
            if s.latest {
                pairs.push(("s[][l]".into(), "true".into()));
            }
            if let Some(e) = &chosen.environment {
                pairs.push(("s[][e]".into(), e.clone()));
            }
            pairs.push(("s[][cv]".into(), chosen.consumer_version_id.to_string()));
        }
        if let Some(pending) = pact.pending {
            pairs.push(("p".into(), pending.to_string()));
        }
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(query)
}

/// Whether URL metadata says the pact was verified as a work in progress.
pub fn metadata_is_wip(metadata: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(metadata.trim_end_matches('='))
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .is_some_and(|query| {
            form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "w" && v == "true")
        })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn parse(body: Value) -> Result<Request, Vec<String>> {
        parse_request(&body)
    }

    #[test]
    fn include_pending_status_defaults_to_true_and_deployed_or_released_splits() {
        let request =
            parse(json!({"consumerVersionSelectors": [{"deployedOrReleased": true}]})).unwrap();
        assert!(request.include_pending_status);
        assert_eq!(request.selectors.len(), 2);
        assert!(request.selectors[0].deployed && request.selectors[1].released);
        let off = parse(json!({"includePendingStatus": false})).unwrap();
        assert!(!off.include_pending_status);
    }

    #[test]
    fn the_get_form_with_snake_case_keys_reads_the_same() {
        let request = parse(json!({
            "consumer_version_selectors": [{"tag": "prod", "latest": "true"}],
            "provider_version_tags": ["main"], "include_pending_status": "false"
        }))
        .unwrap();
        assert_eq!(request.selectors[0].tag.as_deref(), Some("prod"));
        assert!(request.selectors[0].latest);
        assert_eq!(request.provider_version_tags, ["main"]);
        assert!(!request.include_pending_status);
    }

    #[test]
    fn matching_branch_takes_the_provider_branch() {
        let request = parse(json!({"providerVersionBranch": "feat-x", "consumerVersionSelectors": [{"matchingBranch": true}]})).unwrap();
        assert_eq!(request.selectors[0].branch.as_deref(), Some("feat-x"));
        let errors =
            parse(json!({"consumerVersionSelectors": [{"matchingBranch": true}]})).unwrap_err();
        assert!(errors[0].contains("the providerVersionBranch must be specified when the selector matchingBranch=true is used"), "{errors:?}");
    }

    #[test]
    fn malformed_selectors_are_refused_with_what_is_wrong() {
        for (selector, expected) in [
            (json!({"bogus": true}), "unknown key 'bogus'"),
            (json!({"tag": 5}), "tag must be a string"),
            (json!({"latest": "yes"}), "latest must be true or false"),
            (
                json!({}),
                "must specify a value for environment or tag or branch",
            ),
            (
                json!({"mainBranch": true, "tag": "x"}),
                "cannot specify mainBranch=true with any other criteria apart from consumer",
            ),
            (
                json!({"branch": "x", "deployed": true}),
                "cannot specify a branch with deployed",
            ),
            (
                json!({"branch": "x", "latest": false}),
                "cannot specify latest=false with branch",
            ),
            (
                json!({"tag": "x", "fallbackTag": "y"}),
                "fallbackTag can only be set with tag and latest=true",
            ),
            (json!("mainBranch"), "a selector must be an object"),
        ] {
            let errors =
                parse(json!({"consumerVersionSelectors": [selector.clone()]})).unwrap_err();
            assert!(
                errors.iter().any(|e| e.contains(expected)),
                "{selector}: {errors:?}"
            );
        }
        assert!(parse(json!({"consumerVersionSelectors": {"tag": "x"}})).is_err());
        assert!(parse(json!({"includeWipPactsSince": "last tuesday"})).is_err());
        assert!(parse(json!([1])).is_err());
    }

    #[test]
    fn at_most_a_thousand_selectors_are_taken() {
        let selectors = |count: usize| -> Value {
            let list: Vec<Value> = (0..count)
                .map(|i| json!({"branch": format!("b{i}")}))
                .collect();
            json!({ "consumerVersionSelectors": list })
        };
        assert_eq!(
            parse(selectors(MAX_SELECTORS)).unwrap().selectors.len(),
            1_000
        );
        let errors = parse(selectors(MAX_SELECTORS + 1)).unwrap_err();
        assert_eq!(
            errors,
            [
                "consumerVersionSelectors has 1001 selectors; at most 1000 are accepted in one request"
            ]
        );
    }

    #[test]
    fn a_reason_given_twice_is_kept_once() {
        let prod = Selector {
            tag: Some("prod".into()),
            latest: true,
            ..Selector::default()
        };
        let merged = merge(vec![
            chosen(prod.clone(), 1, "a"),
            chosen(prod.clone(), 1, "a"),
            chosen(prod, 2, "a"),
        ]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].chosen.len(), 2);
        assert_eq!(short_description(&merged[0]), "latest with tag prod");
    }

    fn chosen(selector: Selector, version: i64, sha: &str) -> Chosen {
        Chosen {
            selector,
            consumer: "Foo".into(),
            consumer_version_id: version,
            consumer_version: version.to_string(),
            sha: sha.into(),
            environment: None,
            fallback: false,
        }
    }

    #[test]
    fn pacts_chosen_by_several_selectors_are_merged_with_every_reason() {
        let main = Selector {
            main_branch: true,
            ..Selector::default()
        };
        let prod = Selector {
            tag: Some("prod".into()),
            latest: true,
            ..Selector::default()
        };
        let merged = merge(vec![
            chosen(main, 2, "a"),
            chosen(prod, 1, "a"),
            chosen(
                Selector {
                    latest: true,
                    ..Selector::default()
                },
                3,
                "b",
            ),
        ]);
        assert_eq!(merged.len(), 2);
        assert_eq!(
            merged[0].consumer_version, "2",
            "the newest consumer version represents the content"
        );
        assert_eq!(
            short_description(&merged[0]),
            "latest from main branch, latest with tag prod"
        );
        let notices = notices(&merged[0], "http://b/p", "Bar", &Request::default());
        assert!(notices[0].1.contains("following criteria:\n    * latest version from the main branch (2)\n    * latest version tagged 'prod' (1)"), "{}", notices[0].1);
    }

    fn success(branches: &[&str], second: u32, wip: bool) -> SuccessfulVerification {
        SuccessfulVerification {
            provider_version_branches: branches.iter().map(|b| (*b).to_owned()).collect(),
            provider_version_tags: Vec::new(),
            verified_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, second).unwrap(),
            wip,
        }
    }

    #[test]
    fn pending_until_the_providers_branch_verifies_it() {
        let on_main = Request {
            provider_version_branch: Some("main".into()),
            ..Request::default()
        };
        let none = BTreeMap::new();
        assert!(is_pending(&on_main, &[], None, &none));
        assert!(!is_pending(
            &on_main,
            &[success(&["main"], 1, false)],
            None,
            &none
        ));
        // A success from another branch counts only if it came before the branch existed.
        let created = Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 30).unwrap());
        assert!(!is_pending(
            &on_main,
            &[success(&["feat"], 10, false)],
            created,
            &none
        ));
        assert!(is_pending(
            &on_main,
            &[success(&["feat"], 40, false)],
            created,
            &none
        ));
        // No branch, no tags: pending until anyone verifies it.
        assert!(is_pending(&Request::default(), &[], None, &none));
        assert!(!is_pending(
            &Request::default(),
            &[success(&[], 1, false)],
            None,
            &none
        ));
    }

    #[test]
    fn pending_by_tag() {
        let tagged = Request {
            provider_version_tags: vec!["prod".into()],
            ..Request::default()
        };
        let mut verified = success(&[], 1, false);
        verified.provider_version_tags = vec!["prod".into()];
        assert!(!is_pending(&tagged, &[verified], None, &BTreeMap::new()));
        let first_used = BTreeMap::from([(
            "prod".to_owned(),
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        )]);
        assert!(is_pending(
            &tagged,
            &[success(&[], 5, false)],
            None,
            &first_used
        ));
    }

    #[test]
    fn wip_metadata_round_trips() {
        let pact = VerifiablePact {
            consumer: "Foo".into(),
            sha: "a".into(),
            consumer_version: "1".into(),
            consumer_version_id: 1,
            chosen: vec![],
            pending: Some(true),
            wip: true,
        };
        assert!(metadata_is_wip(&metadata(&pact)));
        let selected = VerifiablePact { wip: false, ..pact };
        assert!(!metadata_is_wip(&metadata(&selected)));
        assert!(!metadata_is_wip("%%%not-base64"));
    }
}

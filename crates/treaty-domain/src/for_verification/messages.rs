//! The words of pacts for verification, as the Pact Broker 2.120 writes them
//! (its `VerifiablePactMessages`): the short description Pact Go names its
//! tests with, the notices verifiers print, and the metadata carried in each
//! pact's address.

use super::{Chosen, Kind, Request, Selector, VerifiablePact};

const READ_MORE_PENDING: &str = "Read more at https://docs.pact.io/go/pending";
const READ_MORE_WIP: &str = "Read more at https://docs.pact.io/go/wip";

/// The notice a deprecated GET request gets first.
pub const DEPRECATED_GET: &str = "WARNING - this version of the Pact library uses a beta version of the API which will be removed in the future. Please upgrade your Pact library. See https://docs.pact.io/pact_broker/advanced_topics/provider_verification_results/#pacts-for-verification for minimum required versions.";

/// `shortDescription`: each reason in a few words, joined.
pub fn short_description(pact: &VerifiablePact) -> String {
    pact.chosen
        .iter()
        .map(short_reason)
        .collect::<Vec<_>>()
        .join(", ")
}

fn short_reason(chosen: &Chosen) -> String {
    let s = &chosen.selector;
    let environment = chosen
        .environment
        .as_ref()
        .map(|e| e.name.as_str())
        .or(s.environment.as_deref())
        .unwrap_or("");
    if s.overall_latest() {
        "latest".to_owned()
    } else if s.is_latest_for_tag() {
        let tag = used_fallback_tag(chosen).or(s.tag.as_deref()).unwrap_or("");
        format!("latest with tag {tag}")
    } else if s.main_branch {
        "latest from main branch".to_owned()
    } else if s.is_latest_for_branch() {
        format!("latest from branch {}", s.branch.as_deref().unwrap_or(""))
    } else if let (Some(tag), true) = (&s.tag, s.all_for_tag()) {
        match &s.consumer {
            Some(consumer) => format!("one of {consumer} {tag}"),
            None => format!("one of {tag}"),
        }
    } else if s.deployed {
        format!("deployed to {environment}")
    } else if s.released {
        format!("released in {environment}")
    } else if s.environment.is_some() {
        // The Pact Broker prints its internal objects here (a bug, see docs/api.md).
        format!("in environment {environment}")
    } else if s.each_branch {
        // Likewise; Treaty names what was chosen.
        "latest from each branch".to_owned()
    } else {
        "latest".to_owned()
    }
}

fn used_fallback_tag(chosen: &Chosen) -> Option<&str> {
    chosen
        .selector
        .fallback_tag
        .as_deref()
        .filter(|_| chosen.fallback)
}

/// `'a'`, `'a' and 'b'`, `'a', 'b' and 'c'`.
fn join_quoted(words: &[String]) -> String {
    join(&words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>())
}

fn join(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The criterion one reason matched, for the inclusion notice.
fn reason(chosen: &Chosen, pact: &VerifiablePact, provider: &str) -> String {
    let s = &chosen.selector;
    let version_label = match &s.consumer {
        Some(consumer) => format!("version of {consumer}"),
        None => "version".to_owned(),
    };
    let consumer_label = s.consumer.as_deref().unwrap_or("a consumer");
    let description = if s.overall_latest() {
        format!("latest version of {consumer_label} that has a pact with {provider}")
    } else if s.is_latest_for_tag() {
        let tag = s.tag.as_deref().unwrap_or("");
        match used_fallback_tag(chosen) {
            Some(fallback) => format!(
                "latest {version_label} tagged '{fallback}' (fallback tag used as no pact was found with tag '{tag}')"
            ),
            None => format!("latest {version_label} tagged '{tag}'"),
        }
    } else if s.main_branch {
        format!(
            "latest {version_label} from the main branch '{}'",
            pact.consumer_main_branch.as_deref().unwrap_or("")
        )
    } else if s.is_latest_for_branch() {
        format!(
            "latest {version_label} from branch '{}'",
            s.branch.as_deref().unwrap_or("")
        )
    } else if let (Some(tag), true) = (&s.tag, s.all_for_tag()) {
        match &s.consumer {
            Some(consumer) => format!("all {consumer} versions tagged '{tag}'"),
            None => format!("all consumer versions tagged '{tag}'"),
        }
    } else if s.environment.is_some() {
        let environment = chosen
            .environment
            .as_ref()
            .map(|e| e.name.as_str())
            .unwrap_or("");
        format!("{consumer_label} version in environment {environment}")
    } else if s.each_branch {
        format!("latest {version_label} from each branch")
    } else {
        format!("{version_label} chosen by {s:?}")
    };
    format!("{description} ({})", chosen.consumer_version)
}

/// Deployed (or released) reasons, one line per consumer naming every environment.
fn environment_reasons(group: &[&Chosen], verb: &str) -> Vec<String> {
    let mut consumers: Vec<(Option<&str>, Vec<String>)> = Vec::new();
    for chosen in group {
        let consumer = chosen.selector.consumer.as_deref();
        let place = format!(
            "{} ({})",
            chosen
                .environment
                .as_ref()
                .map(|e| e.name.as_str())
                .unwrap_or(""),
            chosen.consumer_version
        );
        match consumers.iter_mut().find(|(c, _)| *c == consumer) {
            Some((_, places)) => places.push(place),
            None => consumers.push((consumer, vec![place])),
        }
    }
    consumers
        .into_iter()
        .map(|(consumer, places)| {
            let who = match consumer {
                Some(consumer) => format!("version(s) of {consumer}"),
                None => "consumer version(s)".to_owned(),
            };
            format!("{who} {verb} {}", join(&places))
        })
        .collect()
}

/// Every reason, grouped by kind in the order the kinds first come.
fn reasons(pact: &VerifiablePact, provider: &str) -> String {
    let mut groups: Vec<(Kind, Vec<&Chosen>)> = Vec::new();
    for chosen in &pact.chosen {
        let kind = chosen.selector.kind();
        match groups.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, members)) => members.push(chosen),
            None => groups.push((kind, vec![chosen])),
        }
    }
    let mut lines = Vec::new();
    for (kind, members) in groups {
        match kind {
            Kind::CurrentlyDeployed => {
                lines.extend(environment_reasons(&members, "currently deployed to"))
            }
            Kind::CurrentlySupported => {
                lines.extend(environment_reasons(&members, "released and supported in"))
            }
            _ => lines.extend(members.iter().map(|c| reason(c, pact, provider))),
        }
    }
    lines
        .iter()
        .map(|line| format!("    * {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn heads(pact: &VerifiablePact) -> (Vec<String>, Vec<String>) {
    let mut tags: Vec<String> = Vec::new();
    let mut branches: Vec<String> = Vec::new();
    for selector in pact.chosen.iter().map(|c| &c.selector) {
        if let (true, Some(tag)) = (selector.is_latest_for_tag(), &selector.tag)
            && !tags.contains(tag)
        {
            tags.push(tag.clone());
        }
        if let (true, Some(branch)) = (selector.is_latest_for_branch(), &selector.branch)
            && !branches.contains(branch)
        {
            branches.push(branch.clone());
        }
    }
    (tags, branches)
}

fn inclusion_reason(
    pact: &VerifiablePact,
    pact_url: &str,
    provider: &str,
    who: &Who<'_>,
) -> String {
    if pact.wip {
        let (tags, branches) = heads(pact);
        let versions = if tags.len() == 1 || branches.len() == 1 {
            "version"
        } else {
            "versions"
        };
        let mut parts = Vec::new();
        if !branches.is_empty() {
            let noun = if branches.len() == 1 {
                "branch"
            } else {
                "branches"
            };
            parts.push(format!("from {noun} {}", join_quoted(&branches)));
        }
        if !tags.is_empty() {
            parts.push(format!("tagged with {}", join_quoted(&tags)));
        }
        let same_content = match pact.chosen.len() {
            1 => "",
            2 => " (both have the same content)",
            _ => " (all have the same content)",
        };
        format!(
            "The pact at {pact_url} is being verified because it is a 'work in progress' pact (ie. it is the pact for the latest {versions} of {} {}{same_content} and it has not yet been successfully verified by {} when the pact's application version was explicitly specified in the consumer version selectors). {READ_MORE_WIP}",
            pact.consumer,
            parts.join(" and "),
            who.pending("a"),
        )
    } else {
        let (versions, criteria) = if pact.chosen.len() == 1 {
            ("the consumer version", "criterion")
        } else {
            ("the consumer versions", "criteria")
        };
        format!(
            "The pact at {pact_url} is being verified because the pact content belongs to {versions} matching the following {criteria}:\n{}",
            reasons(pact, provider)
        )
    }
}

/// Who a pact is pending (or not) for: the provider's branch, its tags, or
/// the provider as a whole.
struct Who<'a> {
    provider: &'a str,
    branch: Option<&'a str>,
    pending_tags: &'a [String],
    non_pending_tags: &'a [String],
}

impl Who<'_> {
    fn pending(&self, any_or_a: &str) -> String {
        let provider = self.provider;
        if let Some(branch) = self.branch {
            return format!("{any_or_a} version of {provider} from branch '{branch}'");
        }
        match self.pending_tags {
            [] => provider.to_owned(),
            [tag] => format!("{any_or_a} version of {provider} with tag '{tag}'"),
            tags => format!(
                "{any_or_a} versions of {provider} with tag {}",
                join_quoted(tags)
            ),
        }
    }

    fn not_pending(&self) -> String {
        let provider = self.provider;
        if let Some(branch) = self.branch {
            return format!("a version of {provider} from branch '{branch}'");
        }
        match self.non_pending_tags {
            [] => provider.to_owned(),
            [tag] => format!("a version of {provider} with tag '{tag}'"),
            tags => format!("a version of {provider} with tag {}", join_quoted(tags)),
        }
    }

    fn with_these_tags(&self) -> &'static str {
        match self.pending_tags.len() {
            0 => "",
            1 => "with this tag ",
            _ => "with these tags ",
        }
    }
}

/// The notices a verifier prints, with when: why the pact is verified,
/// and (when pending status was asked for) whether a failure fails the build
/// and what each outcome will mean. `pact_url`: the pact's address, with
/// the WIP metadata for a WIP pact.
pub fn notices(
    pact: &VerifiablePact,
    pact_url: &str,
    provider: &str,
    request: &Request,
    deprecated: bool,
) -> Vec<(&'static str, String)> {
    let who = Who {
        provider,
        branch: request.provider_version_branch.as_deref(),
        pending_tags: &pact.pending_provider_tags,
        non_pending_tags: &pact.non_pending_provider_tags,
    };
    let mut notices = Vec::new();
    if deprecated {
        notices.push(("before_verification", DEPRECATED_GET.to_owned()));
    }
    notices.push((
        "before_verification",
        inclusion_reason(pact, pact_url, provider, &who),
    ));
    if !request.include_pending_status {
        return notices;
    }
    let pending_reason = if pact.pending && pact.wip {
        format!(
            "This pact is in pending state for this version of {provider} because it was included as a 'work in progress' pact. If this verification fails, it will not cause the overall build to fail. {READ_MORE_PENDING}"
        )
    } else if pact.pending {
        format!(
            "This pact is in pending state for this version of {provider} because a successful verification result for {} has not yet been published. If this verification fails, it will not cause the overall build to fail. {READ_MORE_PENDING}",
            who.pending("a")
        )
    } else {
        format!(
            "This pact has previously been successfully verified by {}. If this verification fails, it will fail the build. {READ_MORE_PENDING}",
            who.not_pending()
        )
    };
    notices.push(("before_verification", pending_reason));
    if pact.pending {
        let still = who.pending("any");
        let tags = who.with_these_tags();
        let not_yet = format!(
            "This pact is still in pending state for {still} as a successful verification result {tags}has not yet been published"
        );
        notices.push((
            "after_verification:success_true_published_false",
            format!(
                "This pact is still in pending state for {still} as the successful verification results {tags}have not yet been published."
            ),
        ));
        notices.push((
            "after_verification:success_false_published_false",
            not_yet.clone(),
        ));
        notices.push((
            "after_verification:success_true_published_true",
            format!(
                "This pact is no longer in pending state for {still}, as a successful verification result {tags}has been published. If a verification for a version of {provider} {tags}fails in the future, it will fail the build. {READ_MORE_PENDING}"
            ),
        ));
        notices.push(("after_verification:success_false_published_true", not_yet));
    }
    notices
}

fn encode(pairs: &[(&str, String)]) -> String {
    use base64::Engine;
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(query)
}

/// The metadata carried in a pact's `self` address, so that a verification
/// result published there says how the pact was selected: base64url (no
/// padding) of a Rack nested query, `w=true` for a WIP pact, else each
/// reason's branch, tag, latest, named environment and consumer version id,
/// then whether it was pending.
pub fn metadata(pact: &VerifiablePact, include_pending_status: bool) -> String {
    if pact.wip {
        return encode(&[("w", "true".to_owned())]);
    }
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for chosen in &pact.chosen {
        let s: &Selector = &chosen.selector;
        if let Some(branch) = &s.branch {
            pairs.push(("s[][b]", branch.clone()));
        } else if s.each_branch {
            pairs.push(("s[][b]", "true".to_owned()));
        }
        if let Some(tag) = &s.tag {
            pairs.push(("s[][t]", tag.clone()));
        }
        if let Some(latest) = s.latest {
            pairs.push(("s[][l]", latest.to_string()));
        }
        if let Some(environment) = &s.environment {
            pairs.push(("s[][e]", environment.clone()));
        }
        pairs.push(("s[][cv]", chosen.consumer_version_id.to_string()));
    }
    if include_pending_status {
        pairs.push(("p", pact.pending.to_string()));
    }
    encode(&pairs)
}

/// The metadata of the address a WIP pact's notice gives.
pub fn wip_notice_metadata() -> String {
    encode(&[("wip", "true".to_owned())])
}

/// Whether URL metadata says the pact was verified as a work in progress
/// (`w=true` in the pact's address, `wip=true` in its notice).
pub fn metadata_is_wip(metadata: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(metadata.trim_end_matches('='))
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .is_some_and(|query| {
            form_urlencoded::parse(query.as_bytes())
                .any(|(k, v)| (k == "w" || k == "wip") && v == "true")
        })
}

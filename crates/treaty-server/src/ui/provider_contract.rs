//! Bi-directional contracts in the UI: a provider version's contract (its
//! OpenAPI document, its own test result against it, and the pacts compared
//! with it), and one comparison (each mismatch next to the pact's
//! interaction and the part of the document it broke). Words and codes are
//! PactFlow's, so that its users read what they know.

use askama::Template;
use axum::extract::State;
use serde_json::Value;
use treaty_domain::matrix::Row;
use treaty_domain::matrix_query::{MatrixQuery, VersionSelector};
use treaty_domain::provider_contracts::StoredProviderContract;
use treaty_store::PactSelector;

use super::view::{Nav, Verdict, When, outside_link, pretty, segment};
use super::{PageResult, not_found, ok};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::heavy;
use crate::path::Path;

/// The most of a document (or a test report) a page lays out; the rest is
/// a link to the API. A browser slows down on megabytes of text, and
/// `heavy.rs` bounds the CPU, not the page's size.
const SHOWN_BYTES: usize = 256 * 1024;

/// Consumer versions listed per consumer on a contract's page.
const PAIRS_PER_CONSUMER: usize = 50;

#[derive(Template)]
#[template(path = "ui/provider_contract.html")]
struct ContractPage {
    nav: Nav,
    provider: String,
    provider_href: String,
    version: String,
    version_href: String,
    facts: ContractFacts,
    document: Bounded,
    consumers: Vec<ConsumerPairs>,
    api_href: String,
}

/// What both pages say about a provider contract.
struct ContractFacts {
    branches: Vec<String>,
    published: When,
    build_url: Option<String>,
    specification: String,
    content_type: String,
    sha: String,
    self_verified: bool,
    verifier: Option<String>,
    report: Option<Bounded>,
}

/// Text shown in a scrolling block, cut at `SHOWN_BYTES`.
struct Bounded {
    text: String,
    /// Set when cut: the whole size in KiB.
    cut_from_kib: Option<usize>,
}

impl Bounded {
    fn new(text: String) -> Self {
        if text.len() <= SHOWN_BYTES {
            return Self {
                text,
                cut_from_kib: None,
            };
        }
        let mut end = SHOWN_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            cut_from_kib: Some(text.len() / 1024),
            text: text[..end].to_owned(),
        }
    }

    pub fn shown_kib(&self) -> usize {
        SHOWN_BYTES / 1024
    }
}

struct ConsumerPairs {
    consumer: String,
    consumer_href: String,
    pairs: Vec<Pair>,
    more: bool,
}

struct Pair {
    version: String,
    version_href: String,
    verdict: Verdict,
    words: String,
    compared_at: Option<When>,
    href: String,
}

impl ContractFacts {
    fn new(contract: &StoredProviderContract, branches: Vec<String>) -> Self {
        let results = &contract.self_verification;
        Self {
            branches,
            published: When::new(contract.created_at),
            build_url: contract.build_url.as_deref().and_then(outside_link),
            specification: contract.specification.clone(),
            content_type: contract.content_type.clone(),
            sha: contract.sha.chars().take(12).collect(),
            self_verified: results.success,
            verifier: results
                .verifier
                .as_ref()
                .map(|verifier| match &results.verifier_version {
                    Some(v) => format!("{verifier} {v}"),
                    None => verifier.clone(),
                }),
            report: results
                .content
                .clone()
                .filter(|c| !c.trim().is_empty())
                .map(Bounded::new),
        }
    }
}

/// The document laid out for reading: JSON indented, YAML as published.
fn readable(contract: &StoredProviderContract) -> String {
    match serde_json::from_str::<Value>(&contract.content) {
        Ok(json) => pretty(&json),
        Err(_) => contract.content.clone(),
    }
}

async fn branches_of(
    state: &AppState,
    provider: &str,
    version: &str,
) -> Result<Vec<String>, crate::error::ApiError> {
    Ok(state
        .store
        .version(provider, version)
        .await?
        .map(|v| v.branches.into_iter().map(|b| b.name).collect())
        .unwrap_or_default())
}

fn no_contract(nav: &Nav, provider: &str, version: &str) -> PageResult {
    not_found(
        nav,
        "No such provider contract",
        format!(
            "{provider} version {version} published no provider contract. The application's page lists the versions that did."
        ),
    )
}

/// `GET /ui/applications/{name}/provider-contracts/{version}`
pub async fn page(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: super::forms::Viewer,
    Path((provider, version)): Path<(String, String)>,
) -> PageResult {
    let nav = Nav::new(&base, &viewer, "home");
    let Some(contract) = state.store.provider_contract(&provider, &version).await? else {
        return no_contract(&nav, &provider, &version);
    };
    let links = nav.links.clone();
    let branches = branches_of(&state, &provider, &version).await?;

    // The pairs: each consumer's versions against this provider version,
    // through the same matrix as can-i-deploy (a pair not compared yet is a
    // row without a verification).
    let mut consumers: Vec<String> = state
        .store
        .integrations(None)
        .await?
        .items
        .into_iter()
        .filter(|i| i.provider == provider)
        .map(|i| i.consumer)
        .collect();
    consumers.sort();
    consumers.dedup();
    let mut pairs_by_consumer = Vec::new();
    for consumer in consumers {
        let query = MatrixQuery {
            selectors: vec![
                VersionSelector {
                    pacticipant: consumer.clone(),
                    ..VersionSelector::default()
                },
                VersionSelector {
                    pacticipant: provider.clone(),
                    version: Some(version.clone()),
                    ..VersionSelector::default()
                },
            ],
            latest_by: None,
            scope: None,
            ignore: Vec::new(),
            success: None,
            limit: PAIRS_PER_CONSUMER as u32 * 4,
        };
        let rows = crate::routes::matrix::answer(&state, &query).await?.rows;
        let mut rows: Vec<&Row> = rows
            .iter()
            .filter(|r| {
                r.contract.is_some()
                    && r.consumer == consumer
                    && r.provider_version
                        .as_ref()
                        .is_some_and(|v| v.number == version)
            })
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.rank()));
        let more = rows.len() > PAIRS_PER_CONSUMER;
        let pairs = rows
            .into_iter()
            .take(PAIRS_PER_CONSUMER)
            .map(|row| {
                let (verdict, words) = pair_result(row);
                Pair {
                    version_href: links.version(&consumer, &row.consumer_version.number),
                    href: links.comparison(
                        &provider,
                        &version,
                        &consumer,
                        &row.consumer_version.number,
                    ),
                    version: row.consumer_version.number.clone(),
                    verdict,
                    words,
                    compared_at: row.verification.as_ref().map(|v| When::new(v.verified_at)),
                }
            })
            .collect();
        pairs_by_consumer.push(ConsumerPairs {
            consumer_href: links.application(&consumer),
            consumer,
            pairs,
            more,
        });
    }

    let api_href = links.api(&format!(
        "/provider-contracts/provider/{}/version/{}",
        segment(&provider),
        segment(&version)
    ));
    // Laying out a document of megabytes is CPU work: off the runtime's threads.
    heavy::run(move || {
        ok(&ContractPage {
            provider_href: links.application(&provider),
            version_href: links.version(&provider, &version),
            facts: ContractFacts::new(&contract, branches),
            document: Bounded::new(readable(&contract)),
            consumers: pairs_by_consumer,
            api_href,
            provider,
            version,
            nav,
        })
    })
    .await?
}

/// A pair's result in PactFlow's words: the comparison's own, apart from the
/// provider's self-verification (which the page states once).
fn pair_result(row: &Row) -> (Verdict, String) {
    let Some(check) = &row.contract else {
        return (Verdict::Unknown, "not compared yet".to_owned());
    };
    if row.verification.is_none() {
        return (Verdict::Unknown, "not compared yet".to_owned());
    }
    match check.mismatches.len() {
        0 => (Verdict::Good, "compatible".to_owned()),
        1 => (Verdict::Bad, "incompatible (1 mismatch)".to_owned()),
        n => (Verdict::Bad, format!("incompatible ({n} mismatches)")),
    }
}

#[derive(Template)]
#[template(path = "ui/comparison.html")]
struct ComparisonPage {
    nav: Nav,
    provider: String,
    provider_href: String,
    version: String,
    version_href: String,
    contract_href: String,
    consumer: String,
    consumer_href: String,
    consumer_version: String,
    consumer_version_href: String,
    pact_href: String,
    facts: ContractFacts,
    /// `None` until the comparison is computed.
    compared: Option<Compared>,
    api_href: String,
}

struct Compared {
    at: When,
    verdict: Verdict,
    answer: String,
    errors: Vec<FindingView>,
    warnings: Vec<FindingView>,
}

struct FindingView {
    code: String,
    message: String,
    interaction: Option<String>,
    state: Option<String>,
    /// `GET /path → 200`, from the pact, when the interaction is found.
    exchange: Option<String>,
    pact_location: Option<String>,
    pact_value: Option<String>,
    spec_location: Option<String>,
    spec_value: Option<String>,
    fix: String,
}

/// `GET /ui/applications/{name}/provider-contracts/{version}/comparisons/{consumer}/{consumer_version}`
pub async fn comparison(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: super::forms::Viewer,
    Path((provider, version, consumer, consumer_version)): Path<(String, String, String, String)>,
) -> PageResult {
    let nav = Nav::new(&base, &viewer, "home");
    let Some(report) = state
        .store
        .comparison_report(&provider, &version, &consumer, &consumer_version)
        .await?
    else {
        if state
            .store
            .provider_contract(&provider, &version)
            .await?
            .is_none()
        {
            return no_contract(&nav, &provider, &version);
        }
        return not_found(
            &nav,
            "No such comparison",
            format!(
                "{consumer} version {consumer_version} published no pact with {provider}. The provider contract's page lists the pacts compared with it."
            ),
        );
    };
    let links = nav.links.clone();
    let branches = branches_of(&state, &provider, &version).await?;
    // The pact, to name each finding's request and response line.
    let pact = match &report.outcome {
        Some(outcome) if outcome.findings.as_array().is_some_and(|f| !f.is_empty()) => state
            .store
            .pact(
                &consumer,
                &provider,
                PactSelector::ConsumerVersion(consumer_version.clone()),
            )
            .await?
            .map(|p| p.content),
        _ => None,
    };
    let api_href = links.api(&format!(
        "/provider-contracts/provider/{}/version/{}/consumer/{}/version/{}/comparison",
        segment(&provider),
        segment(&version),
        segment(&consumer),
        segment(&consumer_version)
    ));
    let pact_href = links.contract(&provider, &consumer, Some(&consumer_version));
    heavy::run(move || {
        let compared = report.outcome.as_ref().map(|outcome| {
            let all: Vec<FindingView> = outcome
                .findings
                .as_array()
                .map(|findings| {
                    findings
                        .iter()
                        .map(|f| finding(f, pact.as_ref(), &consumer, &provider))
                        .collect()
                })
                .unwrap_or_default();
            let is_error = |f: &&Value| f.get("type").and_then(Value::as_str) == Some("error");
            let error_flags: Vec<bool> = outcome
                .findings
                .as_array()
                .map(|findings| findings.iter().map(|f| is_error(&f)).collect())
                .unwrap_or_default();
            let (errors, warnings): (Vec<_>, Vec<_>) = all
                .into_iter()
                .zip(error_flags)
                .partition(|(_, error)| *error);
            let compatible = outcome.success;
            Compared {
                at: When::new(outcome.compared_at),
                verdict: if compatible {
                    Verdict::Good
                } else {
                    Verdict::Bad
                },
                answer: if compatible {
                    "compatible".to_owned()
                } else {
                    format!(
                        "incompatible ({} mismatch{})",
                        errors.len(),
                        if errors.len() == 1 { "" } else { "es" }
                    )
                },
                errors: errors.into_iter().map(|(f, _)| f).collect(),
                warnings: warnings.into_iter().map(|(f, _)| f).collect(),
            }
        });
        ok(&ComparisonPage {
            provider_href: links.application(&provider),
            version_href: links.version(&provider, &version),
            contract_href: links.provider_contract(&provider, &version),
            consumer_href: links.application(&consumer),
            consumer_version_href: links.version(&consumer, &consumer_version),
            facts: ContractFacts::new(&report.contract, branches),
            compared,
            pact_href,
            api_href,
            provider,
            version,
            consumer,
            consumer_version,
            nav,
        })
    })
    .await?
}

/// A finding (PactFlow's `Result` shape) as the page shows it.
fn finding(f: &Value, pact: Option<&Value>, consumer: &str, provider: &str) -> FindingView {
    let text = |pointer: &str| {
        f.pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let shown = |pointer: &str| match f.pointer(pointer) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(value) => Some(pretty(value)),
    };
    let code = text("/code").unwrap_or_default();
    let pact_location = text("/mockDetails/location");
    let spec_location = text("/specDetails/location");
    FindingView {
        exchange: pact_location
            .as_deref()
            .and_then(interaction_index)
            .and_then(|index| pact?.get("interactions")?.get(index))
            .map(exchange_line),
        fix: fix(&code, consumer, provider, spec_location.as_deref()),
        message: text("/message").unwrap_or_default(),
        interaction: text("/mockDetails/interactionDescription"),
        state: text("/mockDetails/interactionState"),
        pact_value: shown("/mockDetails/value"),
        spec_value: shown("/specDetails/value"),
        pact_location,
        spec_location,
        code,
    }
}

/// `[root].interactions[3].request.path` → 3.
fn interaction_index(location: &str) -> Option<usize> {
    let rest = location.strip_prefix("[root].interactions[")?;
    rest[..rest.find(']')?].parse().ok()
}

/// `GET /pets/1 → 200`: the interaction's request and response at a glance.
fn exchange_line(interaction: &Value) -> String {
    let request = &interaction["request"];
    let method = request["method"]
        .as_str()
        .unwrap_or("GET")
        .to_ascii_uppercase();
    let path = request["path"].as_str().unwrap_or("/");
    match &interaction["response"]["status"] {
        Value::Number(status) => format!("{method} {path} → {status}"),
        _ => format!("{method} {path}"),
    }
}

/// What would fix a finding, from its code: which side to change.
fn fix(code: &str, consumer: &str, provider: &str, spec_location: Option<&str>) -> String {
    let place = spec_location.map_or_else(
        || format!("{provider}'s document"),
        |l| format!("{provider}'s document at {l}"),
    );
    let part = code.split('.').nth(1).unwrap_or("");
    if code == "request.path-or-method.unknown" {
        return format!(
            "Change the interaction's path or method in {consumer}'s pact to one the document has, or add the operation to {provider}'s document (paths)."
        );
    }
    if code == "response.status.unknown" || code == "response.status.default" {
        return format!(
            "Expect a status the operation documents in {consumer}'s pact, or document this status in {place}."
        );
    }
    if code.starts_with("request.") {
        return format!(
            "Change the request's {part} in {consumer}'s pact so that the document allows it, or allow it in {place}."
        );
    }
    if code.starts_with("response.") {
        return format!(
            "Expect only what the document promises of the response's {part} in {consumer}'s pact, or document it in {place}."
        );
    }
    format!("Change {consumer}'s pact or {place} until they agree.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_names_its_interaction_and_the_side_to_change() {
        assert_eq!(
            interaction_index("[root].interactions[12].response.body.id"),
            Some(12)
        );
        assert_eq!(interaction_index("[root].paths"), None);
        let interaction = serde_json::json!({
            "request": {"method": "get", "path": "/pets/1"}, "response": {"status": 200}
        });
        assert_eq!(exchange_line(&interaction), "GET /pets/1 → 200");
        let words = fix(
            "response.body.incompatible",
            "web",
            "pets",
            Some("[root].paths./pets/{id}.get.responses.200"),
        );
        assert!(
            words.contains("response's body") && words.contains("pets's document at [root].paths"),
            "{words}"
        );
    }

    #[test]
    fn a_long_document_is_cut_on_a_character_boundary() {
        let long = "é".repeat(SHOWN_BYTES);
        let shown = Bounded::new(long);
        assert!(shown.text.len() <= SHOWN_BYTES);
        assert_eq!(shown.cut_from_kib, Some(SHOWN_BYTES * 2 / 1024));
    }
}

//! The compatibility harness: the official clients' own contracts with the
//! Pact Broker API (`../shared/client-pacts/`), replayed against Treaty by the
//! real `pact verifier`, with Treaty's test-only provider-state endpoint.
//!
//! It prints how many interactions pass per file and per area, and fails when
//! an interaction in an area Treaty already serves fails.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;
use tokio::net::TcpListener;
use treaty_server::ServerConfig;

use crate::support::{TestServer, pact, text};

/// The contracts replayed, in the order their counts are printed.
const CONTRACTS: &[&str] = &[
    "Pact Broker Client V2-Pact Broker.json",
    "pact-broker-cli-Pact Broker.json",
    "pact_broker_client-pact_broker.json",
];

/// Areas whose every interaction must pass. Later work adds to this list.
const SERVED_AREAS: &[&str] = &["core", "deployments", "matrix", "webhooks"];

/// Interactions that cannot pass against any single broker, with the reason.
/// The first three expect a literal `http://localhost/...` self link while
/// every other literal href in the same file is `http://example.org/...`.
const UNSATISFIABLE: &[(&str, &str, &str)] = &[
    (
        "pact-broker-cli-Pact Broker.json",
        "a request to create a webhook with a JSON body for a consumer",
        "expects the webhook's JSON body back as a string; the Ruby and V2 contracts (and the Pact Broker) expect the object",
    ),
    (
        "pact-broker-cli-Pact Broker.json",
        "a request to create a webhook with a JSON body for a consumer and provider",
        "expects the webhook's JSON body back as a string; the Ruby and V2 contracts (and the Pact Broker) expect the object",
    ),
    (
        "pact-broker-cli-Pact Broker.json",
        "a request to create a webhook with a JSON body for a provider",
        "expects the webhook's JSON body back as a string; the Ruby and V2 contracts (and the Pact Broker) expect the object",
    ),
    (
        "pact-broker-cli-Pact Broker.json",
        "a request to create a webhook with every possible event type",
        "expects the webhook's JSON body back as a string; the Ruby and V2 contracts (and the Pact Broker) expect the object",
    ),
    (
        "pact-broker-cli-Pact Broker.json",
        "a request to create a webhook with a JSON body and a uuid",
        "expects the webhook's JSON body back as a string; the Ruby and V2 contracts (and the Pact Broker) expect the object",
    ),
    (
        "pact-broker-cli-Pact Broker.json",
        "a request to create a new webhook with a JSON body",
        "expects the webhook's JSON body back as a string; the Ruby and V2 contracts (and the Pact Broker) expect the object",
    ),
    (
        "pact-broker-cli-Pact Broker.json",
        "a request to get latest pacts for provider on branch",
        "literal http://localhost self href",
    ),
    (
        "pact-broker-cli-Pact Broker.json",
        "a request to get pacts for provider and consumer on specific branch",
        "literal http://localhost self href",
    ),
    (
        "pact-broker-cli-Pact Broker.json",
        "a request to get pacts for provider on main branch",
        "literal http://localhost self href",
    ),
    // The state "an version is deployed ... with target customer-1" holds one
    // deployment in a third interaction; these two expect a second one.
    (
        "pact-broker-cli-Pact Broker.json",
        "a request to list deployed versions for pacticipant",
        "the same state expects one deployment elsewhere",
    ),
    (
        "pact-broker-cli-Pact Broker.json",
        "a request to list deployed versions for pacticipant for records_undeployment_successfully_without_application_instance",
        "the same state expects one deployment elsewhere",
    ),
];

fn client_pacts_dir() -> PathBuf {
    std::env::var_os("TREATY_CLIENT_PACTS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/client-pacts"),
        PathBuf::from,
    )
}

/// Which part of the API an interaction exercises.
fn area(interaction: &Value) -> &'static str {
    let path = interaction["request"]["path"].as_str().unwrap_or("");
    if path == "/" {
        return "core";
    }
    let text = format!(
        "{} {} {} {}",
        path,
        interaction["description"].as_str().unwrap_or(""),
        interaction["providerState"].as_str().unwrap_or(""),
        interaction["providerStates"],
    )
    .to_lowercase();
    if text.contains("webhook") {
        "webhooks"
    } else if text.contains("matrix")
        || text.contains("can-i-deploy")
        || text.contains("can be deployed")
    {
        "matrix"
    } else if text.contains("environment") || text.contains("deploy") || text.contains("releas") {
        "deployments"
    } else {
        "core"
    }
}

/// The placeholder paths of the old Ruby client's contract, and the real paths
/// they stand for (from the Pact Broker's own contract-test setup).
const PLACEHOLDER_PATHS: &[(&str, &str)] = &[
    (
        "/HAL-REL-PLACEHOLDER-INDEX-PB-LATEST-TAGGED-VERSION-Condor-production",
        "/pacticipants/Condor/latest-version/production",
    ),
    (
        "/HAL-REL-PLACEHOLDER-INDEX-PB-LATEST-VERSION-Condor",
        "/pacticipants/Condor/latest-version",
    ),
    ("/HAL-REL-PLACEHOLDER-PB-WEBHOOKS", "/webhooks"),
    (
        "/HAL-REL-PLACEHOLDER-INDEX-PB-PACTICIPANT-VERSION-Foo-26f353580936ad3b9baddb17b00e84f33c69e7cb",
        "/pacticipants/Foo/versions/26f353580936ad3b9baddb17b00e84f33c69e7cb",
    ),
    ("/HAL-REL-PLACEHOLDER-PB-ENVIRONMENTS", "/environments"),
    (
        "/HAL-REL-PLACEHOLDER-PB-PACTICIPANT-VERSION-Foo-5556b8149bf8bac76bc30f50a8a2dd4c22c85f30",
        "/pacticipants/Foo/versions/5556b8149bf8bac76bc30f50a8a2dd4c22c85f30",
    ),
    (
        "/HAL-REL-PLACEHOLDER-PB-RECORD-DEPLOYMENT-FOO-5556B8149BF8BAC76BC30F50A8A2DD4C22C85F30-TEST",
        "/pacticipants/Foo/versions/5556b8149bf8bac76bc30f50a8a2dd4c22c85f30/deployed-versions/environment/cb632df3-0a0d-4227-aac3-60114dd36479",
    ),
    (
        "/HAL-REL-PLACEHOLDER-PB-PUBLISH-CONTRACTS",
        "/contracts/publish",
    ),
    (
        "/HAL-REL-PLACEHOLDER-PB-RECORD-RELEASE-FOO-5556B8149BF8BAC76BC30F50A8A2DD4C22C85F30-TEST",
        "/pacticipants/Foo/versions/5556b8149bf8bac76bc30f50a8a2dd4c22c85f30/released-versions/environment/cb632df3-0a0d-4227-aac3-60114dd36479",
    ),
    (
        "/PLACEHOLDER-DEPLOYED-VERSION-ff3adecf-cfc5-4653-a4e3-f1861092f8e0",
        "/deployed-versions/ff3adecf-cfc5-4653-a4e3-f1861092f8e0",
    ),
    (
        "/PLACEHOLDER-ENVIRONMENT-CURRENTLY-DEPLOYED-16926ef3-590f-4e3f-838e-719717aa88c9",
        "/environments/16926ef3-590f-4e3f-838e-719717aa88c9/deployed-versions/currently-deployed",
    ),
    (
        "/HAL-REL-PLACEHOLDER-PB-ENVIRONMENT-16926ef3-590f-4e3f-838e-719717aa88c9",
        "/environments/16926ef3-590f-4e3f-838e-719717aa88c9",
    ),
    (
        "/HAL-REL-PLACEHOLDER-PB-PACTICIPANT-BRANCH-Foo-main",
        "/pacticipants/Foo/branches/main",
    ),
];

fn rewrite_path(path: &str) -> String {
    PLACEHOLDER_PATHS
        .iter()
        .find(|(placeholder, _)| path.starts_with(placeholder))
        .map_or_else(
            || path.to_owned(),
            |(placeholder, real)| format!("{real}{}", &path[placeholder.len()..]),
        )
}

/// The verifier sorts query parameters by key, which breaks the pairing of
/// `q[]` selectors (a Rack-style parser starts a new selector when a key
/// repeats). Real clients send each selector's keys together. This puts them
/// back: version numbers belong to the first selectors, `latest`/`tag`/`branch`
/// to the selectors after them, as in every matrix query of the contracts.
fn regroup_query(query: &str) -> String {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let is_selector_key = |k: &str| k.starts_with("q[][") || k.starts_with("ignore[][");
    if !pairs.iter().any(|(k, _)| is_selector_key(k)) {
        return query.to_owned();
    }
    let mut regrouped: Vec<(String, String)> = Vec::new();
    for prefix in ["q[]", "ignore[]"] {
        let key = |field: &str| format!("{prefix}[{field}]");
        let values_of = |wanted: &str| -> Vec<String> {
            pairs
                .iter()
                .filter(|(k, _)| k == wanted)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let names = values_of(&key("pacticipant"));
        if names.is_empty() {
            continue;
        }
        let mut selectors: Vec<Vec<(String, String)>> = names
            .into_iter()
            .map(|n| vec![(key("pacticipant"), n)])
            .collect();
        let count = selectors.len();
        let versions = values_of(&key("version"));
        for (i, version) in versions.iter().enumerate() {
            selectors[i.min(count - 1)].push((key("version"), version.clone()));
        }
        let mut others: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in &pairs {
            if k.starts_with(&format!("{prefix}["))
                && *k != key("pacticipant")
                && *k != key("version")
            {
                others.entry(k.clone()).or_default().push(v.clone());
            }
        }
        for (k, values) in others {
            let start = versions.len().min(count.saturating_sub(values.len()));
            for (offset, value) in values.into_iter().enumerate() {
                selectors[(start + offset).min(count - 1)].push((k.clone(), value));
            }
        }
        regrouped.extend(selectors.into_iter().flatten());
    }
    regrouped.extend(pairs.iter().filter(|(k, _)| !is_selector_key(k)).cloned());
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(regrouped.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish()
}

#[derive(Clone)]
struct Proxy {
    target: String,
    client: reqwest::Client,
}

/// A proxy in front of Treaty that undoes the two replay artefacts above.
async fn start_proxy(target: String) -> u16 {
    let proxy = Proxy {
        target,
        client: reqwest::Client::new(),
    };
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let port = listener.local_addr().expect("proxy address").port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let path = rewrite_path(request.uri().path());
    let query = request.uri().query().map(regroup_query);
    let url = match &query {
        Some(q) if !q.is_empty() => format!("{}{path}?{q}", proxy.target),
        _ => format!("{}{path}", proxy.target),
    };
    let method = request.method().clone();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let mut outgoing = proxy.client.request(method, &url).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            outgoing = outgoing.header(name.as_str(), value.as_bytes());
        }
    }
    let Ok(reply) = outgoing.send().await else {
        return Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .unwrap();
    };
    let mut response = Response::builder().status(reply.status().as_u16());
    for (name, value) in reply.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            response = response.header(name, value);
        }
    }
    let bytes = reply.bytes().await.unwrap_or_default();
    response.body(Body::from(bytes)).unwrap()
}

struct Outcome {
    /// area → (passed, total)
    counts: BTreeMap<&'static str, (usize, usize)>,
    failures: Vec<String>,
}

async fn replay(file: &str) -> Outcome {
    let path = client_pacts_dir().join(file);
    let contract: Value = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())),
    )
    .expect("contract is JSON");
    let treaty = TestServer::start_with(ServerConfig {
        base_url: Some("http://example.org".to_owned()),
        test_provider_states: true,
        ..ServerConfig::default()
    })
    .await;
    let proxy_port = start_proxy(treaty.url.clone()).await.to_string();
    let report_dir = tempfile::tempdir().unwrap();
    let report = report_dir.path().join("report.json");
    let consumer = contract["consumer"]["name"].as_str().unwrap_or("");
    let state_url = format!(
        "{}/_pact/provider_states?consumer={}",
        treaty.url,
        form_urlencoded::byte_serialize(consumer.as_bytes()).collect::<String>()
    );
    let out = pact(&[
        "verifier",
        "-f",
        path.to_str().unwrap(),
        "-h",
        "127.0.0.1",
        "-p",
        &proxy_port,
        "-n",
        "Pact Broker",
        "--state-change-url",
        &state_url,
        "--state-change-teardown",
        "--no-colour",
        "-j",
        report.to_str().unwrap(),
    ])
    .await;
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(&report).unwrap_or_else(|_| panic!("no report: {}", text(&out))),
    )
    .expect("report is JSON");
    let results = report["interactionResults"]
        .as_array()
        .expect("interactionResults");
    let interactions = contract["interactions"].as_array().expect("interactions");
    assert_eq!(
        results.len(),
        interactions.len(),
        "the report lists every interaction, in order"
    );
    let mut outcome = Outcome {
        counts: BTreeMap::new(),
        failures: Vec::new(),
    };
    for (interaction, result) in interactions.iter().zip(results) {
        let area = area(interaction);
        let description = interaction["description"].as_str().unwrap_or("");
        let passed = result["result"] == "OK";
        let entry = outcome.counts.entry(area).or_default();
        entry.1 += 1;
        if passed {
            entry.0 += 1;
        }
        let excused = UNSATISFIABLE
            .iter()
            .any(|(f, d, _)| *f == file && *d == description);
        if !passed && SERVED_AREAS.contains(&area) && !excused {
            let state = interaction["providerState"].as_str().unwrap_or("");
            let errors: Vec<String> = report["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| {
                    e["interaction"].as_str().is_some_and(|i| {
                        i.ends_with(&format!("- {description}")) && i.contains(state)
                    })
                })
                .map(|e| serde_json::to_string(&e["mismatch"]).unwrap_or_default())
                .collect();
            outcome.failures.push(format!(
                "{file}: [{state}] {description}\n    {}",
                errors.join("\n    ")
            ));
        }
    }
    outcome
}

#[tokio::test(flavor = "multi_thread")]
async fn official_client_contracts() {
    let mut failures = Vec::new();
    let backend = treaty_store::testing::TestDatabase::backend();
    let mut report = format!(
        "Compatibility with the official clients' contracts, on {backend} (interactions passed/total):\n"
    );
    for file in CONTRACTS {
        let outcome = replay(file).await;
        let (passed, total) = outcome
            .counts
            .values()
            .fold((0, 0), |acc, c| (acc.0 + c.0, acc.1 + c.1));
        let areas: Vec<String> = outcome
            .counts
            .iter()
            .map(|(area, (p, t))| format!("{area} {p}/{t}"))
            .collect();
        report.push_str(&format!(
            "  {file}: {passed}/{total} ({})\n",
            areas.join(", ")
        ));
        failures.extend(outcome.failures);
    }
    println!("\n{report}");
    // scripts/test prints this file after the suite, where cargo's capture cannot hide it.
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("compatibility-{backend}.txt"));
    std::fs::write(&path, &report).expect("write the compatibility report");
    assert!(
        failures.is_empty(),
        "interactions in served areas failed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn regroups_sorted_matrix_queries_per_selector() {
    let cases = [
        (
            "latestby=cvpv&q[][pacticipant]=Foo&q[][pacticipant]=Bar&q[][version]=1%2e2%2e3&q[][version]=4%2e5%2e6",
            "q%5B%5D%5Bpacticipant%5D=Foo&q%5B%5D%5Bversion%5D=1.2.3&q%5B%5D%5Bpacticipant%5D=Bar&q%5B%5D%5Bversion%5D=4.5.6&latestby=cvpv",
        ),
        (
            "latestby=cvpv&q[][latest]=true&q[][pacticipant]=Foo&q[][pacticipant]=Bar&q[][tag]=prod&q[][version]=1%2e2%2e3",
            "q%5B%5D%5Bpacticipant%5D=Foo&q%5B%5D%5Bversion%5D=1.2.3&q%5B%5D%5Bpacticipant%5D=Bar&q%5B%5D%5Blatest%5D=true&q%5B%5D%5Btag%5D=prod&latestby=cvpv",
        ),
        (
            "ignore[][pacticipant]=Foo&ignore[][version]=3%2e4%2e5&latestby=cvpv&q[][pacticipant]=Bar&q[][pacticipant]=Foo&q[][tag]=prod&q[][version]=4%2e5%2e6",
            "q%5B%5D%5Bpacticipant%5D=Bar&q%5B%5D%5Bversion%5D=4.5.6&q%5B%5D%5Bpacticipant%5D=Foo&q%5B%5D%5Btag%5D=prod&ignore%5B%5D%5Bpacticipant%5D=Foo&ignore%5B%5D%5Bversion%5D=3.4.5&latestby=cvpv",
        ),
        ("pacticipant=Foo", "pacticipant=Foo"),
    ];
    for (sorted, natural) in cases {
        let parsed = |q: &str| {
            form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect::<Vec<_>>()
        };
        assert_eq!(parsed(&regroup_query(sorted)), parsed(natural), "{sorted}");
    }
}

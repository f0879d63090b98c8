//! The proof that nothing changed: the source and Treaty are asked the same
//! questions through the same API and their answers compared.
//!
//! Treaty is asked through a server started here, on 127.0.0.1 and a port
//! the system picks, over the target database: the questions go through the
//! very routes pipelines will call after the switch.
//!
//! The answers are compared by what they decide, not by their bytes (URLs
//! differ between the two, and so may a reason's words between a Pact Broker
//! and Treaty): can-i-deploy by its verdict, counts and rows; pacts for
//! verification by which pacts, pending and WIP; the environments' lists by
//! their entries.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use treaty_client::{BrokerClient, BrokerConfig, TlsOptions, Url};
use treaty_store::Store;

use super::read;
use super::source::{Source, describe};

/// The WIP window asked for: every pact that could be WIP.
const WIP_SINCE: &str = "2000-01-01";

/// One question, and each side's answer when they differ.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub question: String,
    pub source: Value,
    pub treaty: Value,
}

#[derive(Debug, Default, Serialize)]
pub struct Parity {
    pub questions: u64,
    pub identical: u64,
    pub differences: Vec<Difference>,
}

impl Parity {
    pub fn text(&self) -> String {
        let mut out = format!(
            "Parity: {} questions asked, {} identical, {} different\n",
            self.questions,
            self.identical,
            self.differences.len()
        );
        for difference in &self.differences {
            out.push_str(&format!(
                "  {}\n    source: {}\n    treaty: {}\n",
                difference.question, difference.source, difference.treaty
            ));
        }
        out
    }
}

/// A question: what to ask (a GET or a POST on a path), and how to read
/// the answer into what decides.
#[derive(Debug, Clone)]
struct Question {
    name: String,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Value>,
    read: fn(&Value) -> Value,
}

/// A Treaty on 127.0.0.1 over the target database, for as long as it is held.
struct LocalTreaty {
    client: BrokerClient,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl LocalTreaty {
    async fn start(store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let config = treaty_server::ServerConfig::default();
        let limits = config.connections.clone();
        let app = treaty_server::router(store, config);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = treaty_server::serve(listener, app, limits, async {
                let _ = stopped.await;
            })
            .await;
        });
        let client = BrokerClient::new(BrokerConfig {
            base_url: Url::parse(&format!("http://{address}"))?,
            auth: None,
            retries: 0,
            headers: Vec::new(),
            tls: TlsOptions {
                ca_certificate: None,
                skip_verification: false,
                use_system_roots: false,
            },
            announce_retries: false,
        })?;
        Ok(Self {
            client,
            _stop: stop,
        })
    }
}

/// Asks one side a question: the answer read, or the error as its answer
/// (a question one side cannot answer and the other can is a difference).
async fn ask(client: &BrokerClient, question: &Question) -> Value {
    let url = client.resolve_href(question.path.trim_start_matches('/'));
    let answer = match url {
        Ok(mut url) => {
            if !question.query.is_empty() {
                url.query_pairs_mut().extend_pairs(&question.query);
            }
            match &question.body {
                None => client.get(&url).await,
                Some(body) => client.post_json(&url, body).await.map(|r| r.body),
            }
        }
        Err(error) => Err(error),
    };
    match answer {
        Ok(answer) => (question.read)(&answer),
        Err(error) => {
            json!({ "error": error.status().map_or_else(|| describe(&error), |s| format!("HTTP {s}")) })
        }
    }
}

/// can-i-deploy: the verdict, its counts, and each row's pair, versions
/// and whether its verification succeeded.
fn can_i_deploy(answer: &Value) -> Value {
    let rows: BTreeSet<String> = answer
        .get("matrix")
        .and_then(Value::as_array)
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    format!(
                        "{} {} → {} {}: {}",
                        read::text(&row["consumer"], "name").unwrap_or_default(),
                        row.pointer("/consumer/version/number")
                            .and_then(Value::as_str)
                            .unwrap_or("-"),
                        read::text(&row["provider"], "name").unwrap_or_default(),
                        row.pointer("/provider/version/number")
                            .and_then(Value::as_str)
                            .unwrap_or("-"),
                        row.pointer("/verificationResult/success")
                            .map_or_else(|| "unverified".to_owned(), Value::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let summary = &answer["summary"];
    json!({
        "deployable": summary["deployable"],
        "success": summary["success"],
        "failed": summary["failed"],
        "unknown": summary["unknown"],
        "rows": rows,
    })
}

/// Pacts for verification: each pact's description, pending and WIP.
fn for_verification(answer: &Value) -> Value {
    let pacts: BTreeSet<String> = read::embedded(answer, "pacts")
        .iter()
        .map(|pact| {
            let properties = &pact["verificationProperties"];
            format!(
                "{} pending={} wip={}",
                read::text(pact, "shortDescription").unwrap_or_default(),
                properties["pending"].as_bool().unwrap_or(false),
                properties["wip"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    json!(pacts)
}

fn currently_deployed(answer: &Value) -> Value {
    current(answer, "deployedVersions")
}

fn currently_supported(answer: &Value) -> Value {
    current(answer, "releasedVersions")
}

fn current(answer: &Value, key: &str) -> Value {
    let records: Vec<String> = read::current_records(answer, key)
        .into_iter()
        .map(|record| match record.application_instance {
            Some(instance) => format!("{} {} ({instance})", record.pacticipant, record.version),
            None => format!("{} {}", record.pacticipant, record.version),
        })
        .collect();
    json!(records)
}

/// The questions, from what the source has: its environments, pacticipants
/// (with their main branches) and what is deployed and released where.
async fn questions(source: &Source) -> anyhow::Result<Vec<Question>> {
    let environments_url = source.index_url("pb:environments", "/environments")?;
    let environments: Vec<read::SourceEnvironment> = read::embedded(
        &source
            .get(&environments_url)
            .await
            .map_err(|e| anyhow::anyhow!("the source's environments: {}", describe(&e)))?,
        "environments",
    )
    .iter()
    .filter_map(read::environment)
    .collect();
    let pacticipants_url = source.index_url("pb:pacticipants", "/pacticipants")?;
    let pacticipants: Vec<read::SourcePacticipant> = source
        .all_pages(&pacticipants_url, "pacticipants")
        .await
        .map_err(|e| anyhow::anyhow!("the source's pacticipants: {}", describe(&e)))?
        .iter()
        .filter_map(read::pacticipant)
        .collect();
    let mut questions = Vec::new();
    let mut running: BTreeSet<(String, String)> = BTreeSet::new();
    for environment in &environments {
        for (path, key, read) in [
            (
                "deployed-versions/currently-deployed",
                "deployedVersions",
                currently_deployed as fn(&Value) -> Value,
            ),
            (
                "released-versions/currently-supported",
                "releasedVersions",
                currently_supported,
            ),
        ] {
            let path = format!("/environments/{}/{path}", environment.uuid);
            let answer = source
                .get(&source.path(&path)?)
                .await
                .map_err(|e| anyhow::anyhow!("{path} at the source: {}", describe(&e)))?;
            running.extend(
                read::current_records(&answer, key)
                    .into_iter()
                    .map(|r| (r.pacticipant, r.version)),
            );
            questions.push(Question {
                name: format!("{} in {}", key_words(key), environment.name),
                path,
                query: Vec::new(),
                body: None,
                read,
            });
        }
    }
    let to_environment = |selector: Vec<(String, String)>, what: String| {
        environments.iter().map(move |environment| {
            let mut query = selector.clone();
            query.push(("latestby".into(), "cvp".into()));
            query.push(("environment".into(), environment.name.clone()));
            Question {
                name: format!("can-i-deploy {what} to {}", environment.name),
                path: "/matrix".into(),
                query,
                body: None,
                read: can_i_deploy,
            }
        })
    };
    for pacticipant in &pacticipants {
        let Some(branch) = &pacticipant.main_branch else {
            continue;
        };
        let selector = vec![
            ("q[][pacticipant]".to_owned(), pacticipant.name.clone()),
            ("q[][branch]".to_owned(), branch.clone()),
            ("q[][latest]".to_owned(), "true".to_owned()),
        ];
        questions.extend(to_environment(
            selector,
            format!("{} latest on {branch}", pacticipant.name),
        ));
    }
    for (pacticipant, version) in &running {
        let selector = vec![
            ("q[][pacticipant]".to_owned(), pacticipant.clone()),
            ("q[][version]".to_owned(), version.clone()),
        ];
        questions.extend(to_environment(selector, format!("{pacticipant} {version}")));
    }
    // Which pacticipants are providers: those some integration names so.
    let integrations_url = source.index_url("pb:integrations", "/integrations")?;
    let providers: BTreeSet<String> = source
        .all_pages(&integrations_url, "integrations")
        .await
        .map_err(|e| anyhow::anyhow!("the source's integrations: {}", describe(&e)))?
        .iter()
        .filter_map(read::integration)
        .map(|(_, provider)| provider)
        .collect();
    for pacticipant in pacticipants.iter().filter(|p| providers.contains(&p.name)) {
        let mut body = json!({
            "consumerVersionSelectors": [{"mainBranch": true}, {"deployedOrReleased": true}],
            "includePendingStatus": true,
            "includeWipPactsSince": WIP_SINCE,
        });
        if let Some(branch) = &pacticipant.main_branch {
            body["providerVersionBranch"] = json!(branch);
        }
        questions.push(Question {
            name: format!("pacts for verification of {}", pacticipant.name),
            path: format!(
                "/pacts/provider/{}/for-verification",
                treaty_client::hal::encode_component(&pacticipant.name)
            ),
            query: Vec::new(),
            body: Some(body),
            read: for_verification,
        });
    }
    Ok(questions)
}

fn key_words(key: &str) -> &'static str {
    if key == "deployedVersions" {
        "currently deployed"
    } else {
        "currently supported"
    }
}

/// Asks every question of both sides, `concurrency` at a time.
pub async fn parity(
    source: &Source,
    store: Arc<dyn Store>,
    concurrency: usize,
) -> anyhow::Result<Parity> {
    let questions = questions(source).await?;
    let treaty = LocalTreaty::start(store).await?;
    let treaty = &treaty.client;
    let answers: Vec<(Question, Value, Value)> = stream::iter(questions)
        .map(|question| async move {
            let (there, here) = tokio::join!(source.ask(&question), ask(treaty, &question));
            (question, there, here)
        })
        .buffered(concurrency)
        .collect()
        .await;
    let mut parity = Parity::default();
    for (question, there, here) in answers {
        parity.questions += 1;
        if there == here {
            parity.identical += 1;
        } else {
            parity.differences.push(Difference {
                question: question.name,
                source: there,
                treaty: here,
            });
        }
    }
    Ok(parity)
}

impl Source {
    async fn ask(&self, question: &Question) -> Value {
        ask(self.client(), question).await
    }
}

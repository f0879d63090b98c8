//! The property behind one deployment truth: whatever mix of Pact Broker
//! calls (record-deployment with or without an instance, record-undeployment,
//! record-release, record-support-ended) and deployment events (pending,
//! started, completed, failed, aborted; older versions completing make
//! rollbacks) a team's pipelines send, after every step the Pact Broker's
//! currently-deployed and currently-supported answers, the ledger's running
//! deployments and releases, `deployed-at` now, and what the environment
//! page says runs there are the same.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use super::one_truth::{app_with, end_record, environment_uuid, record_deployment, record_release};
use crate::support::TestApp;

const APPLICATIONS: [&str; 2] = ["web", "api"];
const VERSIONS: [&str; 3] = ["1", "2", "3"];
const INSTANCES: [Option<&str>; 2] = [None, Some("eu")];
const STATUSES: [&str; 5] = ["pending", "started", "completed", "failed", "aborted"];

#[derive(Debug, Clone)]
enum Step {
    RecordDeployment {
        app: usize,
        version: usize,
        instance: usize,
    },
    RecordUndeployment {
        app: usize,
        instance: usize,
    },
    RecordRelease {
        app: usize,
        version: usize,
    },
    RecordSupportEnded {
        app: usize,
        version: usize,
    },
    Event {
        app: usize,
        version: usize,
        instance: usize,
        status: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let app = 0..APPLICATIONS.len();
    let version = 0..VERSIONS.len();
    let instance = 0..INSTANCES.len();
    prop_oneof![
        3 => (app.clone(), version.clone(), instance.clone())
            .prop_map(|(app, version, instance)| Step::RecordDeployment { app, version, instance }),
        1 => (app.clone(), instance.clone())
            .prop_map(|(app, instance)| Step::RecordUndeployment { app, instance }),
        1 => (app.clone(), version.clone())
            .prop_map(|(app, version)| Step::RecordRelease { app, version }),
        1 => (app.clone(), version.clone())
            .prop_map(|(app, version)| Step::RecordSupportEnded { app, version }),
        4 => (app, version, instance, 0..STATUSES.len())
            .prop_map(|(app, version, instance, status)| Step::Event { app, version, instance, status }),
    ]
}

/// (application, version, instance or "-") of each record in a Pact Broker list.
fn pact_broker_list(body: &Value, key: &str) -> BTreeSet<(String, String, String)> {
    body["_embedded"][key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key}: {body}"))
        .iter()
        .map(|d| {
            (
                d["_embedded"]["pacticipant"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                d["_embedded"]["version"]["number"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                d["applicationInstance"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect()
}

fn ledger_list(body: &Value) -> BTreeSet<(String, String, String)> {
    body["_embedded"]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["product_name"].as_str().unwrap().to_owned(),
                d["version"].as_str().unwrap().to_owned(),
                d["application_instance"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect()
}

/// The rows of "What runs here now": (application, version, instance or "-", released).
async fn page_rows(app: &TestApp) -> BTreeSet<(String, String, String, bool)> {
    let page = super::one_truth::html(app, "/ui/environments/production").await;
    let start = page.find(r#"<section aria-labelledby="now">"#).unwrap();
    let section = &page[start..];
    let section = &section[..section.find("</section>").unwrap()];
    section
        .split("<tr><td>")
        .skip(1)
        .map(|row| {
            let cells: Vec<&str> = row.split("</td><td>").collect();
            let link_text = |cell: &str| {
                let text = &cell[cell.find('>').unwrap() + 1..];
                text[..text.find("</a>").unwrap()].to_owned()
            };
            let instance = if cells[2].contains("class=\"muted\"") {
                "-".to_owned()
            } else {
                cells[2].to_owned()
            };
            (
                link_text(cells[0]),
                link_text(cells[1]),
                instance,
                cells[1].contains(">released<"),
            )
        })
        .collect()
}

async fn apply(app: &TestApp, step: &Step) {
    let reply = match step {
        Step::RecordDeployment {
            app: a,
            version,
            instance,
        } => {
            record_deployment(
                app,
                APPLICATIONS[*a],
                VERSIONS[*version],
                "production",
                INSTANCES[*instance],
            )
            .await
        }
        Step::RecordUndeployment { app: a, instance } => {
            // As the official clients do: find what is current there, end each.
            let uuid = environment_uuid(app, "production").await;
            let list = app
                .get(&format!(
                    "/environments/{uuid}/deployed-versions/currently-deployed?pacticipant={}&applicationInstance={}",
                    APPLICATIONS[*a],
                    INSTANCES[*instance].unwrap_or("")
                ))
                .await;
            for record in list.body["_embedded"]["deployedVersions"]
                .as_array()
                .unwrap()
            {
                let href = record["_links"]["self"]["href"].as_str().unwrap();
                let ended = end_record(app, href, "currentlyDeployed").await;
                assert!(ended.status.is_success(), "{}", ended.text);
            }
            return;
        }
        Step::RecordRelease { app: a, version } => {
            record_release(app, APPLICATIONS[*a], VERSIONS[*version], "production").await
        }
        Step::RecordSupportEnded { app: a, version } => {
            let uuid = environment_uuid(app, "production").await;
            let list = app
                .get(&format!(
                    "/environments/{uuid}/released-versions/currently-supported?pacticipant={}&version={}",
                    APPLICATIONS[*a], VERSIONS[*version]
                ))
                .await;
            for record in list.body["_embedded"]["releasedVersions"]
                .as_array()
                .unwrap()
            {
                let href = record["_links"]["self"]["href"].as_str().unwrap();
                let ended = end_record(app, href, "currentlySupported").await;
                assert!(ended.status.is_success(), "{}", ended.text);
            }
            return;
        }
        Step::Event {
            app: a,
            version,
            instance,
            status,
        } => {
            let mut body = json!({"product_name": APPLICATIONS[*a], "version": VERSIONS[*version],
                "environment_name": "production", "status": STATUSES[*status]});
            if let Some(instance) = INSTANCES[*instance] {
                body["application_instance"] = json!(instance);
            }
            app.post("/deployment-events", &body).await
        }
    };
    // Out-of-order events are refused (409); nothing is a server error.
    assert!(
        reply.status.is_success() || reply.status == axum::http::StatusCode::CONFLICT,
        "{step:?}: {}",
        reply.text
    );
}

async fn check(app: &TestApp, uuid: &str, after: &[Step]) -> Result<(), TestCaseError> {
    let deployed = app
        .get(&format!(
            "/environments/{uuid}/deployed-versions/currently-deployed"
        ))
        .await;
    let deployed = pact_broker_list(&deployed.body, "deployedVersions");
    let supported = app
        .get(&format!(
            "/environments/{uuid}/released-versions/currently-supported"
        ))
        .await;
    let supported = pact_broker_list(&supported.body, "releasedVersions");
    let running = app
        .get("/deployments?environment=production&running=true&kind=deployment&size=1000")
        .await;
    let running = ledger_list(&running.body);
    let released = app
        .get("/deployments?environment=production&running=true&kind=release&size=1000")
        .await;
    let released = ledger_list(&released.body);
    let now = app
        .get("/deployments/deployed-at?environment=production")
        .await;
    let now: BTreeSet<(String, String, String)> = now.body["deployed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["pacticipant"].as_str().unwrap().to_owned(),
                d["version"].as_str().unwrap().to_owned(),
                d["application_instance"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    let page = page_rows(app).await;
    let expected_page: BTreeSet<(String, String, String, bool)> = deployed
        .iter()
        .map(|(a, v, i)| (a.clone(), v.clone(), i.clone(), false))
        .chain(
            supported
                .iter()
                .map(|(a, v, _)| (a.clone(), v.clone(), "-".to_owned(), true)),
        )
        .collect();
    prop_assert_eq!(
        &running,
        &deployed,
        "the ledger's running deployments, after {:?}",
        after
    );
    prop_assert_eq!(&now, &deployed, "deployed-at now, after {:?}", after);
    prop_assert_eq!(
        &released,
        &supported,
        "the ledger's running releases, after {:?}",
        after
    );
    prop_assert_eq!(
        &page,
        &expected_page,
        "the environment page, after {:?}",
        after
    );
    // One current deployment per slot, in every view.
    let slots: BTreeSet<(&String, &String)> = deployed.iter().map(|(a, _, i)| (a, i)).collect();
    prop_assert_eq!(
        slots.len(),
        deployed.len(),
        "one version per slot, after {:?}",
        after
    );
    Ok(())
}

#[test]
fn the_pact_broker_the_ledger_deployed_at_and_the_page_agree_after_every_step() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 24,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&proptest::collection::vec(step(), 1..24), |steps| {
        runtime.block_on(async {
            let app = app_with(treaty_server::ServerConfig::default()).await;
            // The gates are not what this is about: nothing is refused.
            let reply = app.put("/policies/production", &json!({"rules": []})).await;
            assert!(reply.status.is_success(), "{}", reply.text);
            for application in APPLICATIONS {
                for version in VERSIONS {
                    app.put(
                        &format!("/pacticipants/{application}/versions/{version}"),
                        &json!({}),
                    )
                    .await;
                }
            }
            let uuid = environment_uuid(&app, "production").await;
            for (done, step) in steps.iter().enumerate() {
                apply(&app, step).await;
                check(&app, &uuid, &steps[..=done]).await?;
            }
            Ok(())
        })
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

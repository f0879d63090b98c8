//! `clean`: the keep selectors, what goes with a removed version, what is
//! never removed, batches, dry runs, and a matrix that still answers after.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use treaty_domain::matrix_query::{MatrixQuery, parse_can_i_deploy_query};
use treaty_domain::model::EnvironmentFields;
use treaty_domain::pact::PactDocument;
use treaty_domain::publish::{ContractToPublish, OnConflict, PublishRequest};
use treaty_domain::retention::{CleanCounts, KeepSelector, parse_keep_selectors};
use treaty_domain::{BranchName, EnvironmentName, PacticipantName, TagName, VersionNumber};
use treaty_store::testing::TestDatabase;
use treaty_store::{
    CleanRequest, LatestVersion, NewDeployment, PactSelector, Store, StoreError, VersionChanges,
};

async fn open() -> TestDatabase {
    TestDatabase::fresh().await.unwrap()
}

fn keep(value: Value) -> Vec<KeepSelector> {
    parse_keep_selectors(&[value.to_string()]).unwrap()
}

/// Creates a version (oldest first, in the order of the calls) on a branch, with tags.
async fn version(
    store: &dyn Store,
    pacticipant: &str,
    number: &str,
    branch: Option<&str>,
    tags: &[&str],
) {
    store
        .put_version(
            &PacticipantName::parse(pacticipant).unwrap(),
            &VersionNumber::parse(number).unwrap(),
            VersionChanges {
                branch: branch.map(|b| BranchName::parse(b).unwrap()),
                tags: Some(tags.iter().map(|t| TagName::parse(*t).unwrap()).collect()),
                ..VersionChanges::default()
            },
        )
        .await
        .unwrap();
}

/// Foo `number` publishes a pact with Bar whose content depends only on `path`; returns its sha.
async fn publish(store: &dyn Store, number: &str, path: &str) -> String {
    let pact = PactDocument::from_value(json!({
        "consumer": {"name": "Foo"}, "provider": {"name": "Bar"},
        "interactions": [{"description": "d", "request": {"method": "GET", "path": path}, "response": {"status": 200}}]
    }))
    .unwrap();
    store
        .publish_contracts(&PublishRequest {
            pacticipant: PacticipantName::parse("Foo").unwrap(),
            version: VersionNumber::parse(number).unwrap(),
            branch: None,
            tags: Vec::new(),
            build_url: None,
            contracts: vec![ContractToPublish {
                consumer: PacticipantName::parse("Foo").unwrap(),
                provider: PacticipantName::parse("Bar").unwrap(),
                pact,
                on_conflict: OnConflict::Overwrite,
            }],
        })
        .await
        .unwrap();
    store
        .pact(
            "Foo",
            "Bar",
            PactSelector::ConsumerVersion(number.to_owned()),
        )
        .await
        .unwrap()
        .unwrap()
        .sha
}

/// Bar `provider_version` verifies the content `sha`, successfully.
async fn verify(store: &dyn Store, sha: &str, provider_version: &str) {
    super::verify(store, sha, provider_version, true).await;
}

async fn production(store: &dyn Store) -> String {
    store
        .create_environment(
            None,
            EnvironmentFields {
                name: EnvironmentName::parse("production").unwrap(),
                display_name: None,
                production: true,
                contacts: None,
            },
        )
        .await
        .unwrap()
        .uuid
}

async fn deploy(store: &dyn Store, pacticipant: &str, number: &str, environment: &str) {
    store
        .record_deployment(NewDeployment {
            pacticipant: pacticipant.into(),
            version: number.into(),
            environment_uuid: environment.into(),
            ..NewDeployment::default()
        })
        .await
        .unwrap();
}

/// Version numbers left, "pacticipant number", in creation order.
async fn left(store: &dyn Store) -> Vec<String> {
    let mut all = Vec::new();
    for pacticipant in store.pacticipants(None, None).await.unwrap().items {
        let mut versions = store.versions(&pacticipant.name, None).await.unwrap().items;
        versions.reverse();
        all.extend(
            versions
                .into_iter()
                .map(|v| (v.id, format!("{} {}", v.pacticipant, v.number))),
        );
    }
    all.sort();
    all.into_iter().map(|(_, name)| name).collect()
}

/// Runs a whole clean, batch after batch as `treaty clean` does: what it
/// removed (or would), and the totals.
async fn clean_all(
    store: &dyn Store,
    keep: &[KeepSelector],
    limit: u32,
    dry_run: bool,
) -> (Vec<String>, CleanCounts) {
    let mut removed = Vec::new();
    let mut total = CleanCounts::default();
    let mut after = 0;
    let mut as_of = None;
    loop {
        let report = store
            .clean(&CleanRequest {
                keep,
                after,
                limit,
                dry_run,
                as_of,
            })
            .await
            .unwrap();
        assert!(report.removed.len() <= limit as usize);
        as_of = Some(report.as_of);
        total += report.counts;
        removed.extend(
            report
                .removed
                .iter()
                .map(|v| format!("{} {}", v.pacticipant, v.number)),
        );
        match report.next_after {
            Some(next) => after = next,
            None => break,
        }
    }
    (removed, total)
}

/// Foo's history: main (its main branch) and a feature branch, tags, a
/// version on no branch; and Bar's main.
async fn history(store: &dyn Store) {
    version(store, "Foo", "1", Some("main"), &["prod"]).await;
    version(store, "Foo", "2", Some("main"), &["prod"]).await;
    version(store, "Foo", "3", Some("feat/x"), &["dev"]).await;
    version(store, "Foo", "4", Some("main"), &["dev"]).await;
    version(store, "Foo", "5", Some("feat/x"), &[]).await;
    version(store, "Foo", "6", None, &[]).await;
    version(store, "Bar", "b1", Some("main"), &[]).await;
    version(store, "Bar", "b2", Some("main"), &["prod"]).await;
}

#[tokio::test]
async fn each_selector_keeps_what_it_names() {
    let db = open().await;
    let store = db.store.as_ref();
    history(store).await;
    let all: BTreeSet<String> = left(store).await.into_iter().collect();
    let cases = [
        (json!({"latest": true}), vec!["Foo 6", "Bar b2"]),
        (
            json!({"latest": true, "branch": true}),
            vec!["Foo 4", "Foo 5", "Bar b2"],
        ),
        (
            json!({"branch": "main", "latest": true}),
            vec!["Foo 4", "Bar b2"],
        ),
        (
            json!({"branch": "main"}),
            vec!["Foo 1", "Foo 2", "Foo 4", "Bar b1", "Bar b2"],
        ),
        (
            json!({"branch": true}),
            vec![
                "Foo 1", "Foo 2", "Foo 3", "Foo 4", "Foo 5", "Bar b1", "Bar b2",
            ],
        ),
        (
            json!({"mainBranch": true}),
            vec!["Foo 1", "Foo 2", "Foo 4", "Bar b1", "Bar b2"],
        ),
        (
            json!({"mainBranch": true, "latest": true}),
            vec!["Foo 4", "Bar b2"],
        ),
        (
            json!({"tag": true, "latest": true}),
            vec!["Foo 2", "Foo 4", "Bar b2"],
        ),
        (
            json!({"tag": true}),
            vec!["Foo 1", "Foo 2", "Foo 3", "Foo 4", "Bar b2"],
        ),
        (json!({"tag": "prod"}), vec!["Foo 1", "Foo 2", "Bar b2"]),
        (
            json!({"tag": "prod", "latest": true}),
            vec!["Foo 2", "Bar b2"],
        ),
        (
            json!({"tag": "dev", "latest": true, "pacticipant": "Foo"}),
            vec!["Foo 4"],
        ),
        (json!({"pacticipant": "Foo", "latest": true}), vec!["Foo 6"]),
        (json!({"pacticipant": "Bar"}), vec!["Bar b1", "Bar b2"]),
        (
            json!({"pacticipant": "Foo", "branch": "feat/x", "latest": true}),
            vec!["Foo 5"],
        ),
        (
            json!({"maxAge": 90}),
            all.iter().map(String::as_str).collect(),
        ),
        // Any selector keeps: a union.
        (
            json!([{"tag": "prod"}, {"latest": true}]),
            vec!["Foo 1", "Foo 2", "Foo 6", "Bar b2"],
        ),
    ];
    for (selectors, kept) in cases {
        let (removed, _) = clean_all(store, &keep(selectors.clone()), 100, true).await;
        let kept: BTreeSet<String> = kept.into_iter().map(str::to_owned).collect();
        let expected: BTreeSet<String> = all.difference(&kept).cloned().collect();
        assert_eq!(
            removed.into_iter().collect::<BTreeSet<_>>(),
            expected,
            "{selectors} on {}",
            TestDatabase::backend()
        );
    }
    assert_eq!(
        left(store).await.len(),
        all.len(),
        "dry runs remove nothing"
    );
}

#[tokio::test]
async fn max_age_counts_back_from_the_clean_s_clock() {
    let db = open().await;
    let store = db.store.as_ref();
    history(store).await;
    let selectors = keep(json!([{"maxAge": 30}, {"latest": true}]));
    let run = |as_of| CleanRequest {
        keep: &selectors,
        after: 0,
        limit: 100,
        dry_run: true,
        as_of: Some(as_of),
    };
    let today = store.clean(&run(Utc::now())).await.unwrap();
    assert!(today.removed.is_empty(), "{today:?}");
    let later = store
        .clean(&run(Utc::now() + Duration::days(31)))
        .await
        .unwrap();
    assert_eq!(later.counts.versions, 6, "{later:?}");
    assert_eq!(later.next_after, None);
}

#[tokio::test]
async fn removes_versions_with_their_pacts_verifications_and_orphaned_contents() {
    let db = open().await;
    let store = db.store.as_ref();
    let a = publish(store, "1", "/a").await;
    let b = publish(store, "2", "/b").await;
    let c = publish(store, "3", "/c").await;
    assert_eq!(
        publish(store, "4", "/a").await,
        a,
        "Foo 4 shares its content with Foo 1"
    );
    verify(store, &b, "p1").await;
    verify(store, &c, "p2").await;
    verify(store, &a, "p3").await;
    verify(store, &b, "p3").await;

    let (removed, counts) = clean_all(store, &keep(json!({"latest": true})), 100, false).await;
    assert_eq!(removed, ["Foo 1", "Foo 2", "Foo 3", "Bar p1", "Bar p2"]);
    assert_eq!(
        counts,
        CleanCounts {
            versions: 5,
            pact_publications: 3,
            verifications: 2,
            // c: its publisher and its verifier are gone. a is still
            // published by Foo 4; b is still verified by Bar p3 (as in the
            // Pact Broker, a content is removed once nothing refers to it).
            pact_contents: 1,
        }
    );
    assert_eq!(left(store).await, ["Foo 4", "Bar p3"]);
    for number in ["1", "2", "3"] {
        assert!(
            store
                .pact("Foo", "Bar", PactSelector::ConsumerVersion(number.into()))
                .await
                .unwrap()
                .is_none()
        );
    }
    let latest = store
        .pact("Foo", "Bar", PactSelector::Latest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (latest.consumer_version.as_str(), latest.sha.as_str()),
        ("4", a.as_str())
    );
    assert!(
        store
            .verification("Foo", "Bar", &c, None)
            .await
            .unwrap()
            .is_none()
    );
    let kept = store
        .verification("Foo", "Bar", &b, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.provider_version, "p3");
    assert_eq!(
        store
            .verification("Foo", "Bar", &a, None)
            .await
            .unwrap()
            .unwrap()
            .provider_version,
        "p3"
    );
    // Nothing is left to remove.
    let (again, _) = clean_all(store, &keep(json!({"latest": true})), 100, false).await;
    assert!(again.is_empty());
}

#[tokio::test]
async fn never_removes_versions_with_deployment_history() {
    let db = open().await;
    let store = db.store.as_ref();
    let production = production(store).await;
    for number in ["1", "2", "3", "4", "5", "6", "7", "8"] {
        version(store, "Foo", number, None, &[]).await;
    }
    deploy(store, "Foo", "1", &production).await; // currently deployed
    deploy(store, "Foo", "2", &production).await; // replaces 1
    deploy(store, "Foo", "3", &production).await; // replaces 2
    store
        .record_release("Foo", "4", &production, None)
        .await
        .unwrap();
    let released = store
        .record_release("Foo", "5", &production, None)
        .await
        .unwrap()
        .0;
    store.end_support(&released.uuid).await.unwrap();
    let event = treaty_domain::ledger::parse_event(&json!({
        "product_name": "Foo", "version": "6", "environment_name": "production", "status": "started"
    }))
    .unwrap();
    store.record_deployment_event(&event, None).await.unwrap();

    // 1 and 2 were deployed once, 3 is deployed now, 4 is released, 5 was
    // released, 6 is in the ledger, 8 is the latest: only 7 may go.
    let (removed, _) = clean_all(store, &keep(json!({"latest": true})), 100, false).await;
    assert_eq!(removed, ["Foo 7"]);
    // What auditors read is whole.
    assert_eq!(
        store
            .deployments_of_version("Foo", "1")
            .await
            .unwrap()
            .len(),
        1
    );
    // Three deployments, two releases and the started one, all in the ledger.
    let ledger = store
        .ledger_deployments(treaty_store::LedgerFilter::default(), None)
        .await
        .unwrap();
    assert_eq!(ledger.items.len(), 6);
}

/// `deployed`, `released` and `environment` name only versions with
/// deployment history, which are kept anyway; they are accepted (Pact
/// Broker configurations carry them) and must not keep anything else.
#[tokio::test]
async fn deployed_released_and_environment_selectors_keep_nothing_else() {
    let db = open().await;
    let store = db.store.as_ref();
    let production = production(store).await;
    for number in ["1", "2", "3"] {
        version(store, "Foo", number, None, &[]).await;
    }
    deploy(store, "Foo", "2", &production).await;
    store
        .record_release("Foo", "1", &production, None)
        .await
        .unwrap();
    for selector in [
        json!({"deployed": true}),
        json!({"released": true}),
        json!({"environment": "production"}),
        json!({"environment": "production", "latest": true}),
        json!({"deployed": true, "latest": true, "pacticipant": "Foo"}),
    ] {
        let (removed, _) = clean_all(store, &keep(selector.clone()), 100, true).await;
        assert_eq!(removed, ["Foo 3"], "{selector}");
    }
}

#[tokio::test]
async fn refuses_selectors_naming_what_does_not_exist() {
    let db = open().await;
    let store = db.store.as_ref();
    history(store).await;
    for (selector, expected) in [
        (
            json!({"pacticipant": "Fooo", "latest": true}),
            "no pacticipant named 'Fooo'",
        ),
        (
            json!({"environment": "prod"}),
            "no environment named 'prod'",
        ),
    ] {
        let selectors = keep(selector);
        let error = store
            .clean(&CleanRequest {
                keep: &selectors,
                after: 0,
                limit: 10,
                dry_run: false,
                as_of: None,
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&error, StoreError::NotFound(m) if m.contains(expected)),
            "{error}"
        );
    }
    assert_eq!(left(store).await.len(), 8);
}

#[tokio::test]
async fn batches_respect_the_limit_and_resume_after_the_last() {
    let db = open().await;
    let store = db.store.as_ref();
    for n in 1..=10 {
        version(store, "Foo", &n.to_string(), None, &[]).await;
    }
    let selectors = keep(json!({"latest": true}));
    let mut after = 0;
    let mut sizes = Vec::new();
    loop {
        let report = store
            .clean(&CleanRequest {
                keep: &selectors,
                after,
                limit: 3,
                dry_run: false,
                as_of: None,
            })
            .await
            .unwrap();
        sizes.push(report.removed.len());
        match report.next_after {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 3, 0]);
    assert_eq!(left(store).await, ["Foo 10"]);
}

#[tokio::test]
async fn a_dry_run_removes_nothing_and_lists_what_a_real_run_removes() {
    let db = open().await;
    let store = db.store.as_ref();
    history(store).await;
    let a = publish(store, "7", "/a").await;
    let b = publish(store, "8", "/b").await;
    publish(store, "9", "/a").await;
    let c = publish(store, "10", "/c").await;
    verify(store, &a, "b3").await;
    verify(store, &b, "b4").await;
    verify(store, &c, "b5").await;
    version(store, "Foo", "11", Some("main"), &[]).await;
    let before = left(store).await;
    let selectors =
        keep(json!([{"branch": true, "latest": true}, {"tag": "prod", "latest": true}]));

    let dry = clean_all(store, &selectors, 2, true).await;
    assert_eq!(left(store).await, before, "a dry run removes nothing");
    let real = clean_all(store, &selectors, 2, false).await;
    assert_eq!(dry, real);
    assert_eq!(
        real.1,
        CleanCounts {
            versions: 12,
            pact_publications: 4,
            verifications: 3,
            pact_contents: 3,
        }
    );
    let after: Vec<String> = before.into_iter().filter(|v| !real.0.contains(v)).collect();
    assert_eq!(left(store).await, after);
}

#[tokio::test]
async fn a_removed_branch_head_hands_over_to_the_previous_version() {
    let db = open().await;
    let store = db.store.as_ref();
    version(store, "Foo", "1", Some("feat/y"), &["keep"]).await;
    version(store, "Foo", "2", Some("feat/y"), &[]).await;
    version(store, "Foo", "3", None, &["keep"]).await;
    let (removed, _) = clean_all(store, &keep(json!({"tag": "keep"})), 10, false).await;
    assert_eq!(removed, ["Foo 2"]);
    let branch = store.branch("Foo", "feat/y").await.unwrap().unwrap();
    assert_eq!(branch.head.as_deref(), Some("1"));
    let head = store
        .latest_version("Foo", LatestVersion::OnBranch("feat/y".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.number, "1");
}

#[tokio::test]
async fn can_i_deploy_still_answers_after_a_clean() {
    let db = open().await;
    let store = db.store.as_ref();
    let production = production(store).await;
    // Foo 1..3 publish; 2 is in production and verified by Bar p1, which is
    // too; 3, main's head, has 2's content. 1 and Bar p0 are history.
    let old = publish(store, "1", "/old").await;
    verify(store, &old, "p0").await;
    let a = publish(store, "2", "/a").await;
    verify(store, &a, "p1").await;
    deploy(store, "Foo", "2", &production).await;
    deploy(store, "Bar", "p1", &production).await;
    publish(store, "3", "/a").await;
    version(store, "Foo", "3", Some("main"), &[]).await;
    version(store, "Bar", "p2", Some("main"), &[]).await;

    let answer = || async {
        let query = MatrixQuery::from_can_i_deploy(
            &parse_can_i_deploy_query("pacticipant=Foo&version=3&environment=production").unwrap(),
        );
        let evidence = store.matrix_evidence(&query).await.unwrap().unwrap();
        treaty_domain::matrix::evaluate(&query, evidence).summary
    };
    let before = answer().await;
    assert_eq!(before.deployable, Some(true), "{before:?}");

    // Nothing is young enough for maxAge.
    let in_a_year = Some(Utc::now() + Duration::days(365));
    let defaults = KeepSelector::defaults();
    let mut after = 0;
    loop {
        let report = store
            .clean(&CleanRequest {
                keep: &defaults,
                after,
                limit: 1,
                dry_run: false,
                as_of: in_a_year,
            })
            .await
            .unwrap();
        match report.next_after {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(left(store).await, ["Foo 2", "Bar p1", "Foo 3", "Bar p2"]);
    let after_clean = answer().await;
    assert_eq!(after_clean.deployable, Some(true), "{after_clean:?}");
    assert_eq!(after_clean.success, before.success);
}

//! Pact lists and verification numbers.

use treaty_store::testing::TestDatabase;
use treaty_store::{OpenOptions, PactFilter, PactSelector, StoreError};

use super::{latest_sha, open, request, verify};

/// Runs one statement on the test database, behind the store's back.
async fn execute(url: &str, statement: &str) {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&pool)
            .await
            .unwrap();
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&pool)
            .await
            .unwrap();
    }
}

/// A pact can be megabytes: a list of pacts reads none of their documents
/// (here, documents that are not even JSON any more).
#[tokio::test]
async fn lists_of_pacts_read_no_document() {
    let db = open().await;
    let store = db.store.as_ref();
    for (version, path) in [("1", "/a"), ("2", "/b")] {
        store
            .publish_contracts(&request(version, path))
            .await
            .unwrap();
    }
    execute(&db.url, "UPDATE pact_contents SET content = 'not JSON'").await;
    let between = store
        .pacts_between("Foo", "Bar", PactFilter::All)
        .await
        .unwrap();
    assert_eq!(between.len(), 2);
    assert_eq!(between[0].consumer_version, "2", "newest first");
    assert_eq!(
        store
            .pacts_for_provider("Bar", PactFilter::All)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(store.latest_pacts().await.unwrap().len(), 1);
    assert_eq!(
        store
            .pacts_of_consumer_version("Foo", "1")
            .await
            .unwrap()
            .len(),
        1
    );
    // Reading one pact does read (and check) its document.
    assert!(matches!(
        store.pact("Foo", "Bar", PactSelector::Latest).await,
        Err(StoreError::Corrupt(_))
    ));
}

/// As on a new Pact Broker database, the first verification result is
/// number 101, also after the test data is wiped.
#[tokio::test]
async fn verification_results_are_numbered_from_101() {
    let db = open().await;
    let store = db.store.as_ref();
    for round in 0..2 {
        store.publish_contracts(&request("1", "/a")).await.unwrap();
        let sha = latest_sha(store).await;
        verify(store, &sha, "7", true).await;
        verify(store, &sha, "8", true).await;
        let latest = store
            .verification("Foo", "Bar", &sha, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest.number, 102, "round {round}");
        let first = store
            .verification("Foo", "Bar", &sha, Some(101))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.provider_version, "7");
        assert_eq!(first.pact_consumer_version, "1");
        store.wipe().await.unwrap();
    }
}

/// A database that already holds verification results keeps them at their
/// numbers (their addresses), and numbers the next from 101.
#[tokio::test]
async fn verification_numbers_given_before_the_migration_are_kept() {
    let db = TestDatabase::fresh_with(OpenOptions {
        migrate: false,
        ..OpenOptions::default()
    })
    .await
    .unwrap();
    let folder = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        if db.url.starts_with("postgres") {
            "migrations/postgres"
        } else {
            "migrations/sqlite"
        },
    );
    let migrations = std::fs::read_dir(&folder).unwrap().count();
    let numbering = migrations
        - std::fs::read_dir(&folder)
            .unwrap()
            .filter(|e| {
                e.as_ref().unwrap().file_name().to_string_lossy().as_ref()
                    >= "20261206000020_verification_numbers_from_101.sql"
            })
            .count();
    crate::migrate_with_first(&db.url, &folder, numbering).await;
    // Today's store writes on yesterday's schema here, and today a pact's
    // publication also looks for its provider's contracts (migration 27):
    // give it the two tables it reads, empty, and take them away again
    // before the real migrations run.
    let provider_contract_tables = [
        "CREATE TABLE provider_contract_contents (id INTEGER PRIMARY KEY, sha TEXT NOT NULL)",
        "CREATE TABLE provider_contracts (provider_id INTEGER NOT NULL, provider_version_id INTEGER NOT NULL, content_id INTEGER NOT NULL)",
    ];
    crate::execute_raw(&db.url, &provider_contract_tables).await;
    let store = db.store.as_ref();
    store.publish_contracts(&request("1", "/a")).await.unwrap();
    let sha = latest_sha(store).await;
    verify(store, &sha, "7", true).await;
    verify(store, &sha, "8", false).await;
    crate::execute_raw(
        &db.url,
        &[
            "DROP TABLE provider_contracts",
            "DROP TABLE provider_contract_contents",
        ],
    )
    .await;

    crate::migrate_with_first(&db.url, &folder, migrations).await;
    for (number, provider_version) in [(1, "7"), (2, "8")] {
        let kept = store
            .verification("Foo", "Bar", &sha, Some(number))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("verification {number} is still there"));
        assert_eq!(kept.provider_version, provider_version);
    }
    verify(store, &sha, "9", true).await;
    let next = store
        .verification("Foo", "Bar", &sha, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((next.number, next.provider_version.as_str()), (101, "9"));
}

/// The latest pact of every pair is its newest consumer version's, whatever
/// order the pairs' versions were published in, one row a pair, by consumer
/// then provider name.
#[tokio::test]
async fn the_latest_pact_of_every_pair_is_its_newest_versions() {
    use serde_json::json;
    use treaty_domain::pact::PactDocument;
    use treaty_domain::publish::{ContractToPublish, OnConflict, PublishRequest};
    use treaty_domain::{PacticipantName, VersionNumber};

    let db = open().await;
    let publish = |consumer: &str, providers: &[&str], version: &str| {
        let name = |n: &str| PacticipantName::parse(n).unwrap();
        PublishRequest {
            pacticipant: name(consumer),
            version: VersionNumber::parse(version).unwrap(),
            branch: None,
            tags: vec![],
            build_url: None,
            contracts: providers
                .iter()
                .map(|provider| ContractToPublish {
                    consumer: name(consumer),
                    provider: name(provider),
                    pact: PactDocument::from_value(json!({
                        "consumer": {"name": consumer}, "provider": {"name": provider},
                        "interactions": [{"description": version, "request": {"method": "GET", "path": "/"}, "response": {"status": 200}}]
                    }))
                    .unwrap(),
                    on_conflict: OnConflict::Overwrite,
                })
                .collect(),
        }
    };
    for (consumer, providers, version) in [
        ("web", &["Orders", "Users"][..], "1"),
        ("App", &["Orders"][..], "1"),
        ("web", &["Orders"][..], "2"),
        ("App", &["Orders"][..], "2"),
        ("App", &["Orders"][..], "3"),
        ("web", &["Users"][..], "3"),
    ] {
        db.store
            .publish_contracts(&publish(consumer, providers, version))
            .await
            .unwrap();
    }
    let latest: Vec<(String, String, String)> = db
        .store
        .latest_pacts()
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.consumer, p.provider, p.consumer_version))
        .collect();
    let row = |c: &str, p: &str, v: &str| (c.to_owned(), p.to_owned(), v.to_owned());
    assert_eq!(
        latest,
        [
            row("App", "Orders", "3"),
            row("web", "Orders", "2"),
            row("web", "Users", "3"),
        ]
    );
}

/// Foo's pact with Bar at `version`, on `branch`, with `tag`.
fn on_branch_with_tag(
    version: &str,
    branch: &str,
    tag: &str,
) -> treaty_domain::publish::PublishRequest {
    let mut request = request(version, &format!("/{version}"));
    request.branch = Some(treaty_domain::BranchName::parse(branch).unwrap());
    request.tags = vec![treaty_domain::TagName::parse(tag).unwrap()];
    request
}

async fn pair_versions(store: &dyn treaty_store::Store) -> Vec<String> {
    store
        .pacts_between("Foo", "Bar", PactFilter::All)
        .await
        .unwrap()
        .into_iter()
        .map(|pact| pact.consumer_version)
        .collect()
}

/// A delete of pacts takes the publications its filter names and nothing
/// else: the versions, the verifications of the content and the deployment
/// history stay.
#[tokio::test]
async fn deleting_pacts_takes_only_the_publications_named() {
    let db = open().await;
    let store = db.store.as_ref();
    for (version, branch, tag) in [
        ("1", "main", "prod"),
        ("2", "feat", "dev"),
        ("3", "feat", "prod"),
        ("4", "main", "dev"),
        ("5", "other", "dev"),
    ] {
        store
            .publish_contracts(&on_branch_with_tag(version, branch, tag))
            .await
            .unwrap();
    }
    let sha_of_1 = store
        .pact("Foo", "Bar", PactSelector::ConsumerVersion("1".into()))
        .await
        .unwrap()
        .unwrap()
        .sha;
    verify(store, &sha_of_1, "9", true).await;
    let production = store
        .create_environment(
            None,
            treaty_domain::model::EnvironmentFields {
                name: treaty_domain::EnvironmentName::parse("production").unwrap(),
                display_name: None,
                production: true,
                contacts: None,
            },
        )
        .await
        .unwrap();
    store
        .record_deployment(treaty_store::NewDeployment {
            pacticipant: "Foo".into(),
            version: "1".into(),
            environment_uuid: production.uuid.clone(),
            ..Default::default()
        })
        .await
        .unwrap();

    let with_tag = PactFilter::WithTag("prod".into());
    assert_eq!(
        store
            .delete_pacts_between("Foo", "Bar", with_tag)
            .await
            .unwrap(),
        2
    );
    assert_eq!(pair_versions(store).await, ["5", "4", "2"]);
    let on_feat = PactFilter::OnBranch("feat".into());
    assert_eq!(
        store
            .delete_pacts_between("Foo", "Bar", on_feat)
            .await
            .unwrap(),
        1
    );
    assert_eq!(pair_versions(store).await, ["5", "4"]);
    let main = store.delete_pacts_between("Foo", "Bar", PactFilter::OnMainBranch);
    assert_eq!(main.await.unwrap(), 1, "main is Foo's main branch");
    assert_eq!(pair_versions(store).await, ["5"]);
    assert!(matches!(
        store
            .delete_pacts_between("Foo", "Bar", PactFilter::LatestOnBranch("other".into()))
            .await,
        Err(StoreError::Unsupported(_))
    ));
    assert_eq!(
        pair_versions(store).await,
        ["5"],
        "a refused delete takes nothing"
    );
    assert_eq!(
        store
            .delete_pacts_between("Foo", "Bar", PactFilter::All)
            .await
            .unwrap(),
        1
    );
    assert!(pair_versions(store).await.is_empty());
    assert_eq!(
        store
            .delete_pacts_between("Foo", "Bar", PactFilter::All)
            .await
            .unwrap(),
        0
    );

    // What stays.
    assert!(store.version("Foo", "1").await.unwrap().is_some());
    let verification = store
        .verification("Foo", "Bar", &sha_of_1, None)
        .await
        .unwrap();
    assert!(
        verification.is_some(),
        "the content keeps its verifications"
    );
    let deployed = store
        .currently_deployed(&production.uuid, Default::default())
        .await
        .unwrap();
    assert_eq!(deployed.len(), 1);
    assert_eq!(deployed[0].version, "1");
    assert_eq!(
        store
            .deployment_history_of("Foo", Some("1"))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_verification_result_is_deleted_by_its_number_and_its_pact() {
    let db = open().await;
    let store = db.store.as_ref();
    store.publish_contracts(&request("1", "/a")).await.unwrap();
    let sha = latest_sha(store).await;
    verify(store, &sha, "1", true).await;
    verify(store, &sha, "2", false).await;
    let latest = store
        .verification("Foo", "Bar", &sha, None)
        .await
        .unwrap()
        .unwrap();
    let first = latest.number - 1;
    assert!(
        !store
            .delete_verification("Bar", "Foo", &sha, first)
            .await
            .unwrap(),
        "the pair reversed"
    );
    assert!(
        !store
            .delete_verification("Foo", "Bar", "0000", first)
            .await
            .unwrap(),
        "another content"
    );
    assert!(
        store
            .delete_verification("Foo", "Bar", &sha, first)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_verification("Foo", "Bar", &sha, first)
            .await
            .unwrap(),
        "already gone"
    );
    assert!(
        store
            .verification("Foo", "Bar", &sha, Some(first))
            .await
            .unwrap()
            .is_none()
    );
    let still = store
        .verification("Foo", "Bar", &sha, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.number, latest.number);
    // Numbers are not given out again.
    verify(store, &sha, "3", true).await;
    let next = store
        .verification("Foo", "Bar", &sha, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.number, latest.number + 1);
    assert!(
        store
            .delete_verification("Foo", "Bar", &sha, next.number)
            .await
            .unwrap()
    );
    let after = store
        .verification("Foo", "Bar", &sha, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.number, latest.number, "the latest is the one before");
}

#[tokio::test]
async fn deleting_branches_keeps_the_main_branch_and_those_excluded() {
    let db = open().await;
    let store = db.store.as_ref();
    for (version, branch) in [
        ("1", "main"),
        ("2", "feat/bar"),
        ("3", "feat/foo"),
        ("4", "feat/baz"),
    ] {
        store
            .publish_contracts(&on_branch_with_tag(version, branch, "dev"))
            .await
            .unwrap();
    }
    let outcome = store
        .delete_branches_except("Foo", &["feat/bar".to_owned(), "nonexistent".to_owned()])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.deleted, 2);
    assert_eq!(outcome.remaining, ["main", "feat/bar"]);
    let names: Vec<String> = store
        .branches("Foo", None, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|branch| branch.name)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        store.version("Foo", "3").await.unwrap().is_some(),
        "versions stay"
    );
    assert!(
        store
            .delete_branches_except("Nobody", &[])
            .await
            .unwrap()
            .is_none()
    );
}

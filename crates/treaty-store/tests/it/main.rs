//! The store against a real database (SQLite, or PostgreSQL when
//! TREATY_TEST_POSTGRES_URL is set): transactions, concurrency, reopening.

use serde_json::json;
use treaty_domain::pact::PactDocument;
use treaty_domain::publish::{ContractToPublish, OnConflict, PublishRequest};
use treaty_domain::{PacticipantName, TagName, VersionNumber};
use treaty_store::testing::TestDatabase;
use treaty_store::{OpenOptions, PactSelector, StoreError};

async fn open() -> TestDatabase {
    TestDatabase::fresh().await.unwrap()
}

fn request(version: &str, path: &str) -> PublishRequest {
    let pact = PactDocument::from_value(json!({
        "consumer": {"name": "Foo"}, "provider": {"name": "Bar"},
        "interactions": [{"description": "d", "request": {"method": "GET", "path": path}, "response": {"status": 200}}]
    }))
    .unwrap();
    PublishRequest {
        pacticipant: PacticipantName::parse("Foo").unwrap(),
        version: VersionNumber::parse(version).unwrap(),
        branch: None,
        tags: vec![TagName::parse("dev").unwrap()],
        build_url: None,
        contracts: vec![ContractToPublish {
            consumer: PacticipantName::parse("Foo").unwrap(),
            provider: PacticipantName::parse("Bar").unwrap(),
            pact,
            on_conflict: OnConflict::Overwrite,
        }],
    }
}

#[tokio::test]
async fn creates_the_sqlite_folder() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("nested/folder/treaty.db").display()
    );
    treaty_store::open(&url, OpenOptions::default())
        .await
        .unwrap();
    assert!(dir.path().join("nested/folder/treaty.db").is_file());
}

#[tokio::test]
async fn survives_reopening() {
    let db = open().await;
    db.store
        .publish_contracts(&request("1", "/a"))
        .await
        .unwrap();
    drop(db.store.clone());
    let reopened = treaty_store::open(&db.url, OpenOptions::default())
        .await
        .unwrap();
    let pact = reopened
        .pact("Foo", "Bar", PactSelector::Latest)
        .await
        .unwrap()
        .expect("the pact is still there");
    assert_eq!(pact.consumer_version, "1");
    assert!(
        treaty_store::pending_migrations(&db.url)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_publications_of_different_content_for_one_version_leave_exactly_one() {
    let db = open().await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .publish_contracts(&request("1", &format!("/path/{i}")))
                .await
        }));
    }
    let mut won = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::PactContentConflict { .. }) => conflicts += 1,
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!((won, conflicts), (1, 15));
    let pacts = db
        .store
        .pacts_between("Foo", "Bar", treaty_store::PactFilter::All)
        .await
        .unwrap();
    assert_eq!(pacts.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_publications_of_many_versions_all_land() {
    let db = open().await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .publish_contracts(&request(&i.to_string(), "/same"))
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let versions = db.store.versions("Foo", None).await.unwrap();
    assert_eq!(versions.items.len(), 24);
    let pacts = db.store.latest_pacts().await.unwrap();
    assert_eq!(pacts.len(), 1);
}

#[tokio::test]
async fn wipe_removes_everything_and_restarts_numbering() {
    let db = open().await;
    db.store
        .publish_contracts(&request("1", "/a"))
        .await
        .unwrap();
    db.store.wipe().await.unwrap();
    assert!(
        db.store
            .pacticipants(None, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    db.store
        .publish_contracts(&request("7", "/a"))
        .await
        .unwrap();
    let version = db.store.version("Foo", "7").await.unwrap().unwrap();
    assert_eq!(version.id, 1);
}

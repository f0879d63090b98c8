//! Pact lists and verification numbers.

use treaty_store::testing::TestDatabase;
use treaty_store::{OpenOptions, PactFilter, PactSelector, StoreError};

use super::{open, request, verify};

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
        let sha = store
            .pact("Foo", "Bar", PactSelector::Latest)
            .await
            .unwrap()
            .unwrap()
            .sha;
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
    let store = db.store.as_ref();
    store.publish_contracts(&request("1", "/a")).await.unwrap();
    let sha = store
        .pact("Foo", "Bar", PactSelector::Latest)
        .await
        .unwrap()
        .unwrap()
        .sha;
    verify(store, &sha, "7", true).await;
    verify(store, &sha, "8", false).await;

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

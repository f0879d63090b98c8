//! The store against a real database (SQLite, or PostgreSQL when
//! TREATY_TEST_POSTGRES_URL is set): transactions, concurrency, reopening.

mod clean;
mod deployment_slot;
mod dropped_sessions;
mod environment_order;
mod group_commit;
mod integration_status;
mod latest_verification;
mod matrix_pages;
mod names;
mod one_truth_migration;
mod pacts;
mod webhook_deliveries;

use serde_json::json;
use treaty_domain::pact::PactDocument;
use treaty_domain::publish::{ContractToPublish, OnConflict, PublishRequest};
use treaty_domain::{PacticipantName, TagName, VersionNumber};
use treaty_store::testing::TestDatabase;
use treaty_store::{OpenOptions, PactSelector, StoreError};

/// Bar `provider_version` verifies Foo's pact content `sha`.
async fn verify(store: &dyn treaty_store::Store, sha: &str, provider_version: &str, success: bool) {
    store
        .publish_verification(
            "Foo",
            "Bar",
            sha,
            treaty_domain::model::NewVerification {
                provider_version: VersionNumber::parse(provider_version).unwrap(),
                success,
                build_url: None,
                test_results: None,
                verified_by: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
}

async fn open() -> TestDatabase {
    TestDatabase::fresh().await.unwrap()
}

/// The sha of Foo's latest pact with Bar.
async fn latest_sha(store: &dyn treaty_store::Store) -> String {
    store
        .pact("Foo", "Bar", PactSelector::Latest)
        .await
        .unwrap()
        .unwrap()
        .sha
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

/// The columns of every table: (table, column).
async fn columns(url: &str) -> Vec<(String, String)> {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' ORDER BY 1, 2",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' ORDER BY 1, 2",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    }
}

async fn migrate_with_first(url: &str, folder: &std::path::Path, count: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files.iter().take(count) {
        std::fs::copy(file, dir.path().join(file.file_name().unwrap())).unwrap();
    }
    let migrator = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    if url.starts_with("postgres") {
        migrator
            .run(&sqlx::PgPool::connect(url).await.unwrap())
            .await
            .unwrap();
    } else {
        migrator
            .run(&sqlx::SqlitePool::connect(url).await.unwrap())
            .await
            .unwrap();
    }
}

/// Runs statements on the database at `url` outside the store (a test's own
/// scaffolding).
async fn execute_raw(url: &str, statements: &[&'static str]) {
    for statement in statements {
        if url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::raw_sql(*statement).execute(&pool).await.unwrap();
        } else {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            sqlx::raw_sql(*statement).execute(&pool).await.unwrap();
        }
    }
}

/// Expand/contract: a migration may add tables and columns, never remove or
/// rename one that the previous release reads, so the previous release keeps
/// working against a database the new release has migrated (a rolling upgrade).
/// Here: after each migration, every column the schema had before is still there.
#[tokio::test]
async fn each_migration_only_expands_the_schema() {
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
    let count = std::fs::read_dir(&folder).unwrap().count();
    assert!(count >= 2);
    let mut before = Vec::new();
    for n in 1..=count {
        migrate_with_first(&db.url, &folder, n).await;
        let after = columns(&db.url).await;
        for column in &before {
            assert!(
                after.contains(column),
                "migration {n} removed or renamed {column:?}, which the previous release reads"
            );
        }
        // A migration may add only indexes, so no new column is required.
        assert!(after.len() >= before.len(), "migration {n} removed columns");
        before = after;
    }
}

#[tokio::test]
async fn every_migration_exists_for_both_backends() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let names = |backend: &str| {
        let mut names: Vec<String> = std::fs::read_dir(root.join(backend))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        names("sqlite"),
        names("postgres"),
        "every migration exists for both backends"
    );
}

/// A pair whose one pact content is published by many consumer versions and
/// verified many times: with a limit the store keeps only the page while it
/// builds rows, and that page must be the one the Pact Broker's query gives:
/// the rows of the `limit` most recently published pacts, the most recent
/// `limit` of them, and only then filtered by `success[]`.
#[tokio::test]
async fn a_matrix_page_is_the_most_recent_rows_of_the_most_recent_pacts() {
    use std::cmp::Reverse;
    use treaty_domain::matrix::evaluate;
    use treaty_domain::matrix_query::parse_matrix_query;

    let db = open().await;
    let store = db.store.as_ref();
    let mut sha = String::new();
    // Publications and verifications interleaved, so that some rows' last
    // action is their pact's publication and others' their verification.
    for round in 0..3 {
        for v in 0..4 {
            store
                .publish_contracts(&request(&format!("{round}.{v}"), "/same"))
                .await
                .unwrap();
        }
        if sha.is_empty() {
            sha = latest_sha(store).await;
        }
        for p in 0..5 {
            verify(store, &sha, &format!("p{round}.{p}"), p != 3).await;
        }
    }

    let rows_of = |query: &str| {
        let query = parse_matrix_query(query).unwrap();
        async move {
            let evidence = store.matrix_evidence(&query).await.unwrap().unwrap();
            evaluate(&query, evidence).rows
        }
    };
    let mut everything = rows_of("q[][pacticipant]=Foo&q[][pacticipant]=Bar&limit=1000").await;
    assert_eq!(everything.len(), 12 * 15, "every pact × verification row");
    everything.sort_by_key(|row| Reverse(row.rank()));
    // Publications are made one after another: their ids are their order.
    let mut publications: Vec<i64> = everything.iter().map(|r| r.pact_publication_id).collect();
    publications.sort_unstable_by_key(|id| Reverse(*id));
    publications.dedup();
    for limit in [1, 7, 40, 179] {
        for success in ["", "&success[]=false"] {
            let mut page = rows_of(&format!(
                "q[][pacticipant]=Foo&q[][pacticipant]=Bar&limit={limit}{success}"
            ))
            .await;
            page.sort_by_key(|row| Reverse(row.rank()));
            let newest_pacts = &publications[..limit.min(publications.len())];
            let mut expected = everything.clone();
            expected.retain(|row| newest_pacts.contains(&row.pact_publication_id));
            expected.truncate(limit);
            if !success.is_empty() {
                expected.retain(|row| row.success() == Some(false));
            }
            assert_eq!(page, expected, "limit {limit}{success}");
        }
    }
}

//! `treaty export` and `treaty import`: SQLite → export → import into a fresh
//! database (PostgreSQL when the suite runs on it) → export gives the same content.

use serde_json::{Value, json};
use treaty_domain::model::{EnvironmentFields, NewVerification};
use treaty_domain::pact::PactDocument;
use treaty_domain::publish::{ContractToPublish, OnConflict, PublishRequest};
use treaty_domain::{EnvironmentName, LabelName, PacticipantName, TagName, VersionNumber};
use treaty_store::testing::TestDatabase;
use treaty_store::{NewDeployment, OpenOptions, PactSelector, Store};

use crate::support::{text, treaty};

async fn seed(store: &dyn Store) {
    let pact = PactDocument::from_value(json!({
        "consumer": {"name": "Foo"}, "provider": {"name": "Bar"},
        "interactions": [{"description": "d", "request": {"method": "GET", "path": "/ü"}, "response": {"status": 200}}]
    }))
    .unwrap();
    store
        .publish_contracts(&PublishRequest {
            pacticipant: PacticipantName::parse("Foo").unwrap(),
            version: VersionNumber::parse("1.0.0").unwrap(),
            branch: Some(treaty_domain::BranchName::parse("main").unwrap()),
            tags: vec![TagName::parse("dev").unwrap()],
            build_url: Some("https://ci/1".into()),
            contracts: vec![ContractToPublish {
                consumer: PacticipantName::parse("Foo").unwrap(),
                provider: PacticipantName::parse("Bar").unwrap(),
                pact,
                on_conflict: OnConflict::Overwrite,
            }],
        })
        .await
        .unwrap();
    let sha = store
        .pact("Foo", "Bar", PactSelector::Latest)
        .await
        .unwrap()
        .unwrap()
        .sha;
    store
        .publish_verification(
            "Foo",
            "Bar",
            &sha,
            NewVerification {
                provider_version: VersionNumber::parse("2").unwrap(),
                success: true,
                build_url: None,
                test_results: Some(json!([{"success": true}])),
                verified_by: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
    store
        .add_label("Foo", &LabelName::parse("team-a").unwrap())
        .await
        .unwrap();
    let environment = store
        .create_environment(
            None,
            EnvironmentFields {
                name: EnvironmentName::parse("production").unwrap(),
                display_name: None,
                production: true,
                contacts: Some(json!([{"name": "ops"}])),
            },
        )
        .await
        .unwrap();
    for version in ["1.0.0"] {
        store
            .record_deployment(NewDeployment {
                pacticipant: "Foo".into(),
                version: version.into(),
                environment_uuid: environment.uuid.clone(),
                application_instance: Some("blue".into()),
                uuid: None,
            })
            .await
            .unwrap();
    }
    store
        .record_release("Bar", "2", &environment.uuid, None)
        .await
        .unwrap();
}

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_export_import_export_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}", dir.path().join("source.db").display());
    let store = treaty_store::open(&source, OpenOptions::default())
        .await
        .unwrap();
    seed(store.as_ref()).await;
    drop(store);

    let first = dir.path().join("first.json");
    let out = treaty(&[
        "export",
        "--database-url",
        &source,
        "--file",
        first.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));

    let target = TestDatabase::fresh().await.unwrap();
    let out = treaty(&[
        "import",
        "--database-url",
        &target.url,
        "--file",
        first.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_planner_statistics_after_import(&target.url).await;

    let second = dir.path().join("second.json");
    let out = treaty(&[
        "export",
        "--database-url",
        &target.url,
        "--file",
        second.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let (first, second) = (read(&first), read(&second));
    assert_eq!(first, second, "nothing is lost or changed on the way");
    assert_eq!(
        first["tables"]["deployed_versions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The imported data is usable: new rows continue after the imported ids.
    let pact = target
        .store
        .pact("Foo", "Bar", PactSelector::Latest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pact.consumer_version, "1.0.0");
    target
        .store
        .add_label("Bar", &LabelName::parse("x").unwrap())
        .await
        .unwrap();
    target
        .store
        .put_version(
            &PacticipantName::parse("Foo").unwrap(),
            &VersionNumber::parse("1.0.1").unwrap(),
            Default::default(),
        )
        .await
        .unwrap();

    // A second import into the now non-empty database is refused, and changes nothing.
    let third = dir.path().join("third.json");
    std::fs::write(&third, first.to_string()).unwrap();
    let out = treaty(&[
        "import",
        "--database-url",
        &target.url,
        third.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--replace"), "{}", text(&out));
    assert!(
        target
            .store
            .version("Foo", "1.0.1")
            .await
            .unwrap()
            .is_some()
    );
    let out = treaty(&[
        "import",
        "--database-url",
        &target.url,
        "--replace",
        third.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        target
            .store
            .version("Foo", "1.0.1")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn importing_a_file_that_is_not_an_export_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.json");
    std::fs::write(&file, "{\"hello\": 1}").unwrap();
    let target = TestDatabase::fresh().await.unwrap();
    let out = treaty(&[
        "import",
        "--database-url",
        &target.url,
        file.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("not a Treaty export"), "{}", text(&out));
}

/// PostgreSQL gets its planner statistics as soon as an import commits (not
/// whenever autovacuum comes by); SQLite's plans are written for no
/// statistics, so an import must not create them.
async fn assert_planner_statistics_after_import(url: &str) {
    use sqlx::Connection;
    if TestDatabase::backend() == "postgres" {
        let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
        let analysed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = 'versions'",
        )
        .fetch_one(&mut connection)
        .await
        .unwrap();
        assert!(analysed > 0, "no statistics for versions after the import");
    } else {
        let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
        let tables: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
                .fetch_one(&mut connection)
                .await
                .unwrap();
        assert_eq!(tables, 0, "an import ran ANALYZE on SQLite");
    }
}

//! `treaty clean`: what an operator sees (the store's tests cover the selectors).

use serde_json::{Value, json};
use treaty_domain::pact::PactDocument;
use treaty_domain::publish::{ContractToPublish, OnConflict, PublishRequest};
use treaty_domain::{PacticipantName, VersionNumber};
use treaty_store::testing::TestDatabase;

use crate::support::{text, treaty};

/// Foo 1 and 2 publish a pact with Bar; Foo 3 is the latest.
async fn seeded() -> TestDatabase {
    let db = TestDatabase::fresh().await.unwrap();
    for (number, path) in [("1", Some("/a")), ("2", Some("/b")), ("3", None)] {
        let contracts = path
            .map(|path| {
                vec![ContractToPublish {
                    consumer: PacticipantName::parse("Foo").unwrap(),
                    provider: PacticipantName::parse("Bar").unwrap(),
                    pact: PactDocument::from_value(json!({
                        "consumer": {"name": "Foo"}, "provider": {"name": "Bar"},
                        "interactions": [{"description": "d", "request": {"method": "GET", "path": path}, "response": {"status": 200}}]
                    }))
                    .unwrap(),
                    on_conflict: OnConflict::Overwrite,
                }]
            })
            .unwrap_or_default();
        if contracts.is_empty() {
            db.store
                .put_version(
                    &PacticipantName::parse("Foo").unwrap(),
                    &VersionNumber::parse(number).unwrap(),
                    Default::default(),
                )
                .await
                .unwrap();
            continue;
        }
        db.store
            .publish_contracts(&PublishRequest {
                pacticipant: PacticipantName::parse("Foo").unwrap(),
                version: VersionNumber::parse(number).unwrap(),
                branch: None,
                tags: Vec::new(),
                build_url: None,
                contracts,
            })
            .await
            .unwrap();
    }
    db
}

async fn foo_versions(db: &TestDatabase) -> usize {
    db.store.versions("Foo", None).await.unwrap().items.len()
}

#[tokio::test]
async fn a_dry_run_lists_what_would_go_and_removes_nothing() {
    let db = seeded().await;
    let out = treaty(&[
        "clean",
        "--database-url",
        &db.url,
        "--keep",
        r#"{"latest": true}"#,
        "--dry-run",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", text(&out));
    assert!(lines[0].starts_with("Foo 1\tcreated "), "{}", text(&out));
    assert!(
        lines[0].ends_with("1 pact, 0 verification results"),
        "{}",
        text(&out)
    );
    assert!(lines[1].starts_with("Foo 2\t"), "{}", text(&out));
    assert_eq!(
        lines[2],
        "Would remove 2 versions, 2 pacts, 0 verification results and 2 pact contents (dry run: nothing was removed)."
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(r#"keeping {"latest":true}, and every version with deployment history"#),
        "{}",
        text(&out)
    );
    assert_eq!(foo_versions(&db).await, 3);

    // The defaults keep everything from the last 90 days.
    let out = treaty(&["clean", "--database-url", &db.url, "--dry-run"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("Would remove 0 versions"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn json_output_lists_what_was_removed_batch_by_batch() {
    let db = seeded().await;
    let out = treaty(&[
        "clean",
        "--database-url",
        &db.url,
        "--keep",
        r#"[{"latest": true}]"#,
        "--batch-size",
        "1",
        "--pause",
        "1ms",
        "-o",
        "json",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let document: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(document["dryRun"], json!(false));
    assert_eq!(document["keep"], json!([{"latest": true}]));
    let removed: Vec<(&str, &str)> = document["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["pacticipant"].as_str().unwrap(),
                v["version"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(removed, [("Foo", "1"), ("Foo", "2")]);
    assert_eq!(document["removed"][0]["pactPublications"], json!(1));
    assert!(document["removed"][0]["createdAt"].is_string());
    assert_eq!(
        document["counts"],
        json!({"versions": 2, "pactPublications": 2, "verifications": 0, "pactContents": 2})
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("batch 1: removed 1 version (1 so far)"),
        "{}",
        text(&out)
    );
    assert!(
        stderr.contains("batch 2: removed 1 version (2 so far)"),
        "{}",
        text(&out)
    );
    assert_eq!(foo_versions(&db).await, 1);
}

#[tokio::test]
async fn a_bad_selector_exits_1_and_says_what_is_wrong() {
    let db = seeded().await;
    for (selector, expected) in [
        (r#"{"lastest": true}"#, r#"unknown key "lastest""#),
        ("{latest: true}", "is not JSON"),
        (
            r#"{"maxAge": "90"}"#,
            "maxAge must be a whole number of days",
        ),
        (r#"{}"#, "selects every version"),
        (
            r#"{"pacticipant": "Nobody", "latest": true}"#,
            "no pacticipant named 'Nobody'",
        ),
    ] {
        let out = treaty(&["clean", "--database-url", &db.url, "--keep", selector]).await;
        assert_eq!(out.status.code(), Some(1), "{selector}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("error: ") && stderr.contains(expected),
            "{selector}: {}",
            text(&out)
        );
        assert!(out.stdout.is_empty(), "{selector}: {}", text(&out));
    }
    assert_eq!(foo_versions(&db).await, 3, "nothing was removed");
}

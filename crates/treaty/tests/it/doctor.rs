//! `treaty doctor` lists the stored names today's rules would refuse (as an
//! older Treaty or an import let them in), and leaves them readable.

use serde_json::Value;
use treaty_domain::model::{EnvironmentFields, PacticipantFields};
use treaty_domain::{BranchName, EnvironmentName, PacticipantName, TagName, VersionNumber};
use treaty_store::VersionChanges;
use treaty_store::testing::TestDatabase;

use crate::support::{text, treaty};

/// Names as they were stored before the rules, through the store itself.
async fn legacy_names(db: &TestDatabase) {
    let store = &db.store;
    for name in ["Foo", " Legacy", "Ad\u{200B}min"] {
        store
            .create_pacticipant(
                &PacticipantName::parse_lookup(name).unwrap(),
                PacticipantFields::default(),
            )
            .await
            .unwrap();
    }
    let owner = PacticipantName::parse("Foo").unwrap();
    for (number, branch, tag) in [("1.0.0", "main", "prod"), ("1\u{202E}0", "feat/x", "..")] {
        store
            .put_version(
                &owner,
                &VersionNumber::parse_lookup(number).unwrap(),
                VersionChanges {
                    build_url: None,
                    tags: Some(vec![TagName::parse_lookup(tag).unwrap()]),
                    branch: Some(BranchName::parse_lookup(branch).unwrap()),
                    replace: false,
                },
            )
            .await
            .unwrap();
    }
    store
        .create_environment(
            None,
            EnvironmentFields {
                name: EnvironmentName::parse_lookup("pr\u{43e}duction").unwrap(),
                display_name: None,
                production: true,
                contacts: None,
            },
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_lists_stored_names_that_break_the_rules_and_they_stay_readable() {
    let db = TestDatabase::fresh().await.unwrap();
    legacy_names(&db).await;

    let out = treaty(&["doctor", "--database-url", &db.url]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "5 of ",
        r#"pacticipant " Legacy": cannot start or end with whitespace"#,
        r#"pacticipant "Ad\u{200b}min": contains U+200B ZERO WIDTH SPACE at position 3"#,
        r#"version "1\u{202e}0" of pacticipant "Foo": contains U+202E RIGHT-TO-LEFT OVERRIDE at position 2"#,
        r#"tag ".." of pacticipant "Foo": cannot be '.' or '..'"#,
        "environment \"pr\u{43e}duction\": mixes Latin and Cyrillic letters",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{}",
            text(&out)
        );
    }
    assert!(
        !stdout.contains('\u{202E}'),
        "a bidirectional control is shown escaped, never as itself"
    );

    let out = treaty(&["doctor", "--database-url", &db.url, "-o", "json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let breaking = report["breaking"].as_array().unwrap();
    assert_eq!(breaking.len(), 5, "{report}");
    assert_eq!(breaking[0]["kind"], "pacticipant");
    assert_eq!(breaking[0]["name"], " Legacy");

    // Still readable, exactly as stored.
    assert!(db.store.pacticipant(" Legacy").await.unwrap().is_some());
    assert!(
        db.store
            .version("Foo", "1\u{202E}0")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_is_quiet_about_a_database_that_follows_the_rules() {
    let db = TestDatabase::fresh().await.unwrap();
    db.store
        .create_pacticipant(
            &PacticipantName::parse("pactflow-example-consumer").unwrap(),
            PacticipantFields::default(),
        )
        .await
        .unwrap();
    let out = treaty(&["doctor", "--database-url", &db.url]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with("Checked 1 stored names: all follow the rules"),
        "{}",
        text(&out)
    );
}

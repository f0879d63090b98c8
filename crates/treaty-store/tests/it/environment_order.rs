//! Environments in pipeline order: the backfill of existing ones, where a
//! new one goes, and an order an admin sets.

use treaty_domain::EnvironmentName;
use treaty_domain::model::EnvironmentFields;
use treaty_store::testing::TestDatabase;
use treaty_store::{OpenOptions, StoreError};

const ORDER_MIGRATION: &str = "20261208000026_environment_pipeline_order.sql";

fn fields(name: &str, production: bool) -> EnvironmentFields {
    EnvironmentFields {
        name: EnvironmentName::parse(name).unwrap(),
        display_name: None,
        production,
        contacts: None,
    }
}

async fn names(store: &dyn treaty_store::Store) -> Vec<String> {
    store
        .pipeline_environments()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect()
}

fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| (*n).to_owned()).collect()
}

/// A database of the release before the column: after migrating, the ones
/// that are not production come first, each kind by name (not by display name).
#[tokio::test]
async fn existing_environments_are_ordered_not_production_first_then_by_name() {
    let db = TestDatabase::fresh_with(OpenOptions {
        migrate: false,
        ..OpenOptions::default()
    })
    .await
    .unwrap();
    let postgres = db.url.starts_with("postgres");
    let folder = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(if postgres {
        "migrations/postgres"
    } else {
        "migrations/sqlite"
    });
    let before = std::fs::read_dir(&folder)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_str().unwrap() < ORDER_MIGRATION)
        .count();
    crate::migrate_with_first(&db.url, &folder, before).await;
    let insert = |name: &str, display: &str, production: bool| {
        format!(
            "INSERT INTO environments (uuid, name, display_name, production, created_at, updated_at) \
             VALUES ('{name}', '{name}', '{display}', {production}, '2026-11-30T12:00:00Z', '2026-11-30T12:00:00Z')"
        )
    };
    let rows = [
        insert("production", "A production", true),
        insert("staging", "Staging", false),
        insert("dr", "Disaster recovery", true),
        insert("test", "Test", false),
    ];
    if postgres {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        for row in rows {
            sqlx::query(sqlx::AssertSqlSafe(row))
                .execute(&pool)
                .await
                .unwrap();
        }
    } else {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        for row in rows {
            sqlx::query(sqlx::AssertSqlSafe(row))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
    let store = treaty_store::open(&db.url, OpenOptions::default())
        .await
        .unwrap();
    assert_eq!(
        names(store.as_ref()).await,
        owned(&["staging", "test", "dr", "production"])
    );
}

#[tokio::test]
async fn a_new_environment_goes_before_production_or_last_when_it_is_production() {
    let db = TestDatabase::fresh().await.unwrap();
    let store = db.store.as_ref();
    assert!(store.ensure_default_environments().await.unwrap());
    // A new database has test and production.
    assert_eq!(names(store).await, owned(&["test", "production"]));
    store
        .create_environment(None, fields("staging", false))
        .await
        .unwrap();
    store
        .create_environment(None, fields("dr", true))
        .await
        .unwrap();
    assert_eq!(
        names(store).await,
        owned(&["test", "staging", "production", "dr"])
    );
}

#[tokio::test]
async fn an_admin_sets_the_order_and_every_list_follows_it() {
    let db = TestDatabase::fresh().await.unwrap();
    let store = db.store.as_ref();
    assert!(store.ensure_default_environments().await.unwrap());
    store
        .create_environment(None, fields("staging", false))
        .await
        .unwrap();
    let wanted = owned(&["staging", "test", "production"]);
    let ordered = store.set_environment_order(&wanted).await.unwrap();
    assert_eq!(
        ordered.into_iter().map(|e| e.name).collect::<Vec<_>>(),
        wanted
    );
    assert_eq!(names(store).await, wanted);
    // Deleting one keeps the others' order; a new one still goes before production.
    let staging = store.environment_by_name("staging").await.unwrap().unwrap();
    assert!(store.delete_environment(&staging.uuid).await.unwrap());
    store
        .create_environment(None, fields("qa", false))
        .await
        .unwrap();
    assert_eq!(names(store).await, owned(&["test", "qa", "production"]));
}

#[tokio::test]
async fn an_order_that_is_not_every_environment_once_changes_nothing() {
    let db = TestDatabase::fresh().await.unwrap();
    let store = db.store.as_ref();
    assert!(store.ensure_default_environments().await.unwrap());
    for wrong in [
        owned(&["production"]),
        owned(&["production", "test", "test"]),
        owned(&["production", "test", "qa"]),
    ] {
        match store.set_environment_order(&wrong).await {
            Err(StoreError::Conflict(message)) => assert!(!message.is_empty()),
            other => panic!("{wrong:?}: expected a conflict, got {other:?}"),
        }
    }
    assert_eq!(names(store).await, owned(&["test", "production"]));
}

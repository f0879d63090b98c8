//! Database sessions that end under the store: on PostgreSQL the server
//! may end a pooled connection (a restart, an administrator's
//! `pg_terminate_backend`, a proxy's timeout) while it sits idle.

use std::time::Duration;

use treaty_store::Store;
use treaty_store::testing::TestDatabase;

use super::{latest_sha, open, request};

/// Ends every session Treaty holds on the test's PostgreSQL database, from
/// a connection of its own; how many it ended.
async fn end_treaty_sessions(url: &str) -> i64 {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    let ended: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'treaty'
           AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    admin.close().await.unwrap();
    ended
}

/// A write, a read of one snapshot and a read of one statement.
async fn write_and_read(store: &dyn Store, version: &str) {
    store
        .publish_contracts(&request(version, &format!("/{version}")))
        .await
        .unwrap();
    let facts = store
        .version_list_facts("Foo", &[version.to_owned()])
        .await
        .unwrap();
    assert_eq!(facts.pacts.len(), 1, "{facts:?}");
    assert!(!latest_sha(store).await.is_empty());
}

#[tokio::test]
async fn a_request_after_the_server_ended_the_pools_sessions_is_answered() {
    let db = open().await;
    let store = db.store.as_ref();
    write_and_read(store, "1").await;
    if TestDatabase::backend() == "postgres" {
        assert!(end_treaty_sessions(&db.url).await > 0);
    }
    // At once: the connections were used a moment ago, so they are lent
    // without a ping; `BEGIN` finds each gone and the store begins again
    // on another, for writes and snapshots alike.
    store.publish_contracts(&request("2", "/2")).await.unwrap();
    let facts = store
        .version_list_facts("Foo", &["2".to_owned()])
        .await
        .unwrap();
    assert_eq!(facts.pacts.len(), 1, "{facts:?}");

    write_and_read(store, "3").await;
    if TestDatabase::backend() == "postgres" {
        assert!(end_treaty_sessions(&db.url).await > 0);
    }
    // Later: a connection idle for longer than the pool's window is pinged
    // before it is lent, so a single statement outside any transaction
    // gets a live one too.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!latest_sha(store).await.is_empty());
    write_and_read(store, "4").await;
}

//! Concurrent writes through the write path (on SQLite, batches that share
//! one commit; on PostgreSQL, transactions queued on the write lock): every
//! acknowledged write has landed by the time it is answered, each with its
//! audit entry, and a write that fails takes nothing else with it.

use std::sync::Arc;

use serde_json::json;
use treaty_domain::access::{AuditKey, verify_chain};
use treaty_domain::pact::PactDocument;
use treaty_domain::publish::{ContractToPublish, OnConflict, PublishRequest};
use treaty_domain::{BranchName, PacticipantName, VersionNumber};
use treaty_store::audit::RequestAudit;
use treaty_store::{NewAuditEntry, PactFilter, Store, StoreError};

use super::open;

const WRITERS: usize = 32;

fn audit(target: &str) -> RequestAudit {
    RequestAudit::new(
        NewAuditEntry {
            actor: "ci".into(),
            address: "127.0.0.1".into(),
            method: "PUT".into(),
            target: target.into(),
            status: 0,
            summary: String::new(),
        },
        AuditKey::derive("group commit"),
    )
}

/// `Foo` version `number` added to branch `feat`, inside its request's audit.
async fn add_to_branch(store: Arc<dyn Store>, number: String) -> (RequestAudit, bool) {
    let audit = audit(&format!(
        "/pacticipants/Foo/branches/feat/versions/{number}"
    ));
    audit
        .scope(async {
            store
                .add_branch_version(
                    &PacticipantName::parse("Foo").unwrap(),
                    &BranchName::parse("feat").unwrap(),
                    &VersionNumber::parse(&number).unwrap(),
                )
                .await
                .unwrap();
            // Answered: another connection must see it now, not after a
            // batch still open commits.
            let visible = store
                .branch_version("Foo", "feat", &number)
                .await
                .unwrap()
                .is_some();
            (audit.clone(), visible)
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_all_land_each_visible_when_answered_with_its_audit_entry() {
    let db = open().await;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| tokio::spawn(add_to_branch(db.store.clone(), format!("1.{i}"))))
        .collect();
    for task in tasks {
        let (audit, visible) = task.await.unwrap();
        assert!(visible, "a write was answered before it was committed");
        assert!(audit.committed());
    }
    let versions = db.store.branch_versions("Foo", "feat", None).await.unwrap();
    assert_eq!(versions.items.len(), WRITERS);
    let chain = db.store.audit_chain(None).await.unwrap();
    assert_eq!(chain.len(), WRITERS);
    verify_chain(&AuditKey::derive("group commit"), &chain, None, None).unwrap();
}

fn contract(provider: &str, path: &str) -> ContractToPublish {
    ContractToPublish {
        consumer: PacticipantName::parse("Foo").unwrap(),
        provider: PacticipantName::parse(provider).unwrap(),
        pact: PactDocument::from_value(json!({
            "consumer": {"name": "Foo"}, "provider": {"name": provider},
            "interactions": [{"description": "d", "request": {"method": "GET", "path": path}, "response": {"status": 200}}]
        }))
        .unwrap(),
        on_conflict: OnConflict::Overwrite,
    }
}

fn publish(
    version: &str,
    branch: Option<&str>,
    contracts: Vec<ContractToPublish>,
) -> PublishRequest {
    PublishRequest {
        pacticipant: PacticipantName::parse("Foo").unwrap(),
        version: VersionNumber::parse(version).unwrap(),
        branch: branch.map(|b| BranchName::parse(b).unwrap()),
        tags: Vec::new(),
        build_url: None,
        contracts,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_write_among_concurrent_ones_rolls_back_alone() {
    let db = open().await;
    db.store
        .publish_contracts(&publish("9", None, vec![contract("Baz", "/baz")]))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        tasks.push(tokio::spawn(add_to_branch(
            db.store.clone(),
            format!("1.{i}"),
        )));
        if i == WRITERS / 2 {
            // Writes Foo's pact with Bar and puts version 9 on a branch,
            // then fails on its second contract (Baz's content may not
            // change): all of it must roll back, and only it.
            let store = db.store.clone();
            let failing = audit("/contracts/publish");
            let failed = failing.clone();
            let outcome = tokio::spawn(async move {
                failing
                    .scope(store.publish_contracts(&publish(
                        "9",
                        Some("failing"),
                        vec![contract("Bar", "/bar"), contract("Baz", "/changed")],
                    )))
                    .await
            });
            tasks.push(tokio::spawn(async move {
                let refused = outcome.await.unwrap();
                assert!(
                    matches!(refused, Err(StoreError::PactContentConflict { .. })),
                    "{refused:?}"
                );
                (failed, true)
            }));
        }
    }
    let mut committed = 0;
    for task in tasks {
        let (audit, visible) = task.await.unwrap();
        assert!(visible);
        committed += usize::from(audit.committed());
    }
    assert_eq!(committed, WRITERS, "every write but the failing one");
    let store = &db.store;
    assert_eq!(
        store
            .branch_versions("Foo", "feat", None)
            .await
            .unwrap()
            .items
            .len(),
        WRITERS
    );
    assert!(
        store
            .pacts_between("Foo", "Bar", PactFilter::All)
            .await
            .unwrap()
            .is_empty(),
        "the failing write's first contract was kept"
    );
    assert!(
        store
            .branch_version("Foo", "failing", "9")
            .await
            .unwrap()
            .is_none()
    );
    let chain = store.audit_chain(None).await.unwrap();
    assert_eq!(chain.len(), WRITERS);
    verify_chain(&AuditKey::derive("group commit"), &chain, None, None).unwrap();
}

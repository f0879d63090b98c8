//! Webhook deliveries in the store: a freeze written in a policy enqueues
//! its event, and a delivery that failed for good is queued again on request.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use treaty_domain::model::EnvironmentFields;
use treaty_domain::webhooks::{Party, RequestTemplate, WebhookDefinition};
use treaty_domain::{EnvironmentName, PacticipantName, VersionNumber};
use treaty_store::testing::TestDatabase;
use treaty_store::{AttemptOutcome, StoreError, VersionChanges};

const HOOK: &str = "freeze-news";
const FOO_HOOK: &str = "freeze-news-for-foo";

/// A webhook on `consumer`'s side that listens to `environment_frozen`.
fn freeze_webhook(consumer: Party) -> WebhookDefinition {
    WebhookDefinition {
        description: None,
        consumer,
        provider: Party::Any,
        enabled: true,
        request: RequestTemplate {
            method: "POST".into(),
            url: "https://receiver.example/hook".into(),
            headers: BTreeMap::new(),
            body: None,
            username: None,
            password: None,
            secret: None,
        },
        events: vec!["environment_frozen".into()],
    }
}

async fn frozen_production_with_a_listening_webhook() -> TestDatabase {
    let db = TestDatabase::fresh().await.unwrap();
    let store = db.store.as_ref();
    store
        .put_webhook(HOOK, &freeze_webhook(Party::Any))
        .await
        .unwrap();
    // A freeze concerns every application: one for Foo alone hears it too.
    store
        .put_version(
            &PacticipantName::parse("Foo").unwrap(),
            &VersionNumber::parse("1").unwrap(),
            VersionChanges::default(),
        )
        .await
        .unwrap();
    store
        .put_webhook(FOO_HOOK, &freeze_webhook(Party::Name("Foo".into())))
        .await
        .unwrap();
    store
        .create_environment(
            None,
            EnvironmentFields {
                name: EnvironmentName::parse("production").unwrap(),
                display_name: None,
                production: true,
                contacts: None,
            },
        )
        .await
        .unwrap();
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    let policy = json!({"rules": [{"rule": "freeze", "windows": [{
        "start": "2020-01-01T00:00:00Z", "end": treaty_domain::time::format(until), "reason": "INC-1"}]}]});
    store
        .set_environment_policies("production", Some(&policy), Some("ops"))
        .await
        .unwrap();
    db
}

#[tokio::test]
async fn a_policy_write_that_freezes_enqueues_its_event_with_it() {
    let db = frozen_production_with_a_listening_webhook().await;
    let deliveries = db
        .store
        .webhook_deliveries(Some(HOOK), None, None, 10)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    let context = &deliveries[0].context;
    assert_eq!(deliveries[0].event_name, "environment_frozen");
    assert_eq!(context["environment"], "production");
    assert_eq!(context["reason"], "INC-1");
    assert_eq!(context["changedBy"], "ops");
    let for_foo = db
        .store
        .webhook_deliveries(Some(FOO_HOOK), None, None, 10)
        .await
        .unwrap();
    assert_eq!(
        for_foo.len(),
        1,
        "a webhook for one application hears it too"
    );
}

#[tokio::test]
async fn a_failed_delivery_is_queued_again_once_and_only_when_it_failed() {
    let db = frozen_production_with_a_listening_webhook().await;
    let store = db.store.as_ref();
    let lease = Duration::from_secs(60);
    let claimed = store.claim_webhook_delivery(lease).await.unwrap().unwrap();
    let not_yet = store
        .retry_webhook_delivery(HOOK, &claimed.uuid, Some("ops"))
        .await;
    assert!(
        matches!(not_yet, Err(StoreError::Conflict(_))),
        "{not_yet:?}"
    );
    store
        .record_webhook_attempt(
            claimed.id,
            &AttemptOutcome {
                success: false,
                logs: "HTTP 500\n".into(),
                retry_at: None,
            },
        )
        .await
        .unwrap();
    // What is left to claim is the other webhook's delivery, never this one.
    let other = store.claim_webhook_delivery(lease).await.unwrap();
    assert_eq!(other.map(|d| d.webhook_uuid), Some(FOO_HOOK.to_owned()));
    assert!(store.claim_webhook_delivery(lease).await.unwrap().is_none());

    let queued = store
        .retry_webhook_delivery(HOOK, &claimed.uuid, Some("ops"))
        .await
        .unwrap();
    assert_eq!(
        (queued.status.as_str(), queued.attempts_made),
        ("retrying", 1)
    );
    assert!(
        queued.logs.contains("retry asked by ops"),
        "{}",
        queued.logs
    );
    let again = store.claim_webhook_delivery(lease).await.unwrap();
    assert_eq!(again.map(|d| d.uuid), Some(claimed.uuid.clone()));
    let twice = store
        .retry_webhook_delivery(HOOK, &claimed.uuid, None)
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    let unknown = store
        .retry_webhook_delivery("another-hook", &claimed.uuid, None)
        .await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound(_))),
        "{unknown:?}"
    );
}

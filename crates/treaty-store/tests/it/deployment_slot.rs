//! What record-deployment reads before it writes, in one unit
//! (`DeploymentStore::deployment_slot`), against what the store's separate
//! reads and the ledger say of the same slot.

use serde_json::json;
use treaty_domain::ledger::Status;
use treaty_domain::model::EnvironmentFields;
use treaty_domain::{EnvironmentName, PacticipantName, VersionNumber};
use treaty_store::testing::TestDatabase;
use treaty_store::{EventTarget, NewDeployment, Store, VersionChanges};

async fn version(store: &dyn Store, number: &str) {
    store
        .put_version(
            &PacticipantName::parse("Foo").unwrap(),
            &VersionNumber::parse(number).unwrap(),
            VersionChanges::default(),
        )
        .await
        .unwrap();
}

async fn environment(store: &dyn Store, name: &str, production: bool) -> String {
    store
        .create_environment(
            None,
            EnvironmentFields {
                name: EnvironmentName::parse(name).unwrap(),
                display_name: None,
                production,
                contacts: None,
            },
        )
        .await
        .unwrap()
        .uuid
}

async fn deploy(store: &dyn Store, number: &str, environment: &str, instance: Option<&str>) {
    store
        .record_deployment(NewDeployment {
            pacticipant: "Foo".into(),
            version: number.into(),
            environment_uuid: environment.into(),
            application_instance: instance.map(str::to_owned),
            ..NewDeployment::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn the_slot_before_a_deployment_is_what_the_ledger_and_the_records_say() {
    let db = TestDatabase::fresh().await.unwrap();
    let store = db.store.as_ref();
    version(store, "1").await;
    version(store, "2").await;
    let production = environment(store, "production", true).await;
    let test = environment(store, "test", false).await;
    let slot = |number: &'static str, uuid: String, instance: Option<&'static str>| async move {
        store
            .deployment_slot("Foo", number, &uuid, instance)
            .await
            .unwrap()
    };

    // What does not exist says so, each on its own.
    let unknown_version = slot("9", production.clone(), None).await;
    assert!(!unknown_version.version_exists);
    assert_eq!(unknown_version.environment.unwrap().name, "production");
    let unknown_environment = slot("1", "no-such-uuid".into(), None).await;
    assert!(unknown_environment.version_exists);
    assert!(unknown_environment.environment.is_none());
    assert!(
        !store
            .deployment_slot("Nobody", "1", &production, None)
            .await
            .unwrap()
            .version_exists
    );

    // Nothing deployed, no policy stored.
    let empty = slot("1", production.clone(), None).await;
    assert!(empty.environment.as_ref().unwrap().production);
    assert!(!empty.current && empty.open == EventTarget::New && empty.policy.is_none());

    // Current in its slot only: not in another instance, not for another version.
    deploy(store, "1", &production, None).await;
    assert!(slot("1", production.clone(), None).await.current);
    assert!(!slot("1", production.clone(), Some("eu")).await.current);
    assert!(!slot("2", production.clone(), None).await.current);
    assert!(!slot("1", test.clone(), None).await.current);
    deploy(store, "2", &production, None).await;
    assert!(!slot("1", production.clone(), None).await.current);
    assert!(slot("2", production.clone(), None).await.current);

    // An open deployment of the version is found as a deployment event finds it.
    let started = treaty_domain::ledger::parse_event(&json!({
        "product_name": "Foo", "version": "1", "environment_name": "test",
        "application_instance": "eu", "status": "started"
    }))
    .unwrap();
    store.record_deployment_event(&started, None).await.unwrap();
    let open = slot("1", test.clone(), Some("eu")).await;
    let as_event = store.deployment_event_target(&started).await.unwrap();
    assert!(matches!(
        open.open,
        EventTarget::Open {
            status: Status::Started,
            ..
        }
    ));
    assert_eq!(open.open, as_event);
    assert_eq!(slot("1", test.clone(), None).await.open, EventTarget::New);

    // The stored policy, as the gate store reads it.
    let rules =
        json!({"rules": [{"rule": "freeze", "reason": "audit", "until": "2099-01-01T00:00:00Z"}]});
    store
        .set_environment_policies("test", Some(&rules), None)
        .await
        .unwrap();
    assert_eq!(
        slot("1", test.clone(), None).await.policy,
        store.environment_policies("test").await.unwrap()
    );
    assert!(slot("1", test, None).await.policy.is_some());
}

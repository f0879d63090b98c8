//! The facts integration status is decided from: the latest verification of
//! each provider branch, and whether its pact was pending or WIP.

use treaty_domain::integration_status::{Colour, status};
use treaty_domain::model::NewVerification;
use treaty_domain::{BranchName, PacticipantName, VersionNumber};
use treaty_store::Store;

use super::{latest_sha, open, request};

async fn on_branch(store: &dyn Store, version: &str, branch: &str) {
    store
        .add_branch_version(
            &PacticipantName::parse("Bar").unwrap(),
            &BranchName::parse(branch).unwrap(),
            &VersionNumber::parse(version).unwrap(),
        )
        .await
        .unwrap();
}

async fn verify(store: &dyn Store, sha: &str, version: &str, success: bool, wip: bool) -> i64 {
    store
        .publish_verification_of(
            "Foo",
            "Bar",
            sha,
            NewVerification {
                provider_version: VersionNumber::parse(version).unwrap(),
                success,
                build_url: None,
                test_results: None,
                verified_by: None,
            },
            wip,
        )
        .await
        .unwrap()
        .unwrap()
        .number
}

#[tokio::test]
async fn a_failing_pending_pact_on_a_feature_branch_leaves_main_green() {
    let db = open().await;
    let store = db.store.as_ref();
    store.publish_contracts(&request("1", "/a")).await.unwrap();
    let old = latest_sha(store).await;
    on_branch(store, "m1", "main").await;
    let main_success = verify(store, &old, "m1", true, false).await;
    // A new pact that only a feature branch of the provider has tried, and failed.
    store.publish_contracts(&request("2", "/b")).await.unwrap();
    let new = latest_sha(store).await;
    on_branch(store, "f1", "feat").await;
    let feature_failure = verify(store, &new, "f1", false, false).await;
    // A WIP failure from a version on no branch.
    let wip_failure = verify(store, &new, "x1", false, true).await;

    let facts = store
        .integration_verification_facts(Some("Foo"), None)
        .await
        .unwrap();
    let numbers: Vec<(Option<&str>, i64)> = facts
        .iter()
        .map(|f| (f.facts.branch.as_deref(), f.facts.number))
        .collect();
    assert_eq!(
        numbers,
        [
            (None, wip_failure),
            (Some("feat"), feature_failure),
            (Some("main"), main_success)
        ],
        "the latest per branch, newest first"
    );
    assert!(
        facts
            .iter()
            .all(|f| f.consumer == "Foo" && f.provider == "Bar")
    );
    let feature = &facts[1].facts;
    assert!(!feature.success && feature.was_pending());
    assert!(facts[0].facts.wip);
    assert!(
        facts[2].facts.was_pending() && facts[2].facts.success,
        "the first success of a content was pending"
    );

    let plain: Vec<_> = facts.into_iter().map(|f| f.facts).collect();
    let decided = status(Some("main"), &plain);
    // The main line is main and the branchless WIP failure, newest decides:
    // a WIP failure is not red.
    assert_eq!(decided.colour, Colour::Pending);
    let without_wip: Vec<_> = plain.into_iter().filter(|f| !f.wip).collect();
    assert_eq!(status(Some("main"), &without_wip).colour, Colour::Verified);

    // By number: the same facts; a failure after a success on the same
    // branch was not pending.
    let regression = verify(store, &old, "m2", false, false).await;
    on_branch(store, "m2", "main").await;
    let by_number = store
        .verification_facts(&[regression, feature_failure, 999_999])
        .await
        .unwrap();
    assert_eq!(by_number.len(), 2, "unknown numbers are left out");
    let regression = by_number
        .iter()
        .find(|f| f.facts.number == regression)
        .unwrap();
    assert!(!regression.facts.was_pending());
    assert_eq!(
        store
            .integration_verification_facts(None, Some("Nobody"))
            .await
            .unwrap(),
        []
    );
}

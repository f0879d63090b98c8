//! The newest verification of a consumer version's pacts: read as the newer
//! of the newest success and the newest failure, and reached from the
//! version by its number, however many versions published the same pact.

use super::{latest_sha, open, request, verify};

#[tokio::test]
async fn a_consumer_versions_latest_verification_is_the_newest_whatever_its_outcome() {
    let db = open().await;
    let store = db.store.as_ref();
    // Three versions publish one pact: one content, one history of results.
    for version in ["1", "2", "3"] {
        store
            .publish_contracts(&request(version, "/same"))
            .await
            .unwrap();
    }
    let sha = latest_sha(store).await;
    let latest = |version: &'static str| async move {
        let found = store
            .latest_verifications_for_consumer_version("Foo", version)
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        (found[0].provider_version.clone(), found[0].success)
    };

    // A failure after successes, a success after failures, and so on: the
    // newest counts whichever outcome came before it.
    let outcomes = [
        ("p1", true),
        ("p2", true),
        ("p3", false),
        ("p4", false),
        ("p5", true),
        ("p6", false),
    ];
    for (provider_version, success) in outcomes {
        verify(store, &sha, provider_version, success).await;
        for version in ["1", "2", "3"] {
            assert_eq!(
                latest(version).await,
                (provider_version.to_owned(), success),
                "consumer version {version} after {provider_version}"
            );
        }
    }

    let unknown = store
        .latest_verifications_for_consumer_version("Foo", "4")
        .await
        .unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
}

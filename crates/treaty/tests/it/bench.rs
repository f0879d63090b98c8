//! `treaty bench`: the S data set seeds through the write path, and the
//! benchmark times every operation against it without an error. Figures are
//! printed by `scripts/bench`, never asserted: these tests check the tool works.

use serde_json::Value;
use treaty_store::testing::TestDatabase;

use crate::support::treaty;

#[tokio::test]
async fn the_s_data_set_seeds_and_every_operation_is_timed() {
    let database = TestDatabase::fresh().await.unwrap();
    let seeded = treaty(&[
        "bench",
        "seed",
        "--size",
        "s",
        "--database-url",
        &database.url,
        "-o",
        "json",
    ])
    .await;
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let seeded: Value = serde_json::from_slice(&seeded.stdout).unwrap();
    assert_eq!(seeded["size"], "S");
    assert_eq!(seeded["seeded"]["builds"], 400);
    assert!(
        seeded["seeded"]["verifications"].as_u64().unwrap() > 500,
        "{seeded}"
    );
    assert!(
        seeded["seeded"]["deployments"].as_u64().unwrap() > 50,
        "{seeded}"
    );

    let run = treaty(&[
        "bench",
        "run",
        "--database-url",
        &database.url,
        "--iterations",
        "10",
        "--load-seconds",
        "0.3",
        "--concurrency",
        "1,4",
        "-o",
        "json",
    ])
    .await;
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    let latencies = report["latencies"].as_array().unwrap();
    assert_eq!(latencies.len(), 17, "{report:#}");
    for latency in latencies {
        assert!(latency["samples"].as_u64().unwrap() >= 3, "{latency}");
        assert!(latency["p50_ms"].as_f64().unwrap() > 0.0, "{latency}");
    }
    // The floors say what HTTP alone costs (an empty answer from the same
    // client) and how far above the floor Treaty is beyond it.
    assert_eq!(
        latencies[0]["operation"],
        "an empty answer (the heartbeat: HTTP alone)"
    );
    let floors = report["floors"].as_array().unwrap();
    assert_eq!(floors.len(), 4);
    for floor in floors {
        assert_eq!(floor["http_p50_ms"], latencies[0]["p50_ms"], "{floor}");
        let beyond = floor["beyond_http_ratio"].as_f64().unwrap();
        assert!(
            (0.0..floor["ratio"].as_f64().unwrap()).contains(&beyond),
            "{floor}"
        );
    }
    let throughput = report["throughput"].as_array().unwrap();
    assert_eq!(throughput.len(), 4);
    for run in throughput {
        assert_eq!(run["errors"], 0, "{run}");
        assert!(run["requests"].as_u64().unwrap() > 0, "{run}");
    }
    // The small writes, from 1 and 4 writers: record a deployment and add a
    // version to a branch, every one acknowledged.
    let writes = report["writes"].as_array().unwrap();
    assert_eq!(writes.len(), 4, "{report:#}");
    for run in writes {
        assert_eq!(run["errors"], 0, "{run}");
        assert!(run["requests"].as_u64().unwrap() > 0, "{run}");
        assert!(run["p95_ms"].as_f64().unwrap() > 0.0, "{run}");
    }
    assert_eq!(
        writes
            .iter()
            .map(|w| (
                w["operation"].as_str().unwrap(),
                w["writers"].as_u64().unwrap()
            ))
            .collect::<Vec<_>>(),
        [
            ("record a deployment", 1),
            ("add a version to a branch", 1),
            ("record a deployment", 4),
            ("add a version to a branch", 4)
        ]
    );
    assert!(
        report["data"]["versions"].as_i64().unwrap() > 300,
        "{report:#}"
    );
    assert!(
        report["memory"]["peak_mib"].as_f64().unwrap() > 1.0,
        "{report:#}"
    );
    // The sweep times GET routes of the OpenAPI description on URLs the
    // answers' links led to, and lists the ones it could not reach.
    let timed = report["sweep"]["timed"].as_array().unwrap();
    let routes: Vec<&str> = timed.iter().map(|s| s["route"].as_str().unwrap()).collect();
    for route in [
        "/",
        "/can-i-deploy",
        "/pacticipants/{pacticipant}",
        "/pacts/provider/{provider}/consumer/{consumer}/pact-version/{sha}",
        "/deployments/{id}",
    ] {
        assert!(routes.contains(&route), "{route} not swept: {routes:?}");
    }
    assert!(timed.len() > 80, "{routes:?}");
    for swept in timed {
        assert!(swept["p50_ms"].as_f64().unwrap() > 0.0, "{swept}");
        assert!(swept["url"].as_str().unwrap().starts_with('/'), "{swept}");
    }
    assert!(report["sweep"]["not_reached"].is_array(), "{report:#}");
}

#[tokio::test]
async fn seeding_a_database_that_has_data_is_refused() {
    let database = TestDatabase::fresh().await.unwrap();
    let first = treaty(&[
        "bench",
        "seed",
        "--size",
        "s",
        "--database-url",
        &database.url,
    ])
    .await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = treaty(&[
        "bench",
        "seed",
        "--size",
        "s",
        "--database-url",
        &database.url,
    ])
    .await;
    assert_eq!(second.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("seed an empty database"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
}

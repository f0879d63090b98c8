//! The client fails fast when nothing is there, and says so when it waits:
//! a refused connection is an answer, not a reason to retry for two minutes;
//! a 503 is retried, and each retry is announced on stderr with its wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use crate::support::{text, treaty};

/// Far longer than a refused connection takes to report, far shorter than
/// the two minutes eight retries of it took: the bound, not a speed test.
const FAIL_FAST: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_fails_at_once_saying_nothing_is_listening() {
    // A port that was just free on loopback: nothing listens there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let base = format!("http://127.0.0.1:{port}");

    let out = tokio::time::timeout(FAIL_FAST, treaty(&["list-environments", "-b", &base]))
        .await
        .expect("a refused connection is reported at once, not retried for minutes");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("nothing is listening at {base}")),
        "{}",
        text(&out)
    );
    assert!(stderr.contains("is the URL right?"), "{}", text(&out));
    assert!(!stderr.contains("retrying"), "{}", text(&out));
}

/// A broker that answers 503 to its first `failures` requests, then serves
/// an index and an empty list of environments.
async fn flaky_broker(failures: usize) -> (String, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let index_base = base.clone();
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(move || {
                let counter = counter.clone();
                let base = index_base.clone();
                async move {
                    if counter.fetch_add(1, Ordering::SeqCst) < failures {
                        return StatusCode::SERVICE_UNAVAILABLE.into_response();
                    }
                    let href = format!("{}/environments", base.get().unwrap());
                    axum::Json(json!({"_links": {"pb:environments": {"href": href}}}))
                        .into_response()
                }
            }),
        )
        .route(
            "/environments",
            axum::routing::get(|| async {
                axum::Json(json!({"_embedded": {"environments": [
                    {"uuid": "u-1", "name": "production", "production": true}
                ]}}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    base.set(url.clone()).unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_is_retried_and_each_retry_is_announced_with_its_wait() {
    let (base, seen) = flaky_broker(2).await;
    let out = treaty(&["list-environments", "-b", &base]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("production"),
        "{}",
        text(&out)
    );
    assert_eq!(seen.load(Ordering::SeqCst), 3, "two 503s, then the answer");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let retries: Vec<&str> = stderr.lines().filter(|l| l.contains("retrying")).collect();
    assert_eq!(
        retries,
        [
            format!(
                "GET {base}/ answered 503 Service Unavailable; retrying in 0.5s (attempt 2 of 9)"
            ),
            format!(
                "GET {base}/ answered 503 Service Unavailable; retrying in 1s (attempt 3 of 9)"
            ),
        ],
        "{}",
        text(&out)
    );

    // With no retries left, the 503 is the answer.
    let (base, _) = flaky_broker(1).await;
    let out = treaty(&["list-environments", "-b", &base, "--retries", "0"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("retrying"),
        "{}",
        text(&out)
    );
}

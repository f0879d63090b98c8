//! Nothing hangs: slow clients, many clients and heavy requests against a
//! `treaty serve` process on loopback. Each run checks that a normal request
//! is still answered within a second, and that what the slow clients hold is
//! let go after its timeout (configured short here, so the runs are quick).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use treaty_store::testing::TestDatabase;

use crate::replicas::{Replica, start_replica_with};

/// The bound every run checks for a normal request.
const ANSWERED_WITHIN: Duration = Duration::from_secs(1);

/// Slack for the server to act on a timeout (its timers, a loaded CI machine).
const SLACK: Duration = Duration::from_secs(3);

const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
/// Another client on loopback: the whole of 127/8 is this machine.
const BYSTANDER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// `treaty serve` with `flags` on a fresh database.
async fn serve(flags: &[&str]) -> (Replica, TestDatabase) {
    let database = TestDatabase::fresh().await.expect("a fresh database");
    let replica = start_replica_with(&database.url, flags).await;
    (replica, database)
}

fn socket_address(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .parse()
        .expect("a socket address")
}

async fn connect_from(source: IpAddr, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::new(source, 0)).expect("bind");
    socket.connect(server).await.expect("connect")
}

/// `count` connections from `source` that send half a request's headers and then nothing.
async fn half_header_connections(
    source: IpAddr,
    server: SocketAddr,
    count: usize,
) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = connect_from(source, server).await;
        stream
            .write_all(b"GET /diagnostic/status/heartbeat HTTP/1.1\r\nHost: treaty\r\nX-Slow: ")
            .await
            .expect("half the headers");
        held.push(stream);
    }
    held
}

/// A normal request from `source`: its status and body. Panics unless it is
/// answered within a second.
async fn normal_request(url: &str, source: IpAddr) -> (u16, String) {
    let client = reqwest::Client::builder()
        .local_address(source)
        .timeout(ANSWERED_WITHIN)
        .build()
        .expect("client");
    let started = Instant::now();
    let response = client
        .get(format!("{url}/diagnostic/status/heartbeat"))
        .header("Accept", "application/hal+json")
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "a normal request was not answered within a second ({:?}): {e:?}",
                started.elapsed()
            )
        });
    let status = response.status().as_u16();
    let body = response.text().await.expect("the answer's body");
    (status, body)
}

/// Reads until the server closes the connection or `within` passes: what
/// was received, and whether the server closed it.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut received = Vec::new();
    let closed = tokio::time::timeout(within, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .is_ok();
    (String::from_utf8_lossy(&received).into_owned(), closed)
}

/// Waits for every connection to be closed by the server, by `deadline`;
/// returns how many were not.
async fn still_open_at(held: &mut [TcpStream], deadline: Instant) -> usize {
    let mut open = 0;
    for stream in held {
        let left = deadline.saturating_duration_since(Instant::now());
        if !read_until_closed(stream, left).await.1 {
            open += 1;
        }
    }
    open
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_every_connection_and_half_headers_are_dropped_after_the_timeout() {
    let (server, _database) = serve(&[
        "--max-connections",
        "100",
        "--max-connections-per-address",
        "20",
        "--header-read-timeout",
        "2",
    ])
    .await;
    let address = socket_address(&server.url);
    let opened = Instant::now();
    let mut held = half_header_connections(ATTACKER, address, 60).await;

    // Another client is served as usual.
    let (status, _) = normal_request(&server.url, BYSTANDER).await;
    assert_eq!(status, 200);
    // The attacker's address, over its limit, is answered at once, not queued.
    let refused = reqwest::Client::builder()
        .local_address(ATTACKER)
        .timeout(ANSWERED_WITHIN)
        .build()
        .unwrap()
        .get(format!("{}/diagnostic/status/heartbeat", server.url))
        .send()
        .await
        .expect("answered at once");
    assert_eq!(refused.headers()["retry-after"], "1");
    let (status, body) = normal_request(&server.url, ATTACKER).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains("--max-connections-per-address"),
        "the refusal names the flag: {body}"
    );

    let open = still_open_at(&mut held, opened + Duration::from_secs(2) + SLACK).await;
    assert_eq!(
        open, 0,
        "connections that never finished their headers are closed after --header-read-timeout"
    );
    let (status, _) = normal_request(&server.url, ATTACKER).await;
    assert_eq!(status, 200, "the address's connections were let go");
}

/// The issue's reproduction, scaled down: more half-header connections than
/// the process may open descriptors (1,100 against systemd's 1,024 there;
/// 400 against 300 here), and every other client waited until the attacker
/// let go. Now the connections are capped to fit the descriptors, a client
/// over the cap is answered at once, and the half headers are dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_half_header_connections_than_descriptors_do_not_stop_other_clients() {
    let database = TestDatabase::fresh().await.expect("a fresh database");
    let (_child, url, log) = serve_with_ulimit("-n 300", &database.url).await;
    assert!(
        log.iter()
            .any(|line| line.contains("serving at most 100 connections, not 1000")),
        "the cap is lowered to fit the descriptors: {log:?}"
    );
    let address = socket_address(&url);

    let opened = Instant::now();
    let mut held = Vec::new();
    for source in 1..=4 {
        // Four attackers, so that the limit per address is not what stops them.
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 1, source));
        held.extend(half_header_connections(source, address, 100).await);
    }
    let (status, body) = normal_request(&url, BYSTANDER).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("--max-connections"),
        "the refusal names the flag: {body}"
    );

    let open = still_open_at(&mut held, opened + Duration::from_secs(2) + SLACK).await;
    assert_eq!(
        open, 0,
        "half headers are dropped after --header-read-timeout"
    );
    let (status, _) = normal_request(&url, BYSTANDER).await;
    assert_eq!(status, 200);
}

/// `treaty serve` started by a shell that first runs `ulimit LIMIT`: the
/// child, where it listens, and what it logged until then.
async fn serve_with_ulimit(
    limit: &str,
    database_url: &str,
) -> (tokio::process::Child, String, Vec<String>) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!(r#"ulimit {limit} && exec "$0" "$@""#))
        .arg(env!("CARGO_BIN_EXE_treaty"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            database_url,
            "--header-read-timeout",
            "2",
        ])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start treaty serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut log = Vec::new();
    loop {
        let line = lines
            .next_line()
            .await
            .expect("read log")
            .expect("treaty serve exited before listening");
        if let Some(rest) = line.split("listening on ").nth(1) {
            let url = rest.split_whitespace().next().unwrap().to_owned();
            // Keep draining the log so the process never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return (child, url, log);
        }
        log.push(line);
    }
}

/// systemd gives services a soft limit of 1,024 descriptors and a far
/// higher hard one; Treaty raises the first to the second.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn serve_raises_its_soft_descriptor_limit_to_the_hard_one() {
    let database = TestDatabase::fresh().await.expect("a fresh database");
    let (child, _url, _log) = serve_with_ulimit("-S -n 300", &database.url).await;
    let pid = child.id().expect("running");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("its limits");
    let open_files: Vec<&str> = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("a line for open files")
        .split_whitespace()
        .skip(3)
        .take(2)
        .collect();
    assert_eq!(open_files[0], open_files[1], "soft = hard: {limits}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_trickles_is_answered_408_and_its_connection_closed() {
    let (server, _database) = serve(&["--body-read-timeout", "1"]).await;
    let address = socket_address(&server.url);
    let mut trickling = Vec::new();
    let started = Instant::now();
    for _ in 0..2 {
        let stream = connect_from(ATTACKER, address).await;
        let (mut reader, mut writer) = stream.into_split();
        writer
            .write_all(b"POST /pacticipants HTTP/1.1\r\nHost: treaty\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
            .await
            .expect("headers");
        // One byte every 300 ms, for as long as the server takes it.
        let trickle = tokio::spawn(async move {
            while writer.write_all(b" ").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });
        let reply = tokio::spawn(async move {
            let mut received = Vec::new();
            let closed = tokio::time::timeout(Duration::from_secs(1) + SLACK, async {
                let mut buffer = [0u8; 4096];
                loop {
                    match reader.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => received.extend_from_slice(&buffer[..n]),
                    }
                }
            })
            .await
            .is_ok();
            (String::from_utf8_lossy(&received).into_owned(), closed)
        });
        trickling.push((trickle, reply));
    }
    let (status, _) = normal_request(&server.url, BYSTANDER).await;
    assert_eq!(status, 200);
    for (trickle, reply) in trickling {
        let (received, closed) = reply.await.expect("reader");
        assert!(
            received.starts_with("HTTP/1.1 408"),
            "a body that does not arrive in time is answered 408: {received:?} after {:?}",
            started.elapsed()
        );
        assert!(
            received.contains("--body-read-timeout"),
            "the answer names the flag: {received}"
        );
        assert!(closed, "and its connection is closed");
        trickle.abort();
    }
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    let (server, _database) = serve(&["--header-read-timeout", "1"]).await;
    let mut stream = connect_from(ATTACKER, socket_address(&server.url)).await;
    stream
        .write_all(b"GET /diagnostic/status/heartbeat HTTP/1.1\r\nHost: treaty\r\n\r\n")
        .await
        .expect("a request");
    let (received, closed) = read_until_closed(&mut stream, Duration::from_secs(1) + SLACK).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    assert!(
        closed,
        "a kept-alive connection with no next request is closed after --header-read-timeout"
    );
}

/// Holds the database's write lock, as a long write of another replica
/// would, until dropped.
enum WriteLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl WriteLock {
    async fn take(database_url: &str) -> Self {
        use sqlx::Connection;
        if database_url.starts_with("postgres") {
            let mut connection = sqlx::PgConnection::connect(database_url)
                .await
                .expect("connect");
            sqlx::query("BEGIN").execute(&mut connection).await.unwrap();
            // Treaty's write lock ("Treaty" in ASCII), as every write transaction takes it.
            sqlx::query("SELECT pg_advisory_xact_lock(92850303890553)")
                .execute(&mut connection)
                .await
                .unwrap();
            Self::Postgres(connection)
        } else {
            let mut connection = sqlx::SqliteConnection::connect(database_url)
                .await
                .expect("connect");
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut connection)
                .await
                .unwrap();
            Self::Sqlite(connection)
        }
    }

    async fn release(self) {
        match self {
            Self::Sqlite(mut connection) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut connection)
                    .await
                    .unwrap();
            }
            Self::Postgres(mut connection) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut connection)
                    .await
                    .unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_longer_than_the_request_timeout_is_answered_503() {
    let (server, database) = serve(&["--request-timeout", "1"]).await;
    let lock = WriteLock::take(&database.url).await;
    let started = Instant::now();
    let response = reqwest::Client::new()
        .post(format!("{}/pacticipants", server.url))
        .header("Content-Type", "application/json")
        .header("Accept", "application/problem+json")
        .body(json!({"name": "Waiting"}).to_string())
        .timeout(Duration::from_secs(1) + SLACK)
        .send()
        .await
        .expect("answered once the request timeout passed");
    let waited = started.elapsed();
    let status = response.status().as_u16();
    let problem: Value = response.json().await.expect("a problem document");
    assert_eq!(status, 503, "{problem}");
    assert!(
        problem["detail"].as_str().is_some_and(
            |d| d.contains("longer than the limit of 1s") && d.contains("--request-timeout")
        ),
        "{problem}"
    );
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    let (status, _) = normal_request(&server.url, BYSTANDER).await;
    assert_eq!(status, 200, "a request that does not write is still served");
    lock.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_finishes_the_requests_in_flight() {
    let (mut server, database) = serve(&["--request-timeout", "20"]).await;
    let lock = WriteLock::take(&database.url).await;
    let url = server.url.clone();
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{url}/pacticipants"))
            .header("Content-Type", "application/json")
            .body(json!({"name": "InFlight"}).to_string())
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    // The request has reached the server once it waits for the lock: wait
    // until the server has accepted it (a second request would queue behind).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = server.child.id().expect("running");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap(),
        rustix::process::Signal::TERM,
    )
    .expect("SIGTERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.release().await;
    let status = in_flight
        .await
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(status, 201);
    let exit = tokio::time::timeout(SLACK, server.child.wait())
        .await
        .expect("treaty serve stops once the request is answered")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// A pact of `count` interactions whose every value differs between
/// `version`s: about the worst case of a line diff.
fn big_pact(version: u32, count: usize) -> Value {
    let interactions: Vec<Value> = (0..count)
        .map(|i| {
            json!({
                "description": format!("version {version} asks for thing {i}"),
                "providerState": format!("thing {i} exists in version {version}"),
                "request": {"method": "GET", "path": format!("/v{version}/things/{i}")},
                "response": {"status": 200, "body": {"id": format!("{version}-{i}"), "name": format!("thing {i} of {version}")}}
            })
        })
        .collect();
    json!({
        "consumer": {"name": "Foo"},
        "provider": {"name": "Bar"},
        "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    })
}

async fn publish(client: &reqwest::Client, url: &str, version: u32, pact: &Value) {
    let response = client
        .put(format!(
            "{url}/pacts/provider/Bar/consumer/Foo/version/{version}"
        ))
        .header("Content-Type", "application/json")
        .body(pact.to_string())
        .send()
        .await
        .expect("publish");
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap_or_default()
    );
}

async fn page(client: &reqwest::Client, url: &str, query: &str) -> (u16, String) {
    let response = client
        .get(format!("{url}/ui/contracts/Bar/Foo?{query}"))
        .header("Accept", "text/html")
        .send()
        .await
        .expect("the diff page is answered");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_contract_diffs_are_bounded_and_leave_the_server_to_others() {
    let (server, _database) = serve(&["--request-timeout", "6"]).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(6) + SLACK)
        .build()
        .unwrap();
    // Just under the page's size limit (15 lines an interaction), and
    // different on half the lines: seconds of line diff.
    publish(&client, &server.url, 1, &big_pact(1, 1_300)).await;
    publish(&client, &server.url, 2, &big_pact(2, 1_300)).await;
    // Beyond it.
    publish(&client, &server.url, 3, &big_pact(3, 2_000)).await;

    let (status, html) = page(&client, &server.url, "version=3&compare=1").await;
    assert_eq!(status, 200);
    assert!(html.contains("too large to compare here"), "{html:.2000}");
    for version in [1, 3] {
        let link = format!(
            "href=\"{}/pacts/provider/Bar/consumer/Foo/version/{version}\"",
            server.url
        );
        assert!(html.contains(&link), "a link to download {version}");
    }

    // As many comparisons at once as the server has threads, and one more:
    // each is bounded in time, and none holds a thread the others need.
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let comparisons: Vec<_> = (0..=threads)
        .map(|_| {
            let client = client.clone();
            let url = server.url.clone();
            tokio::spawn(async move { page(&client, &url, "version=2&compare=1").await })
        })
        .collect();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (status, _) = normal_request(&server.url, BYSTANDER).await;
        assert_eq!(status, 200);
    }
    for comparison in comparisons {
        let (status, html) = comparison.await.unwrap();
        match status {
            200 => assert!(
                html.contains("too large to compare here") || html.contains("lines added"),
                "{html:.2000}"
            ),
            503 => assert!(html.contains("--request-timeout"), "{html}"),
            other => panic!("{other}: {html:.2000}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacts_for_verification_takes_a_bounded_number_of_selectors() {
    let (server, _database) = serve(&[]).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    publish(&client, &server.url, 1, &big_pact(1, 1)).await;
    let ask = |count: usize| {
        let selectors: Vec<Value> = (0..count)
            .map(|i| json!({"branch": format!("feature-{i}")}))
            .collect();
        let client = client.clone();
        let url = server.url.clone();
        async move {
            let response = client
                .post(format!("{url}/pacts/provider/Bar/for-verification"))
                .header("Content-Type", "application/json")
                .body(json!({"consumerVersionSelectors": selectors}).to_string())
                .send()
                .await
                .expect("answered");
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
    };
    let (status, body) = ask(40_000).await;
    assert_eq!(status, 400, "{body:.500}");
    assert!(
        body.contains("at most 1000"),
        "the refusal names the limit: {body:.500}"
    );

    // At the limit, while others are served.
    let at_limit = tokio::spawn(ask(1_000));
    let (status, _) = normal_request(&server.url, BYSTANDER).await;
    assert_eq!(status, 200);
    let (status, body) = at_limit.await.unwrap();
    assert_eq!(status, 200, "{body:.500}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_two_big_pacts_is_answered_within_the_request_timeout() {
    let (server, _database) = serve(&["--request-timeout", "10"]).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10) + SLACK)
        .build()
        .unwrap();
    publish(&client, &server.url, 1, &big_pact(1, 5_000)).await;
    let response = client
        .patch(format!(
            "{}/pacts/provider/Bar/consumer/Foo/version/1",
            server.url
        ))
        .header("Content-Type", "application/json")
        .body(big_pact(2, 5_000).to_string())
        .send()
        .await
        .expect("the merge is answered within the request timeout");
    assert_eq!(response.status().as_u16(), 200);
    let merged: Value = response.json().await.unwrap();
    assert_eq!(
        merged["interactions"].as_array().map(Vec::len),
        Some(10_000)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_still_knows_each_clients_address() {
    let (server, _database) = serve(&[]).await;
    let client = reqwest::Client::builder()
        .local_address(BYSTANDER)
        .build()
        .unwrap();
    let created = client
        .post(format!("{}/pacticipants", server.url))
        .header("Content-Type", "application/json")
        .body(json!({"name": "Addressed"}).to_string())
        .send()
        .await
        .expect("a write");
    assert_eq!(created.status().as_u16(), 201);
    // The audit entry may be appended just after the answer.
    let deadline = Instant::now() + SLACK;
    loop {
        let audit: Value = client
            .get(format!("{}/audit", server.url))
            .send()
            .await
            .expect("the audit log")
            .json()
            .await
            .expect("JSON");
        let addresses: Vec<&str> = audit["_embedded"]["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| entry["address"].as_str())
            .collect();
        if !addresses.is_empty() {
            assert_eq!(addresses, ["127.0.0.2"], "{audit}");
            break;
        }
        assert!(Instant::now() < deadline, "no audit entry: {audit}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

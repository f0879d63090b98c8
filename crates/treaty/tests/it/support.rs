//! A Treaty server on a random loopback port, and the official `pact` binary.

use std::path::PathBuf;
use std::process::Output;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use treaty_server::ServerConfig;

/// A Treaty serving a fresh SQLite file on 127.0.0.1, bound before it is
/// spawned so it is ready at once; stopped when dropped.
pub struct TestServer {
    pub url: String,
    /// The database behind it, for tests that reach past the API.
    pub database_url: String,
    _shutdown: oneshot::Sender<()>,
    _database: treaty_store::testing::TestDatabase,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(ServerConfig::default()).await
    }

    pub async fn start_with(config: ServerConfig) -> Self {
        let database = treaty_store::testing::TestDatabase::fresh()
            .await
            .expect("a fresh test database");
        Self::start_on(database, config).await
    }

    /// A Treaty over a database made before (one a command wrote, say).
    pub async fn start_on(
        database: treaty_store::testing::TestDatabase,
        config: ServerConfig,
    ) -> Self {
        let store = database.store.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let background = treaty_server::background::spawn(
            store.clone(),
            &config,
            &format!("http://127.0.0.1:{port}"),
        );
        let limits = config.connections.clone();
        let app = treaty_server::router(store, config);
        tokio::spawn(async move {
            let _ = treaty_server::serve(listener, app, limits, async {
                let _ = stopped.await;
            })
            .await;
            for task in background {
                task.abort();
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}"),
            database_url: database.url.clone(),
            _shutdown: shutdown,
            _database: database,
        }
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .header("Accept", "application/hal+json")
            .send()
            .await
            .expect("request to Treaty");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }
}

/// The official `pact` binary: `$PACT_BIN`, or `pact` on PATH. Its absence is
/// an install problem (run the test command in the README), not a reason to skip.
pub fn pact_binary() -> PathBuf {
    if let Ok(explicit) = std::env::var("PACT_BIN") {
        return PathBuf::from(explicit);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("pact"))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("the official `pact` binary is not on PATH: run the test suite with scripts/test, which installs pact-python-cli")
    })
}

/// Runs `pact ARGS`, with usage tracking off and no retries of failed requests.
pub async fn pact(args: &[&str]) -> Output {
    run(pact_binary(), args).await
}

/// Runs the `treaty` binary built for these tests.
pub async fn treaty(args: &[&str]) -> Output {
    run(PathBuf::from(env!("CARGO_BIN_EXE_treaty")), args).await
}

/// Runs the `treaty` binary with extra environment variables (a CI system's, say).
pub async fn treaty_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    run_with_env(PathBuf::from(env!("CARGO_BIN_EXE_treaty")), args, env).await
}

async fn run(program: PathBuf, args: &[&str]) -> Output {
    run_with_env(program, args, &[]).await
}

async fn run_with_env(program: PathBuf, args: &[&str], env: &[(&str, &str)]) -> Output {
    tokio::process::Command::new(&program)
        .args(args)
        // The CI system running these tests must not leak into the commands.
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITLAB_CI")
        .env("PACT_DO_NOT_TRACK", "true")
        .env("NO_COLOR", "1")
        .env_remove("PACT_BROKER_BASE_URL")
        .env_remove("PACT_BROKER_TOKEN")
        .env_remove("PACT_BROKER_USERNAME")
        .env_remove("PACT_BROKER_PASSWORD")
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

pub fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Writes a pact file for `consumer` → `provider` into `dir`.
pub fn write_pact(
    dir: &std::path::Path,
    consumer: &str,
    provider: &str,
    interactions: serde_json::Value,
) -> PathBuf {
    let pact = serde_json::json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": interactions,
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    });
    let path = dir.join(format!("{consumer}-{provider}.json"));
    std::fs::write(&path, pact.to_string()).expect("write pact");
    path
}

/// What a webhook receiver got: (the `X-Treaty-Delivery` id, the body).
pub type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A webhook receiver on 127.0.0.1 that records what it is sent and answers 200.
pub async fn receiver() -> (String, Received) {
    let received: Received = Received::default();
    let seen = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let delivery = headers
                    .get("x-treaty-delivery")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                seen.lock().unwrap().push((delivery, body));
                "ok"
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "http://127.0.0.1:{}/hook",
        listener.local_addr().expect("address").port()
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, received)
}

/// The bodies a receiver got, in order.
pub fn bodies(received: &Received) -> Vec<String> {
    received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| b.clone())
        .collect()
}

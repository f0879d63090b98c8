//! A Treaty app on a fresh SQLite file, driven in process with `oneshot`.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use treaty_server::ServerConfig;
use treaty_store::testing::TestDatabase;

pub const BASE: &str = "http://broker.test";

pub struct TestApp {
    pub router: Router,
    _database: TestDatabase,
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub location: Option<String>,
    pub body: Value,
    pub text: String,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(ServerConfig::default()).await
    }

    pub async fn with_config(mut config: ServerConfig) -> Self {
        let database = TestDatabase::fresh().await.expect("a fresh test database");
        config.base_url = Some(BASE.to_owned());
        let router = treaty_server::router(database.store.clone(), config);
        Self {
            router,
            _database: database,
        }
    }

    /// The store behind the app, for what no request does (background work).
    pub fn store(&self) -> std::sync::Arc<dyn treaty_store::Store> {
        self._database.store.clone()
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            content_type,
            location,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(
            Request::get(path)
                .header(header::ACCEPT, "application/hal+json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn send_json(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &Value,
    ) -> Reply {
        self.send(
            Request::builder()
                .method(method)
                .uri(path)
                .header(header::ACCEPT, "application/hal+json")
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send_json("POST", path, "application/json", body).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send_json("PUT", path, "application/json", body).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send_json("PATCH", path, "application/json", body)
            .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Request::delete(path).body(Body::empty()).unwrap())
            .await
    }

    /// Publishes pacts from `consumer` at `version` through `/contracts/publish`.
    pub async fn publish(
        &self,
        consumer: &str,
        version: &str,
        branch: Option<&str>,
        tags: &[&str],
        pacts: &[(&str, Value)],
    ) -> Reply {
        let contracts: Vec<Value> = pacts
            .iter()
            .map(|(provider, content)| {
                json!({
                    "consumerName": consumer,
                    "providerName": provider,
                    "specification": "pact",
                    "contentType": "application/json",
                    "content": base64::engine::general_purpose::STANDARD.encode(content.to_string()),
                })
            })
            .collect();
        let mut body = json!({
            "pacticipantName": consumer,
            "pacticipantVersionNumber": version,
            "tags": tags,
            "contracts": contracts,
        });
        if let Some(branch) = branch {
            body["branch"] = json!(branch);
        }
        self.post("/contracts/publish", &body).await
    }

    /// Publishes a verification result for the latest pact of a pair.
    pub async fn verify(
        &self,
        consumer: &str,
        provider: &str,
        provider_version: &str,
        success: bool,
    ) -> Reply {
        let pact = self
            .get(&format!(
                "/pacts/provider/{provider}/consumer/{consumer}/latest"
            ))
            .await;
        assert_eq!(pact.status, StatusCode::OK, "{}", pact.text);
        let href = pact.body["_links"]["pb:publish-verification-results"]["href"]
            .as_str()
            .expect("publish link")
            .trim_start_matches(BASE)
            .to_owned();
        self.post(
            &href,
            &json!({"success": success, "providerApplicationVersion": provider_version}),
        )
        .await
    }
}

/// A small pact between two pacticipants with one interaction per path given.
pub fn pact(consumer: &str, provider: &str, paths: &[&str]) -> Value {
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": paths.iter().map(|p| json!({
            "description": format!("a request for {p}"),
            "request": {"method": "GET", "path": p},
            "response": {"status": 200}
        })).collect::<Vec<_>>(),
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    })
}

/// Snapshot redactions for values that change on every run.
pub fn redact_times(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                if matches!(key.as_str(), "createdAt" | "updatedAt" | "verificationDate")
                    && field.is_string()
                {
                    *field = json!("[timestamp]");
                } else {
                    redact_times(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_times),
        _ => {}
    }
}

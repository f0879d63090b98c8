//! `treaty export` and `treaty import`: SQLite → export → import into a fresh
//! database (PostgreSQL when the suite runs on it) → export gives the same
//! content; every table and column of the migrated schema is exported; a
//! backup filled through the API round-trips byte for byte and still works
//! (webhooks deliver, tokens sign in, the audit log verifies); webhook
//! secrets travel sealed, and a different key is refused or re-sealed.

use std::collections::BTreeMap;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use treaty_domain::model::{EnvironmentFields, NewVerification};
use treaty_domain::pact::PactDocument;
use treaty_domain::publish::{ContractToPublish, OnConflict, PublishRequest};
use treaty_domain::{EnvironmentName, LabelName, PacticipantName, TagName, VersionNumber};
use treaty_store::testing::TestDatabase;
use treaty_store::{DumpKind, NewDeployment, OpenOptions, PactSelector, Store};

use crate::support::{text, treaty, treaty_with_env};

async fn seed(store: &dyn Store) {
    let pact = PactDocument::from_value(json!({
        "consumer": {"name": "Foo"}, "provider": {"name": "Bar"},
        "interactions": [{"description": "d", "request": {"method": "GET", "path": "/ü"}, "response": {"status": 200}}]
    }))
    .unwrap();
    store
        .publish_contracts(&PublishRequest {
            pacticipant: PacticipantName::parse("Foo").unwrap(),
            version: VersionNumber::parse("1.0.0").unwrap(),
            branch: Some(treaty_domain::BranchName::parse("main").unwrap()),
            tags: vec![TagName::parse("dev").unwrap()],
            build_url: Some("https://ci/1".into()),
            contracts: vec![ContractToPublish {
                consumer: PacticipantName::parse("Foo").unwrap(),
                provider: PacticipantName::parse("Bar").unwrap(),
                pact,
                on_conflict: OnConflict::Overwrite,
            }],
        })
        .await
        .unwrap();
    let sha = store
        .pact("Foo", "Bar", PactSelector::Latest)
        .await
        .unwrap()
        .unwrap()
        .sha;
    store
        .publish_verification(
            "Foo",
            "Bar",
            &sha,
            NewVerification {
                provider_version: VersionNumber::parse("2").unwrap(),
                success: true,
                build_url: None,
                test_results: Some(json!([{"success": true}])),
                verified_by: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
    store
        .add_label("Foo", &LabelName::parse("team-a").unwrap())
        .await
        .unwrap();
    let environment = store
        .create_environment(
            None,
            EnvironmentFields {
                name: EnvironmentName::parse("production").unwrap(),
                display_name: None,
                production: true,
                contacts: Some(json!([{"name": "ops"}])),
            },
        )
        .await
        .unwrap();
    for version in ["1.0.0"] {
        store
            .record_deployment(NewDeployment {
                pacticipant: "Foo".into(),
                version: version.into(),
                environment_uuid: environment.uuid.clone(),
                application_instance: Some("blue".into()),
                uuid: None,
            })
            .await
            .unwrap();
    }
    store
        .record_release("Bar", "2", &environment.uuid, None)
        .await
        .unwrap();
}

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_export_import_export_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}", dir.path().join("source.db").display());
    let store = treaty_store::open(&source, OpenOptions::default())
        .await
        .unwrap();
    seed(store.as_ref()).await;
    drop(store);

    let first = dir.path().join("first.json");
    let out = treaty(&[
        "export",
        "--database-url",
        &source,
        "--file",
        first.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));

    let target = TestDatabase::fresh().await.unwrap();
    let out = treaty(&[
        "import",
        "--database-url",
        &target.url,
        "--file",
        first.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_planner_statistics_after_import(&target.url).await;

    let second = dir.path().join("second.json");
    let out = treaty(&[
        "export",
        "--database-url",
        &target.url,
        "--file",
        second.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let (first, second) = (read(&first), read(&second));
    assert_eq!(first, second, "nothing is lost or changed on the way");
    assert_eq!(
        first["tables"]["deployed_versions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The imported data is usable: new rows continue after the imported ids.
    let pact = target
        .store
        .pact("Foo", "Bar", PactSelector::Latest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pact.consumer_version, "1.0.0");
    target
        .store
        .add_label("Bar", &LabelName::parse("x").unwrap())
        .await
        .unwrap();
    target
        .store
        .put_version(
            &PacticipantName::parse("Foo").unwrap(),
            &VersionNumber::parse("1.0.1").unwrap(),
            Default::default(),
        )
        .await
        .unwrap();

    // A second import into the now non-empty database is refused, and changes nothing.
    let third = dir.path().join("third.json");
    std::fs::write(&third, first.to_string()).unwrap();
    let out = treaty(&[
        "import",
        "--database-url",
        &target.url,
        third.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--replace"), "{}", text(&out));
    assert!(
        target
            .store
            .version("Foo", "1.0.1")
            .await
            .unwrap()
            .is_some()
    );
    let out = treaty(&[
        "import",
        "--database-url",
        &target.url,
        "--replace",
        third.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        target
            .store
            .version("Foo", "1.0.1")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn importing_a_file_that_is_not_an_export_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.json");
    std::fs::write(&file, "{\"hello\": 1}").unwrap();
    let target = TestDatabase::fresh().await.unwrap();
    let out = treaty(&[
        "import",
        "--database-url",
        &target.url,
        file.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("not a Treaty export"), "{}", text(&out));
}

/// PostgreSQL gets its planner statistics as soon as an import commits (not
/// whenever autovacuum comes by); SQLite's plans are written for no
/// statistics, so an import must not create them.
async fn assert_planner_statistics_after_import(url: &str) {
    use sqlx::Connection;
    if TestDatabase::backend() == "postgres" {
        let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
        let analysed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = 'versions'",
        )
        .fetch_one(&mut connection)
        .await
        .unwrap();
        assert!(analysed > 0, "no statistics for versions after the import");
    } else {
        let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
        let tables: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
                .fetch_one(&mut connection)
                .await
                .unwrap();
        assert_eq!(tables, 0, "an import ran ANALYZE on SQLite");
    }
}

/// A column as a migration made it.
#[derive(Debug)]
struct SchemaColumn {
    name: String,
    /// As the backend spells it (`INTEGER`, `timestamp with time zone`).
    ty: String,
    not_null: bool,
}

#[derive(Debug, Default)]
struct SchemaTable {
    columns: Vec<SchemaColumn>,
    primary_key: Vec<String>,
    /// The tables its foreign keys point at.
    references: Vec<String>,
}

/// Every table of the migrated database and its columns, read from the
/// database itself (sqlx's own bookkeeping table left out).
async fn migrated_schema(url: &str) -> BTreeMap<String, SchemaTable> {
    use sqlx::{Connection, Row};
    let mut schema: BTreeMap<String, SchemaTable> = BTreeMap::new();
    if url.starts_with("postgres") {
        let mut db = sqlx::PgConnection::connect(url).await.unwrap();
        for row in sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, is_nullable::text = 'NO' AS not_null
             FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'
             ORDER BY table_name, ordinal_position",
        )
        .fetch_all(&mut db)
        .await
        .unwrap()
        {
            schema
                .entry(row.get("t"))
                .or_default()
                .columns
                .push(SchemaColumn {
                    name: row.get("c"),
                    ty: row.get("ty"),
                    not_null: row.get("not_null"),
                });
        }
        for row in sqlx::query(
            "SELECT kcu.table_name::text AS t, kcu.column_name::text AS c
             FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage kcu
               ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name
             WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema() AND tc.table_name <> '_sqlx_migrations'
             ORDER BY kcu.table_name, kcu.ordinal_position",
        )
        .fetch_all(&mut db)
        .await
        .unwrap()
        {
            let table: String = row.get("t");
            schema.entry(table).or_default().primary_key.push(row.get("c"));
        }
        for row in sqlx::query(
            "SELECT tc.table_name::text AS t, ccu.table_name::text AS parent
             FROM information_schema.table_constraints tc JOIN information_schema.constraint_column_usage ccu
               ON ccu.constraint_name = tc.constraint_name AND ccu.constraint_schema = tc.constraint_schema
             WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()",
        )
        .fetch_all(&mut db)
        .await
        .unwrap()
        {
            let table: String = row.get("t");
            schema.entry(table).or_default().references.push(row.get("parent"));
        }
    } else {
        let mut db = sqlx::SqliteConnection::connect(url).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table'
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations' ORDER BY name",
        )
        .fetch_all(&mut db)
        .await
        .unwrap();
        for name in tables {
            let mut table = SchemaTable::default();
            let mut key = Vec::new();
            for row in sqlx::query(
                "SELECT name, type, \"notnull\" AS not_null, pk FROM pragma_table_info(?)",
            )
            .bind(&name)
            .fetch_all(&mut db)
            .await
            .unwrap()
            {
                let pk: i64 = row.get("pk");
                if pk > 0 {
                    key.push((pk, row.get::<String, _>("name")));
                }
                table.columns.push(SchemaColumn {
                    name: row.get("name"),
                    ty: row.get("type"),
                    // A primary key column is never null here (an INTEGER one is the rowid).
                    not_null: row.get::<bool, _>("not_null") || pk > 0,
                });
            }
            key.sort();
            table.primary_key = key.into_iter().map(|(_, column)| column).collect();
            table.references =
                sqlx::query_scalar("SELECT \"table\" FROM pragma_foreign_key_list(?)")
                    .bind(&name)
                    .fetch_all(&mut db)
                    .await
                    .unwrap();
            schema.insert(name, table);
        }
    }
    schema
}

/// Whether an exported kind can hold what the schema's type holds.
fn fits(kind: DumpKind, ty: &str) -> bool {
    matches!(
        (kind, ty),
        (DumpKind::Integer | DumpKind::Boolean, "INTEGER")
            | (DumpKind::Text | DumpKind::Time, "TEXT")
            | (DumpKind::Integer, "bigint")
            | (DumpKind::Boolean, "boolean")
            | (DumpKind::Text, "text")
            | (DumpKind::Time, "timestamp with time zone")
    )
}

/// The entry to add to dump.rs's TABLES for a column. SQLite's types do
/// not tell a flag from a number or a time from text: names do, mostly,
/// and the PostgreSQL run of the suite names the exact kind.
fn suggested_kind(column: &SchemaColumn) -> String {
    let timely = column.name == "at" || column.name.ends_with("_at");
    let kind = match column.ty.as_str() {
        "bigint" | "INTEGER" => "Id",
        "boolean" => "Bool",
        "timestamp with time zone" => "Time",
        "TEXT" if timely => "Time",
        _ => "Text",
    };
    let optional = if column.not_null { "" } else { "Optional" };
    format!("(\"{}\", {optional}{kind})", column.name)
}

const TABLES_AT: &str = "TABLES in crates/treaty-store/src/sql/dump.rs";

/// So the next table or column cannot be forgotten: whatever a migration
/// creates, `treaty export` writes, with a kind that holds it.
#[tokio::test(flavor = "multi_thread")]
async fn every_table_and_column_of_the_schema_is_exported() {
    let database = TestDatabase::fresh().await.unwrap();
    let schema = migrated_schema(&database.url).await;
    let exported = database.store.dump_tables();
    let position = |name: &str| exported.iter().position(|t| t.name == name);
    let mut missing = Vec::new();
    for (name, table) in &schema {
        let Some(at) = position(name) else {
            let columns: Vec<String> = table.columns.iter().map(suggested_kind).collect();
            missing.push(format!(
                "table {name} is in the schema but `treaty export` leaves it out: add it to {TABLES_AT}, after the tables it references, with key {:?} and columns [{}]",
                table.primary_key,
                columns.join(", ")
            ));
            continue;
        };
        let dumped = &exported[at];
        for column in &table.columns {
            match dumped.columns.iter().find(|c| c.name == column.name) {
                None => missing.push(format!(
                    "column {name}.{} ({}) is in the schema but `treaty export` leaves it out: add {} to the {name} entry of {TABLES_AT}",
                    column.name,
                    column.ty,
                    suggested_kind(column)
                )),
                Some(c) if !fits(c.kind, &column.ty) || c.nullable == column.not_null => {
                    missing.push(format!(
                        "column {name}.{} is {} (not null: {}) in the schema, but exported as {:?} (nullable: {}): make it {} in {TABLES_AT}",
                        column.name,
                        column.ty,
                        column.not_null,
                        c.kind,
                        c.nullable,
                        suggested_kind(column)
                    ));
                }
                Some(_) => {}
            }
        }
        for column in &dumped.columns {
            if !table.columns.iter().any(|c| c.name == column.name) {
                missing.push(format!(
                    "{TABLES_AT} exports {name}.{}, which no migration creates",
                    column.name
                ));
            }
        }
        if dumped.key != table.primary_key {
            missing.push(format!(
                "{name}'s primary key is {:?}, but {TABLES_AT} orders it by {:?}: the key makes the order total, so two exports of the same data are the same bytes",
                table.primary_key, dumped.key
            ));
        }
        for parent in &table.references {
            if parent != name && position(parent).is_some_and(|p| p > at) {
                missing.push(format!(
                    "{name} references {parent}, which {TABLES_AT} lists after it: move {name} below {parent}, or an import fails on the reference"
                ));
            }
        }
    }
    for table in &exported {
        if !schema.contains_key(table.name) {
            missing.push(format!(
                "{TABLES_AT} exports a table {}, which no migration creates",
                table.name
            ));
        }
    }
    let hint = if TestDatabase::backend() == "sqlite" {
        "\n(On SQLite, an INTEGER flag is Bool, not Id: the suite's PostgreSQL run names each kind exactly.)"
    } else {
        ""
    };
    assert!(
        missing.is_empty(),
        "the export does not match the migrated {} schema:\n{}{hint}",
        TestDatabase::backend(),
        missing.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_from_a_newer_release_is_refused_rather_than_cut_short() {
    let source = TestDatabase::fresh().await.unwrap();
    seed(source.store.as_ref()).await;
    let dump = source.store.export().await.unwrap().0;
    for (changed, says) in [
        (
            {
                let mut d = dump.clone();
                d["tables"]["versions"][0]["released_by"] = json!("x");
                d
            },
            "a column versions.released_by",
        ),
        (
            {
                let mut d = dump.clone();
                d["tables"]["feature_flags"] = json!([{"id": 1}]);
                d
            },
            "a table feature_flags",
        ),
        (
            {
                let mut d = dump.clone();
                d["formatVersion"] = json!(3);
                d
            },
            "format version 3",
        ),
    ] {
        let target = TestDatabase::fresh().await.unwrap();
        let error = target
            .store
            .import(&treaty_store::Dump(changed), false)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(says), "{error}");
        assert!(
            target.store.pacticipant("Foo").await.unwrap().is_none(),
            "nothing imported"
        );
    }
    // A version 1 file (before webhooks, tokens and the audit log were
    // exported) still loads.
    let mut old = dump.clone();
    old["formatVersion"] = json!(1);
    for table in ["webhooks", "webhook_deliveries", "api_tokens", "audit_log"] {
        old["tables"].as_object_mut().unwrap().shift_remove(table);
    }
    for verification in old["tables"]["verifications"].as_array_mut().unwrap() {
        verification.as_object_mut().unwrap().shift_remove("wip");
    }
    let target = TestDatabase::fresh().await.unwrap();
    target
        .store
        .import(&treaty_store::Dump(old), false)
        .await
        .unwrap();
    assert_eq!(target.store.export().await.unwrap().0, dump);
}

// ---- A backup filled through the API, round-tripped, and still working ----

const KEY: &str = "the key the servers run with";
const ADMIN: &str = "round-trip-admin-token";
const PASSWORD: &str = "hunter2-webhook-password";
const SECRET: &str = "s3cret-webhook-signing";

/// What one webhook request brought.
#[derive(Debug)]
struct Hook {
    authorization: Option<String>,
    signature: Option<String>,
    body: String,
}

/// A webhook receiver on 127.0.0.1 that hands over each request as it comes.
struct Hooks {
    url: String,
    arrived: tokio::sync::mpsc::UnboundedReceiver<Hook>,
}

impl Hooks {
    async fn start() -> Self {
        let (send, arrived) = tokio::sync::mpsc::unbounded_channel();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let _ = send.send(Hook {
                    authorization: header("authorization"),
                    signature: header(treaty_server::webhook_sender::SIGNATURE_HEADER),
                    body,
                });
                async { "ok" }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, arrived }
    }

    /// The next request, which must come within the deadline (a delivery is
    /// sent by a background loop).
    async fn next(&mut self) -> Hook {
        tokio::time::timeout(std::time::Duration::from_secs(60), self.arrived.recv())
            .await
            .expect("a webhook delivery within a minute")
            .expect("the receiver is running")
    }

    /// Checks the request was authenticated and signed with the webhook's
    /// own password and secret, so both were opened after the journey.
    fn assert_opened_secrets(hook: &Hook, password: &str, secret: &str) {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("ci:{password}"));
        assert_eq!(
            hook.authorization.as_deref(),
            Some(format!("Basic {basic}").as_str()),
            "the webhook's password was opened"
        );
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(hook.body.as_bytes());
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hook.signature.as_deref(),
            Some(format!("sha256={expected}").as_str()),
            "the webhook's secret was opened"
        );
    }
}

/// `treaty serve` on a database, with tokens, a --secret-key, and webhooks
/// allowed to 127.0.0.1.
async fn serve(database_url: &str, key: Option<&str>) -> crate::replicas::Replica {
    let mut flags = vec![
        "--auth",
        "token",
        "--admin-token",
        ADMIN,
        "--webhook-allowed-schemes",
        "http",
        "--webhook-allowed-hosts",
        "127.0.0.1",
        "--webhook-retry-schedule",
        "1",
    ];
    if let Some(key) = key {
        flags.extend(["--secret-key", key]);
    }
    crate::replicas::start_replica_with(database_url, &flags).await
}

async fn stop(mut server: crate::replicas::Replica) {
    server.child.kill().await.unwrap();
}

/// A request with a bearer token; the answer's status and body.
async fn call(
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token)
        .header("Accept", "application/hal+json");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn ok(method: reqwest::Method, url: String, body: Option<Value>) -> Value {
    let (status, answer) = call(method, url.clone(), ADMIN, body).await;
    assert!((200..300).contains(&status), "{url}: {status} {answer}");
    answer
}

fn publication(version: &str) -> Value {
    let mut body = crate::replicas::publish_body(version);
    // Tags and labels whose byte order is not a linguistic one: the export
    // must order them alike on every backend, whatever PostgreSQL's locale.
    body["tags"] = json!(["ci", "Main", "älter"]);
    body
}

/// A webhook with a password and a signing secret, for Foo's pacts.
async fn create_webhook(base: &str, hook: &str) -> String {
    let created = ok(
        reqwest::Method::POST,
        format!("{base}/webhooks"),
        Some(json!({
            "description": "tell CI",
            "consumer": {"name": "Foo"},
            "events": [{"name": "contract_published"}],
            "request": {"method": "POST", "url": hook, "headers": {"Content-Type": "application/json"},
                "body": {"version": "${pactbroker.consumerVersionNumber}"},
                "username": "ci", "password": PASSWORD},
            "secret": SECRET
        })),
    )
    .await;
    created["uuid"].as_str().unwrap().to_owned()
}

async fn publish_and_deliver(base: &str, token: &str, version: &str, hooks: &mut Hooks) -> Hook {
    let (status, answer) = call(
        reqwest::Method::POST,
        format!("{base}/contracts/publish"),
        token,
        Some(publication(version)),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let hook = hooks.next().await;
    assert_eq!(
        serde_json::from_str::<Value>(&hook.body).unwrap()["version"],
        version,
        "the delivery of this publication (and no older one sent again)"
    );
    hook
}

/// Fills every table through the API and the CLI; returns the write token
/// it created.
async fn fill_every_table(base: &str, hooks: &mut Hooks) -> String {
    use reqwest::Method;
    ok(
        Method::POST,
        format!("{base}/contracts/publish"),
        Some(publication("1.0.0")),
    )
    .await;
    for label in ["team-b", "Team-A", "ärger"] {
        ok(
            Method::PUT,
            format!("{base}/pacticipants/Foo/labels/{label}"),
            Some(json!({})),
        )
        .await;
    }
    let latest = ok(
        Method::GET,
        format!("{base}/pacts/provider/Bar/consumer/Foo/latest"),
        None,
    )
    .await;
    let results = latest["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        Method::POST,
        results,
        Some(json!({"success": true, "providerApplicationVersion": "2.0.0"})),
    )
    .await;
    // A pipeline order that is not the default one, to travel with the rows.
    ok(
        Method::PUT,
        format!("{base}/environments/order"),
        Some(json!({"environments": ["production", "test"]})),
    )
    .await;
    let environments = ok(Method::GET, format!("{base}/environments"), None).await;
    let production = environments["_embedded"]["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "production")
        .expect("the default production environment")["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        Method::POST,
        format!(
            "{base}/pacticipants/Bar/versions/2.0.0/released-versions/environment/{production}"
        ),
        Some(json!({})),
    )
    .await;
    let cli = |args: Vec<&str>| {
        let mut args = args;
        args.extend(["-b", base, "-k", ADMIN]);
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        async move {
            let out = treaty(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
            assert!(out.status.success(), "{args:?}: {}", text(&out));
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        }
    };
    let deployment = cli(vec![
        "deployment",
        "start",
        "-a",
        "Foo",
        "-e",
        "1.0.0",
        "--environment",
        "production",
        "--idempotency-key",
        "run-1",
    ])
    .await;
    cli(vec!["deployment", "complete", "--deployment", &deployment]).await;
    cli(vec![
        "deployment",
        "incident",
        "--deployment",
        &deployment,
        "--title",
        "checkout errors",
        "--severity",
        "sev2",
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.json");
    std::fs::write(
        &rules,
        json!({"rules": [{"rule": "promotion", "from": "test"}]}).to_string(),
    )
    .unwrap();
    cli(vec![
        "policy",
        "apply",
        "--environment",
        "production",
        "-f",
        rules.to_str().unwrap(),
    ])
    .await;
    let token = cli(vec![
        "token",
        "create",
        "--name",
        "ci-foo",
        "--role",
        "write",
        "--expires",
        "90d",
    ])
    .await;
    create_webhook(base, &hooks.url).await;
    let hook = publish_and_deliver(base, &token, "1.0.1", hooks).await;
    Hooks::assert_opened_secrets(&hook, PASSWORD, SECRET);
    // Wait until the delivery is recorded as sent, so the backup does not
    // hold it as still to send.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let status = ok(
            Method::GET,
            format!("{base}/pacts/provider/Bar/consumer/Foo/webhooks/status"),
            None,
        )
        .await;
        if status["summary"]["successful"] == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    compared_provider_contract(base).await;
    token
}

/// A provider contract of Bar, which the server's worker compares with
/// Foo's pact on its main branch: the rows of the bi-directional tables.
async fn compared_provider_contract(base: &str) {
    use base64::Engine;
    use reqwest::Method;
    let document = json!({"openapi": "3.0.3", "info": {"title": "Bar", "version": "1"},
        "paths": {"/0": {"get": {"responses": {"200": {"description": "ok"}}}}}});
    ok(
        Method::POST,
        format!("{base}/provider-contracts/provider/Bar/publish"),
        Some(json!({"pacticipantVersionNumber": "3.0.0", "branch": "main",
            "contract": {"content": base64::engine::general_purpose::STANDARD.encode(document.to_string()),
                "contentType": "application/json", "specification": "oas",
                "selfVerificationResults": {"success": true, "verifier": "schemathesis"}}})),
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let comparison = ok(
            Method::GET,
            format!("{base}/provider-contracts/provider/Bar/version/3.0.0/consumer/Foo/version/1.0.0/comparison"),
            None,
        )
        .await;
        if comparison["status"] != "unknown" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{comparison}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A comparison still to compute, as a publication queues it: the server's
/// worker takes each at once, so one is left only in a stopped server's
/// database.
async fn queue_a_comparison(database: &str) {
    let pool = sqlx::SqlitePool::connect(database).await.unwrap();
    sqlx::query(
        "INSERT INTO comparison_work (pact_sha, contract_sha, created_at) VALUES (?, ?, ?)",
    )
    .bind("0".repeat(40))
    .bind("f".repeat(64))
    .bind(chrono::Utc::now())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

/// `treaty audit verify` with the servers' key (which keys the audit
/// chain): the number of entries, all links verified.
async fn audit_entries(database_url: &str) -> u64 {
    let out = treaty(&[
        "audit",
        "verify",
        "--database-url",
        database_url,
        "--secret-key",
        KEY,
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .split_whitespace()
        .zip(stdout.split_whitespace().skip(1))
        .find(|(_, word)| word.starts_with("entries"))
        .and_then(|(count, _)| count.parse().ok())
        .unwrap_or_else(|| panic!("a number of entries: {}", text(&out)))
}

async fn export_to(database_url: &str, file: &std::path::Path, key: Option<&str>) -> Vec<u8> {
    let mut args = vec![
        "export",
        "--database-url",
        database_url,
        "--file",
        file.to_str().unwrap(),
    ];
    if let Some(key) = key {
        args.extend(["--secret-key", key]);
    }
    let out = treaty(&args).await;
    assert!(out.status.success(), "{}", text(&out));
    std::fs::read(file).unwrap()
}

async fn import_from(
    database_url: &str,
    file: &std::path::Path,
    keys: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "import",
        "--database-url",
        database_url,
        "--file",
        file.to_str().unwrap(),
    ];
    args.extend_from_slice(keys);
    treaty(&args).await
}

/// A database URL, and what keeps the database until the test ends.
struct Middle {
    url: String,
    _database: Option<TestDatabase>,
}

/// The database between the two SQLite ones: the suite's backend. On
/// PostgreSQL, a database that orders text by a linguistic collation (ICU
/// en-US: "ci" < "Main" < "team-b"), as clusters made with a language's
/// locale do, unlike the suite's C.UTF-8 one, which orders by bytes like SQLite.
async fn middle_database() -> Middle {
    use sqlx::Connection;
    let server = std::env::var(treaty_store::testing::POSTGRES_URL_VARIABLE).unwrap_or_default();
    if server.is_empty() {
        let database = TestDatabase::fresh().await.unwrap();
        return Middle {
            url: database.url.clone(),
            _database: Some(database),
        };
    }
    let name = format!("treaty_test_icu_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    let mut url = url::Url::parse(&server).unwrap();
    url.set_path(&name);
    Middle {
        url: url.to_string(),
        _database: None,
    }
}

/// `treaty migrate-from` another Treaty into `database`: what it copied is
/// recorded (`moved_in`), and a webhook lacks the secrets the source masked.
async fn moved_in_from_another_broker(database: &str) {
    let other = crate::support::TestServer::start().await;
    let created = reqwest::Client::new()
        .post(format!("{}/webhooks", other.url))
        .json(&json!({
            "description": "moved in",
            "events": [{"name": "contract_content_changed"}],
            "request": {"method": "POST", "url": "https://ci.example/build", "username": "ci", "password": "moved-in-password"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let out = treaty(&[
        "migrate-from",
        &other.url,
        "--database-url",
        database,
        "--no-verify",
        "--retries",
        "0",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
}

/// SQLite → the suite's backend (PostgreSQL in its PostgreSQL run) → SQLite,
/// every table holding rows: the exports are the same bytes, and what was
/// imported works as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_of_every_table_round_trips_through_the_other_backend_and_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}", dir.path().join("source.db").display());
    let mut hooks = Hooks::start().await;
    let server = serve(&source, Some(KEY)).await;
    let token = fill_every_table(&server.url, &mut hooks).await;
    moved_in_from_another_broker(&source).await;
    stop(server).await;
    queue_a_comparison(&source).await;
    let audited = audit_entries(&source).await;
    assert!(audited >= 10, "every write was audited: {audited}");

    let first_file = dir.path().join("first.json");
    let first = export_to(&source, &first_file, Some(KEY)).await;
    let document: Value = serde_json::from_slice(&first).unwrap();
    let schema = migrated_schema(&source).await;
    let empty: Vec<&str> = schema
        .keys()
        .map(String::as_str)
        .filter(|table| {
            document["tables"][*table]
                .as_array()
                .is_none_or(Vec::is_empty)
        })
        .collect();
    assert!(
        empty.is_empty(),
        "fill_every_table leaves these tables empty, so the round trip does not show they survive: {empty:?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&first_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    }
    let text_of_file = String::from_utf8_lossy(&first);
    for secret in [PASSWORD, SECRET, KEY, token.as_str(), ADMIN] {
        assert!(
            !text_of_file.contains(secret),
            "the export holds {secret} in clear"
        );
    }
    assert_eq!(
        document["secretKey"]["fingerprint"],
        treaty_server::secrets::Sealer::fingerprint(KEY)
    );

    // Into the suite's backend: PostgreSQL in its PostgreSQL run.
    let middle = middle_database().await;
    let out = import_from(&middle.url, &first_file, &["--secret-key", KEY]).await;
    assert!(out.status.success(), "{}", text(&out));
    let second = export_to(&middle.url, &dir.path().join("second.json"), Some(KEY)).await;
    assert!(
        first == second,
        "SQLite -> {}: the second export differs from the first",
        TestDatabase::backend()
    );
    assert_eq!(audit_entries(&middle.url).await, audited);

    // And back into SQLite.
    let last = format!("sqlite://{}", dir.path().join("last.db").display());
    let out = import_from(
        &last,
        &dir.path().join("second.json"),
        &["--secret-key", KEY],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let third = export_to(&last, &dir.path().join("third.json"), Some(KEY)).await;
    assert!(
        first == third,
        "SQLite -> {} -> SQLite: the third export differs from the first",
        TestDatabase::backend()
    );
    assert_eq!(audit_entries(&last).await, audited);

    // What was imported works: the token signs in and writes, new rows
    // continue after the imported ids, the webhook delivers with its
    // password and secret, and the audit log goes on verifying.
    let server = serve(&middle.url, Some(KEY)).await;
    let (status, _) = call(
        reqwest::Method::GET,
        format!("{}/pacticipants/Foo", server.url),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "the imported token signs in");
    let (_, order) = call(
        reqwest::Method::GET,
        format!("{}/environments/order", server.url),
        &token,
        None,
    )
    .await;
    assert_eq!(
        order["environments"],
        json!(["production", "test"]),
        "{order}"
    );
    let hook = publish_and_deliver(&server.url, &token, "1.0.2", &mut hooks).await;
    Hooks::assert_opened_secrets(&hook, PASSWORD, SECRET);
    ok(
        reqwest::Method::PUT,
        format!("{}/pacticipants/Bar/labels/imported", server.url),
        Some(json!({})),
    )
    .await;
    stop(server).await;
    assert!(audit_entries(&middle.url).await > audited);
}

/// A webhook with a password and a secret in a database served with `key`
/// (or its generated key), exported.
async fn backup_with_a_sealed_webhook(
    dir: &std::path::Path,
    key: Option<&str>,
    hooks: &Hooks,
) -> std::path::PathBuf {
    let source = format!("sqlite://{}", dir.join("source.db").display());
    let server = serve(&source, key).await;
    ok(
        reqwest::Method::POST,
        format!("{}/contracts/publish", server.url),
        Some(publication("1.0.0")),
    )
    .await;
    create_webhook(&server.url, &hooks.url).await;
    stop(server).await;
    let file = dir.join("backup.json");
    export_to(&source, &file, key).await;
    file
}

fn empty_sqlite(dir: &std::path::Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(format!("{name}.db")).display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_import_with_another_secret_key_is_refused_unless_the_old_key_re_seals() {
    let dir = tempfile::tempdir().unwrap();
    let mut hooks = Hooks::start().await;
    let file = backup_with_a_sealed_webhook(dir.path(), Some(KEY), &hooks).await;
    let source = empty_sqlite(dir.path(), "source");
    let refused_file = dir.path().join("refused.json");

    // The export checks the key it names opens the secrets, and a refused
    // export leaves the previous backup as it was.
    std::fs::write(&refused_file, "the previous backup").unwrap();
    for wrong in [vec![], vec!["--secret-key", "not the key"]] {
        let mut args = vec![
            "export",
            "--database-url",
            &source,
            "--file",
            refused_file.to_str().unwrap(),
        ];
        args.extend(wrong);
        let out = treaty(&args).await;
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            text(&out).contains("export with the --secret-key"),
            "{}",
            text(&out)
        );
        assert_eq!(
            std::fs::read_to_string(&refused_file).unwrap(),
            "the previous backup"
        );
    }

    let target = empty_sqlite(dir.path(), "target");
    for (keys, says) in [
        (vec!["--secret-key", "a new key"], "--previous-secret-key"),
        (vec![], "is sealed with a --secret-key"),
        (
            vec![
                "--secret-key",
                "a new key",
                "--previous-secret-key",
                "not the old one",
            ],
            "does not open",
        ),
    ] {
        let out = import_from(&target, &file, &keys).await;
        assert_eq!(out.status.code(), Some(1), "{keys:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{keys:?}: {}", text(&out));
    }
    // Refused imports changed nothing: the database is still empty.
    let out = import_from(&target, &file, &["--secret-key", KEY]).await;
    assert!(out.status.success(), "{}", text(&out));

    // With the old key too, the secrets are re-sealed with the new one.
    let moved = empty_sqlite(dir.path(), "moved");
    let out = treaty_with_env(
        &[
            "import",
            "--database-url",
            &moved,
            "--file",
            file.to_str().unwrap(),
            "--secret-key",
            "a new key",
        ],
        &[("TREATY_PREVIOUS_SECRET_KEY", KEY)],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Re-sealed 2 webhook secrets"),
        "{}",
        text(&out)
    );
    // The audit chain, keyed with the same key, was sealed again with the new one.
    let verified = treaty(&[
        "audit",
        "verify",
        "--database-url",
        &moved,
        "--secret-key",
        "a new key",
    ])
    .await;
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    let old_key = treaty(&[
        "audit",
        "verify",
        "--database-url",
        &moved,
        "--secret-key",
        KEY,
    ])
    .await;
    assert_eq!(old_key.status.code(), Some(1), "{}", text(&old_key));
    let server = serve(&moved, Some("a new key")).await;
    let hook = publish_and_deliver(&server.url, ADMIN, "1.0.1", &mut hooks).await;
    Hooks::assert_opened_secrets(&hook, PASSWORD, SECRET);
    stop(server).await;
    // The server's TREATY_SECRET_KEY serves export and import as well.
    let moved_file = dir.path().join("moved.json");
    let out = treaty_with_env(
        &[
            "export",
            "--database-url",
            &moved,
            "--file",
            moved_file.to_str().unwrap(),
        ],
        &[("TREATY_SECRET_KEY", "a new key")],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let resealed: Value = serde_json::from_slice(&std::fs::read(&moved_file).unwrap()).unwrap();
    assert_eq!(
        resealed["secretKey"]["fingerprint"],
        treaty_server::secrets::Sealer::fingerprint("a new key")
    );
    assert!(!resealed.to_string().contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_generated_key_travels_in_the_export_and_a_secret_key_can_replace_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut hooks = Hooks::start().await;
    let file = backup_with_a_sealed_webhook(dir.path(), None, &hooks).await;
    let document: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(document["secretKey"]["origin"], "generated");
    assert_eq!(document["secretKey"]["sealedValues"], 2);

    // Without a --secret-key, the import keeps the generated key it carries.
    let same = empty_sqlite(dir.path(), "same");
    let out = import_from(&same, &file, &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let server = serve(&same, None).await;
    let hook = publish_and_deliver(&server.url, ADMIN, "1.0.1", &mut hooks).await;
    Hooks::assert_opened_secrets(&hook, PASSWORD, SECRET);
    stop(server).await;

    // With one, the secrets are re-sealed with it.
    let keyed = empty_sqlite(dir.path(), "keyed");
    let out = import_from(&keyed, &file, &["--secret-key", KEY]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Re-sealed 2 webhook secrets"),
        "{}",
        text(&out)
    );
    let server = serve(&keyed, Some(KEY)).await;
    let hook = publish_and_deliver(&server.url, ADMIN, "1.0.1", &mut hooks).await;
    Hooks::assert_opened_secrets(&hook, PASSWORD, SECRET);
    stop(server).await;
}

/// Tables of more rows than one statement reads (verifications; tags, keyed
/// by text, three to a version so a page ends inside a version's tags):
/// every row is exported once, in the same order from both backends.
#[tokio::test(flavor = "multi_thread")]
async fn tables_longer_than_a_page_are_exported_whole_and_alike() {
    let source = TestDatabase::fresh().await.unwrap();
    let seeded = treaty_bench::seed::seed(
        source.store.as_ref(),
        treaty_bench::dataset::Size::S,
        |_, _| {},
    )
    .await
    .unwrap();
    let versions = source.store.export().await.unwrap().0["tables"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["pacticipant_id"].as_i64().unwrap(),
                v["number"].as_str().unwrap().to_owned(),
            )
        })
        .collect::<Vec<_>>();
    let names = source.store.export().await.unwrap().0["tables"]["pacticipants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_i64().unwrap(),
                p["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect::<BTreeMap<_, _>>();
    for (pacticipant, number) in &versions {
        for tag in ["Main", "ci", "ärger"] {
            source
                .store
                .add_tag(
                    &PacticipantName::parse(&names[pacticipant]).unwrap(),
                    &VersionNumber::parse(number).unwrap(),
                    &TagName::parse(tag).unwrap(),
                )
                .await
                .unwrap();
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let first = export_to(&source.url, &dir.path().join("first.json"), None).await;
    let document: Value = serde_json::from_slice(&first).unwrap();
    let tags = document["tables"]["tags"].as_array().unwrap();
    assert_eq!(tags.len(), 3 * versions.len());
    assert!(tags.len() > 1000, "more tags than one page");
    let keys: Vec<(i64, &str)> = tags
        .iter()
        .map(|t| {
            (
                t["version_id"].as_i64().unwrap(),
                t["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "in key order, names by bytes"
    );
    assert_eq!(
        document["tables"]["verifications"]
            .as_array()
            .unwrap()
            .len() as u64,
        seeded.verifications
    );

    let middle = middle_database().await;
    let out = import_from(&middle.url, &dir.path().join("first.json"), &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let second = export_to(&middle.url, &dir.path().join("second.json"), None).await;
    assert!(first == second, "the second export differs from the first");
}

//! The migration to one deployment truth, on a database made by the
//! previous release: its schema (the migrations up to 13), and rows written
//! with the SQL that release ran (record-deployment, undeploy, record-release,
//! support ended, a tag named after an environment, deployment events).
//! After migrating, every deployment and release it recorded is a ledger
//! entry, and the ledger, `deployed-at` and the Pact Broker's records agree.

use chrono::{DateTime, TimeZone, Utc};
use treaty_domain::model::{EndReason, LedgerKind};
use treaty_store::testing::TestDatabase;
use treaty_store::{DeployedFilter, LedgerFilter, NewDeployment, OpenOptions};

/// The previous release's last migration.
const PREVIOUS_RELEASE_MIGRATIONS: usize = 13;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 12, minute, 0).unwrap()
}

#[derive(Clone)]
enum Arg {
    Int(i64),
    Text(&'static str),
    Null,
    NoInt,
    NoTime,
    Time(DateTime<Utc>),
    Flag(bool),
}

/// A connection that runs the previous release's SQL text on either backend.
enum Old {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Old {
    async fn connect(url: &str) -> Self {
        if url.starts_with("postgres") {
            Self::Postgres(sqlx::PgPool::connect(url).await.unwrap())
        } else {
            Self::Sqlite(sqlx::SqlitePool::connect(url).await.unwrap())
        }
    }

    /// Runs one statement; its `RETURNING id`, if any.
    async fn run(&self, text: &str, args: &[Arg]) -> Option<i64> {
        use sqlx::Row;
        match self {
            Self::Sqlite(pool) => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(text.to_owned()));
                for arg in args {
                    query = match arg.clone() {
                        Arg::Int(v) => query.bind(v),
                        Arg::Text(v) => query.bind(v),
                        Arg::Null => query.bind(None::<String>),
                        Arg::NoInt => query.bind(None::<i64>),
                        Arg::NoTime => query.bind(None::<DateTime<Utc>>),
                        Arg::Time(v) => query.bind(v),
                        Arg::Flag(v) => query.bind(v),
                    };
                }
                query.fetch_optional(pool).await.unwrap().map(|r| r.get(0))
            }
            Self::Postgres(pool) => {
                let mut numbered = String::new();
                let mut n = 0;
                for c in text.chars() {
                    if c == '?' {
                        n += 1;
                        numbered.push_str(&format!("${n}"));
                    } else {
                        numbered.push(c);
                    }
                }
                let mut query = sqlx::query(sqlx::AssertSqlSafe(numbered));
                for arg in args {
                    query = match arg.clone() {
                        Arg::Int(v) => query.bind(v),
                        Arg::Text(v) => query.bind(v),
                        Arg::Null => query.bind(None::<String>),
                        Arg::NoInt => query.bind(None::<i64>),
                        Arg::NoTime => query.bind(None::<DateTime<Utc>>),
                        Arg::Time(v) => query.bind(v),
                        Arg::Flag(v) => query.bind(v),
                    };
                }
                query.fetch_optional(pool).await.unwrap().map(|r| r.get(0))
            }
        }
    }

    async fn id(&self, text: &str, args: &[Arg]) -> i64 {
        self.run(text, args).await.expect("RETURNING id")
    }

    async fn environment(&self, name: &'static str, production: bool) -> i64 {
        self.id(
            "INSERT INTO environments (uuid, name, display_name, production, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            &[Arg::Text(name), Arg::Text(name), Arg::Null, Arg::Flag(production), Arg::Time(at(0)), Arg::Time(at(0))],
        )
        .await
    }

    async fn pacticipant(&self, name: &'static str) -> i64 {
        self.id(
            "INSERT INTO pacticipants (name, created_at, updated_at) VALUES (?, ?, ?) RETURNING id",
            &[Arg::Text(name), Arg::Time(at(0)), Arg::Time(at(0))],
        )
        .await
    }

    async fn version(&self, pacticipant: i64, number: &'static str) -> i64 {
        self.id(
            "INSERT INTO versions (pacticipant_id, number, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id",
            &[Arg::Int(pacticipant), Arg::Text(number), Arg::Time(at(0)), Arg::Time(at(0))],
        )
        .await
    }

    /// The previous release's `record_deployment_in`: undeploy what the slot
    /// held, record the new one, make it the slot's current one.
    async fn record_deployment(
        &self,
        pacticipant: i64,
        version: i64,
        environment: i64,
        instance: Option<&'static str>,
        auto_created: bool,
        when: DateTime<Utc>,
    ) -> i64 {
        let slot = instance.unwrap_or("");
        self.run(
            "UPDATE deployed_versions SET undeployed_at = ?, updated_at = ?
             WHERE pacticipant_id = ? AND environment_id = ? AND coalesce(application_instance, '') = ? AND undeployed_at IS NULL",
            &[Arg::Time(when), Arg::Time(when), Arg::Int(pacticipant), Arg::Int(environment), Arg::Text(slot)],
        )
        .await;
        self.run(
            "DELETE FROM currently_deployed WHERE pacticipant_id = ? AND environment_id = ? AND instance_key = ?",
            &[Arg::Int(pacticipant), Arg::Int(environment), Arg::Text(slot)],
        )
        .await;
        let uuid = Box::leak(uuid_text().into_boxed_str());
        let id = self
            .id(
                "INSERT INTO deployed_versions (uuid, version_id, pacticipant_id, environment_id, application_instance,
                   auto_created, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                &[
                    Arg::Text(uuid),
                    Arg::Int(version),
                    Arg::Int(pacticipant),
                    Arg::Int(environment),
                    instance.map_or(Arg::Null, Arg::Text),
                    Arg::Flag(auto_created),
                    Arg::Time(when),
                    Arg::Time(when),
                ],
            )
            .await;
        self.run(
            "INSERT INTO currently_deployed (pacticipant_id, environment_id, instance_key, deployed_version_id, version_id) VALUES (?, ?, ?, ?, ?)",
            &[Arg::Int(pacticipant), Arg::Int(environment), Arg::Text(slot), Arg::Int(id), Arg::Int(version)],
        )
        .await;
        id
    }

    /// The previous release's `undeploy`.
    async fn undeploy(&self, deployed_version: i64, when: DateTime<Utc>) {
        self.run(
            "UPDATE deployed_versions SET undeployed_at = ?, updated_at = ? WHERE id = ? AND undeployed_at IS NULL",
            &[Arg::Time(when), Arg::Time(when), Arg::Int(deployed_version)],
        )
        .await;
        self.run(
            "DELETE FROM currently_deployed WHERE deployed_version_id = ?",
            &[Arg::Int(deployed_version)],
        )
        .await;
    }

    /// A deployment event as the previous release stored it.
    async fn ledger_deployment(
        &self,
        (pacticipant, version, environment): (i64, i64, i64),
        status: &'static str,
        rollback: bool,
        deployed_version: Option<i64>,
        when: DateTime<Utc>,
    ) -> i64 {
        let finished = status == "completed";
        let id = self
            .id(
                "INSERT INTO deployments (pacticipant_id, version_id, environment_id, status, deployed_by, source_system,
                   rollback, deployed_version_id, created_at, started_at, finished_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                &[
                    Arg::Int(pacticipant),
                    Arg::Int(version),
                    Arg::Int(environment),
                    Arg::Text(status),
                    Arg::Text("ci"),
                    Arg::Text("github-actions"),
                    Arg::Flag(rollback),
                    deployed_version.map_or(Arg::NoInt, Arg::Int),
                    Arg::Time(when),
                    if finished { Arg::NoTime } else { Arg::Time(when) },
                    if finished { Arg::Time(when) } else { Arg::NoTime },
                    Arg::Time(when),
                ],
            )
            .await;
        self.run(
            "INSERT INTO deployment_events (deployment_id, status, metadata, created_at) VALUES (?, ?, ?, ?)",
            &[Arg::Int(id), Arg::Text(status), Arg::Text("{}"), Arg::Time(when)],
        )
        .await;
        id
    }

    async fn release(
        &self,
        pacticipant: i64,
        version: i64,
        environment: i64,
        when: DateTime<Utc>,
        ended: Option<DateTime<Utc>>,
    ) {
        let uuid = Box::leak(uuid_text().into_boxed_str());
        self.run(
            "INSERT INTO released_versions (uuid, version_id, pacticipant_id, environment_id, support_ended_at, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            &[
                Arg::Text(uuid),
                Arg::Int(version),
                Arg::Int(pacticipant),
                Arg::Int(environment),
                ended.map_or(Arg::NoTime, Arg::Time),
                Arg::Time(when),
                Arg::Time(ended.unwrap_or(when)),
            ],
        )
        .await;
    }
}

fn uuid_text() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    format!(
        "00000000-0000-4000-8000-{:012}",
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

#[tokio::test]
async fn a_database_of_the_previous_release_migrates_into_one_ledger() {
    let db = TestDatabase::fresh_with(OpenOptions {
        migrate: false,
        ..OpenOptions::default()
    })
    .await
    .unwrap();
    let folder = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        if db.url.starts_with("postgres") {
            "migrations/postgres"
        } else {
            "migrations/sqlite"
        },
    );
    crate::migrate_with_first(&db.url, &folder, PREVIOUS_RELEASE_MIGRATIONS).await;

    let old = Old::connect(&db.url).await;
    let production = old.environment("production", true).await;
    let test = old.environment("test", false).await;
    let foo = old.pacticipant("Foo").await;
    let bar = old.pacticipant("Bar").await;
    let foo_1 = old.version(foo, "1").await;
    let foo_2 = old.version(foo, "2").await;
    let foo_3 = old.version(foo, "3").await;
    let bar_1 = old.version(bar, "1").await;
    let bar_2 = old.version(bar, "2").await;

    // record-deployment Foo 1, then Foo 2; a pipeline's completed event rolls back to Foo 1.
    old.record_deployment(foo, foo_1, production, None, false, at(1))
        .await;
    old.record_deployment(foo, foo_2, production, None, false, at(2))
        .await;
    let rolled_back = old
        .record_deployment(foo, foo_1, production, None, false, at(3))
        .await;
    let event_deployment = old
        .ledger_deployment(
            (foo, foo_1, production),
            "completed",
            true,
            Some(rolled_back),
            at(3),
        )
        .await;
    // Bar: 1 in instance eu; 2 then 1 (a rollback through record-deployment), then undeployed.
    old.record_deployment(bar, bar_1, production, Some("eu"), false, at(4))
        .await;
    old.record_deployment(bar, bar_2, production, None, false, at(4))
        .await;
    let bar_rollback = old
        .record_deployment(bar, bar_1, production, None, false, at(5))
        .await;
    old.undeploy(bar_rollback, at(6)).await;
    // Releases: Foo 3 supported, Foo 2 no longer.
    old.release(foo, foo_3, production, at(7), None).await;
    old.release(foo, foo_2, production, at(7), Some(at(8)))
        .await;
    // A deployment still going; a tag named after an environment.
    let started = old
        .ledger_deployment((foo, foo_3, production), "started", false, None, at(9))
        .await;
    old.record_deployment(foo, foo_3, test, None, true, at(10))
        .await;
    drop(old);

    // The new release opens it, migrating it.
    let store = treaty_store::open(&db.url, OpenOptions::default())
        .await
        .unwrap();
    let everything = store
        .ledger_deployments(LedgerFilter::default(), None)
        .await
        .unwrap()
        .items;
    // 7 deployed-version records (one of them the ledger's already), the
    // pipeline's rollback, 2 releases, the started deployment.
    assert_eq!(everything.len(), 10, "{everything:#?}");
    let find = |pacticipant: &str, version: &str, finished: DateTime<Utc>, kind: LedgerKind| {
        everything
            .iter()
            .find(|d| {
                d.pacticipant == pacticipant
                    && d.version == version
                    && d.kind == kind
                    && d.finished_at == Some(finished)
            })
            .unwrap_or_else(|| panic!("no {pacticipant} {version} at {finished}: {everything:#?}"))
    };
    let foo_1_first = find("Foo", "1", at(1), LedgerKind::Deployment);
    let foo_2_entry = find("Foo", "2", at(2), LedgerKind::Deployment);
    assert_eq!(
        foo_1_first.source_system.as_deref(),
        Some("pact-broker-api")
    );
    assert_eq!(
        (
            foo_1_first.ended_at,
            foo_1_first.end_reason,
            foo_1_first.replaced_by
        ),
        (Some(at(2)), Some(EndReason::Replaced), Some(foo_2_entry.id))
    );
    assert_eq!(
        (
            foo_2_entry.ended_at,
            foo_2_entry.end_reason,
            foo_2_entry.replaced_by
        ),
        (
            Some(at(3)),
            Some(EndReason::Replaced),
            Some(event_deployment)
        ),
        "replaced by the pipeline's rollback"
    );
    assert_eq!(foo_2_entry.events.len(), 1, "its completed event");
    let rollback = store
        .ledger_deployment(event_deployment)
        .await
        .unwrap()
        .unwrap();
    assert!(rollback.running() && rollback.rollback);
    let bar_back = find("Bar", "1", at(5), LedgerKind::Deployment);
    assert!(
        bar_back.rollback,
        "a rollback through record-deployment is flagged"
    );
    assert_eq!(
        (bar_back.ended_at, bar_back.end_reason),
        (Some(at(6)), Some(EndReason::Undeployed))
    );
    let released = find("Foo", "3", at(7), LedgerKind::Release);
    assert!(released.running());
    let ended = find("Foo", "2", at(7), LedgerKind::Release);
    assert_eq!(
        (ended.ended_at, ended.end_reason),
        (Some(at(8)), Some(EndReason::SupportEnded))
    );
    let tagged = find("Foo", "3", at(10), LedgerKind::Deployment);
    assert_eq!(tagged.source_system.as_deref(), Some("pact-broker-tag"));
    let open = store.ledger_deployment(started).await.unwrap().unwrap();
    assert_eq!((open.status.as_str(), open.ended_at), ("started", None));

    // What runs now agrees, in every view.
    let environment = store
        .environment_by_name("production")
        .await
        .unwrap()
        .unwrap();
    let mut pact_broker: Vec<(String, String, Option<String>)> = store
        .currently_deployed(&environment.uuid, DeployedFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.pacticipant, d.version, d.application_instance))
        .collect();
    pact_broker.sort();
    let mut ledger: Vec<(String, String, Option<String>)> = store
        .ledger_deployments(
            LedgerFilter {
                environment: Some("production".into()),
                running: true,
                kind: Some(LedgerKind::Deployment),
                ..LedgerFilter::default()
            },
            None,
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|d| (d.pacticipant, d.version, d.application_instance))
        .collect();
    ledger.sort();
    assert_eq!(ledger, pact_broker);
    assert_eq!(
        pact_broker,
        [
            ("Bar".to_owned(), "1".to_owned(), Some("eu".to_owned())),
            ("Foo".to_owned(), "1".to_owned(), None)
        ]
    );
    let now: Vec<(String, String)> = store
        .deployed_at("production", Utc::now())
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.pacticipant, d.version))
        .collect();
    assert_eq!(
        now,
        [
            ("Bar".to_owned(), "1".to_owned()),
            ("Foo".to_owned(), "1".to_owned())
        ]
    );
    // ... and what ran then, as the previous release answered it.
    let then: Vec<(String, String)> = store
        .deployed_at("production", at(2) + chrono::Duration::seconds(30))
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.pacticipant, d.version))
        .collect();
    assert_eq!(then, [("Foo".to_owned(), "2".to_owned())]);

    // A replica of the previous release, still running during the upgrade,
    // records a deployment its own way; recording it again takes it in.
    let old = Old::connect(&db.url).await;
    old.record_deployment(bar, bar_2, test, None, false, at(11))
        .await;
    drop(old);
    let again = store
        .record_deployment(NewDeployment {
            pacticipant: "Bar".into(),
            version: "2".into(),
            environment_uuid: store
                .environment_by_name("test")
                .await
                .unwrap()
                .unwrap()
                .uuid,
            ..NewDeployment::default()
        })
        .await
        .unwrap();
    assert!(again.currently_deployed);
    let taken_in = store
        .ledger_deployments(
            LedgerFilter {
                pacticipant: Some("Bar".into()),
                environment: Some("test".into()),
                running: true,
                ..LedgerFilter::default()
            },
            None,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(taken_in.len(), 1, "{taken_in:#?}");
    assert_eq!(taken_in[0].deployed_version, Some(again.uuid.clone()));

    // The migrated ledger goes on: a new deployment replaces the migrated one.
    store
        .record_deployment(NewDeployment {
            pacticipant: "Foo".into(),
            version: "2".into(),
            environment_uuid: environment.uuid.clone(),
            ..NewDeployment::default()
        })
        .await
        .unwrap();
    let rollback = store
        .ledger_deployment(event_deployment)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rollback.end_reason, Some(EndReason::Replaced));
    // And its history outlives a delete.
    assert!(store.delete_version("Foo", "1").await.unwrap());
    let kept = store
        .ledger_deployment(foo_1_first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (kept.pacticipant.as_str(), kept.version.as_str()),
        ("Foo", "1")
    );
}

/// An export made by the previous release holds Pact Broker records with no
/// ledger entry: importing it takes them in, as the migration does.
#[tokio::test]
async fn an_export_of_the_previous_release_imports_into_one_ledger() {
    use treaty_domain::{PacticipantName, VersionNumber};
    let source = TestDatabase::fresh().await.unwrap();
    let store = source.store.as_ref();
    let production = store
        .create_environment(
            None,
            treaty_domain::model::EnvironmentFields {
                name: treaty_domain::EnvironmentName::parse("production").unwrap(),
                display_name: None,
                production: true,
                contacts: None,
            },
        )
        .await
        .unwrap();
    for number in ["1", "2"] {
        store
            .put_version(
                &PacticipantName::parse("Foo").unwrap(),
                &VersionNumber::parse(number).unwrap(),
                treaty_store::VersionChanges::default(),
            )
            .await
            .unwrap();
        store
            .record_deployment(NewDeployment {
                pacticipant: "Foo".into(),
                version: number.into(),
                environment_uuid: production.uuid.clone(),
                ..NewDeployment::default()
            })
            .await
            .unwrap();
    }
    store
        .record_release("Foo", "1", &production.uuid, None)
        .await
        .unwrap();
    // The previous release's export: the same records, no ledger rows for them.
    let mut dump = store.export().await.unwrap();
    for table in ["deployments", "deployment_events"] {
        dump.0["tables"][table] = serde_json::json!([]);
    }

    let target = TestDatabase::fresh().await.unwrap();
    target.store.import(&dump, false).await.unwrap();
    let ledger = target
        .store
        .ledger_deployments(LedgerFilter::default(), None)
        .await
        .unwrap()
        .items;
    let summary: Vec<(String, LedgerKind, bool, Option<EndReason>)> = ledger
        .iter()
        .map(|d| (d.version.clone(), d.kind, d.running(), d.end_reason))
        .collect();
    assert_eq!(
        summary,
        [
            ("1".to_owned(), LedgerKind::Release, true, None),
            ("2".to_owned(), LedgerKind::Deployment, true, None),
            (
                "1".to_owned(),
                LedgerKind::Deployment,
                false,
                Some(EndReason::Replaced)
            ),
        ],
        "{ledger:#?}"
    );
    // A second import of a whole export adds nothing.
    let again = target.store.export().await.unwrap();
    let third = TestDatabase::fresh().await.unwrap();
    third.store.import(&again, false).await.unwrap();
    assert_eq!(
        third
            .store
            .ledger_deployments(LedgerFilter::default(), None)
            .await
            .unwrap()
            .items
            .len(),
        3
    );
}

//! Moving in from another broker (`crate::move_in`): each unit written with
//! the source's times and identities, and recorded in `moved_in`, in one
//! transaction. Deployments and releases go through the ledger
//! (`ledger.rs`), quietly: history that happened elsewhere announces nothing.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use treaty_domain::ledger::{Event, Status};
use treaty_domain::model::EndReason;

use super::ledger::{self, EntriesOf, Recorded, Subject};
use super::{Backend, Conn, now, sql};
use crate::move_in::{
    DeploymentStep, EnvironmentMove, MoveInStore, MovedBranchHeads, MovedEnvironment, MovedKey,
    MovedKind, MovedPact, MovedPacticipant, MovedRelease, MovedVerification, MovedVersions,
    MovedWebhook, VerificationsMoved,
};
use crate::{StoreError, StoreResult};

/// Records a unit as copied, in the transaction that copied it.
async fn remember(
    conn: &mut Conn,
    source: &str,
    kind: MovedKind,
    moved: &MovedKey,
) -> StoreResult<()> {
    sqlx::query(sql(
        "INSERT INTO moved_in (source, kind, source_key, fingerprint, moved_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (source, kind, source_key) DO UPDATE SET fingerprint = excluded.fingerprint, moved_at = excluded.moved_at",
    ))
    .bind(source)
    .bind(kind.as_str())
    .bind(&moved.key)
    .bind(&moved.fingerprint)
    .bind(now())
    .execute(conn)
    .await?;
    Ok(())
}

async fn pacticipant_id(conn: &mut Conn, name: &str) -> StoreResult<i64> {
    super::rows::pacticipant_id(conn, name)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("No pacticipant named '{name}' found")))
}

async fn version_id(
    conn: &mut Conn,
    pacticipant_id: i64,
    pacticipant: &str,
    number: &str,
) -> StoreResult<i64> {
    super::rows::version_id(conn, pacticipant_id, number)
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "No version '{number}' of pacticipant '{pacticipant}' found"
            ))
        })
}

/// The ids and names of a version in an environment named by uuid.
async fn subject(
    conn: &mut Conn,
    pacticipant: &str,
    version: &str,
    environment_uuid: &str,
) -> StoreResult<Subject> {
    let pacticipant_id = pacticipant_id(conn, pacticipant).await?;
    let version_id = version_id(conn, pacticipant_id, pacticipant, version).await?;
    let environment = sqlx::query(sql("SELECT id, name FROM environments WHERE uuid = ?"))
        .bind(environment_uuid)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "No environment with uuid '{environment_uuid}' found"
            ))
        })?;
    Ok(Subject {
        pacticipant_id,
        version_id,
        environment_id: environment.try_get("id")?,
        pacticipant: pacticipant.to_owned(),
        version: version.to_owned(),
        environment: environment.try_get("name")?,
    })
}

/// The integration of a pair: created at its first publication, its contract
/// data updated at its last one.
async fn touch_integration(
    conn: &mut Conn,
    consumer_id: i64,
    provider_id: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(sql(
        "INSERT INTO integrations (consumer_id, provider_id, created_at, contract_data_updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (consumer_id, provider_id) DO UPDATE SET
           created_at = CASE WHEN excluded.created_at < integrations.created_at THEN excluded.created_at ELSE integrations.created_at END,
           contract_data_updated_at = CASE WHEN excluded.contract_data_updated_at > integrations.contract_data_updated_at
             THEN excluded.contract_data_updated_at ELSE integrations.contract_data_updated_at END",
    ))
    .bind(consumer_id)
    .bind(provider_id)
    .bind(at)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether anything was ever deployed or released to the environment here.
async fn environment_has_history(conn: &mut Conn, id: i64) -> StoreResult<bool> {
    Ok(sqlx::query_scalar(sql(
        "SELECT EXISTS (SELECT 1 FROM deployments WHERE environment_id = ?)
           OR EXISTS (SELECT 1 FROM deployed_versions WHERE environment_id = ?)
           OR EXISTS (SELECT 1 FROM released_versions WHERE environment_id = ?)",
    ))
    .bind(id)
    .bind(id)
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// Sets a version's tags to `wanted`, keeping the times of those it has.
async fn sync_tags(
    conn: &mut Conn,
    pacticipant_id: i64,
    version_id: i64,
    wanted: &[String],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let have: Vec<String> = sqlx::query_scalar(sql("SELECT name FROM tags WHERE version_id = ?"))
        .bind(version_id)
        .fetch_all(&mut *conn)
        .await?;
    for gone in have.iter().filter(|t| !wanted.contains(t)) {
        sqlx::query(sql("DELETE FROM tags WHERE version_id = ? AND name = ?"))
            .bind(version_id)
            .bind(gone)
            .execute(&mut *conn)
            .await?;
    }
    for new in wanted.iter().filter(|t| !have.contains(t)) {
        sqlx::query(sql(
            "INSERT INTO tags (version_id, pacticipant_id, name, created_at) VALUES (?, ?, ?, ?)",
        ))
        .bind(version_id)
        .bind(pacticipant_id)
        .bind(new)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Sets the branches a version is on to `wanted` (branch name → id),
/// keeping the memberships it has.
async fn sync_branches(
    conn: &mut Conn,
    version_id: i64,
    wanted: &[String],
    branch_ids: &HashMap<String, i64>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let have: Vec<(i64, String)> = sqlx::query_as(sql(
        "SELECT b.id, b.name FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id WHERE bv.version_id = ?",
    ))
    .bind(version_id)
    .fetch_all(&mut *conn)
    .await?;
    for (branch_id, name) in &have {
        if !wanted.contains(name) {
            sqlx::query(sql(
                "DELETE FROM branch_versions WHERE branch_id = ? AND version_id = ?",
            ))
            .bind(branch_id)
            .bind(version_id)
            .execute(&mut *conn)
            .await?;
        }
    }
    for name in wanted {
        if have.iter().any(|(_, n)| n == name) {
            continue;
        }
        let Some(branch_id) = branch_ids.get(name) else {
            continue;
        };
        sqlx::query(sql(
            "INSERT INTO branch_versions (branch_id, version_id, auto_created, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        ))
        .bind(branch_id)
        .bind(version_id)
        .bind(false)
        .bind(at)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Creates (or dates as the source does) the branches named, by name → id.
async fn ensure_branches(
    conn: &mut Conn,
    pacticipant_id: i64,
    versions: &MovedVersions,
) -> StoreResult<HashMap<String, i64>> {
    let named: BTreeSet<&String> = versions
        .versions
        .iter()
        .flat_map(|v| v.branches.iter())
        .collect();
    let mut ids = HashMap::new();
    for name in named {
        let known = versions.branches.iter().find(|b| &b.name == name);
        // A branch the source's list did not show dates from its first version here.
        let first_version = versions
            .versions
            .iter()
            .find(|v| v.branches.contains(name))
            .map(|v| v.created_at);
        let created_at = known
            .map(|b| b.created_at)
            .or(first_version)
            .unwrap_or_else(now);
        let updated_at = known.map_or(created_at, |b| b.updated_at);
        let id: i64 = sqlx::query_scalar(sql(
            "INSERT INTO branches (pacticipant_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (pacticipant_id, name) DO UPDATE SET
               created_at = CASE WHEN excluded.created_at < branches.created_at THEN excluded.created_at ELSE branches.created_at END,
               updated_at = CASE WHEN excluded.updated_at > branches.updated_at THEN excluded.updated_at ELSE branches.updated_at END
             RETURNING id",
        ))
        .bind(pacticipant_id)
        .bind(name)
        .bind(created_at)
        .bind(updated_at)
        .fetch_one(&mut *conn)
        .await?;
        ids.insert(name.clone(), id);
    }
    Ok(ids)
}

/// The content a consumer version published for a provider, with the pair's ids.
async fn published_content(
    conn: &mut Conn,
    consumer: &str,
    provider: &str,
    consumer_version: &str,
) -> StoreResult<(i64, i64, i64)> {
    sqlx::query_as(sql(
        "SELECT pp.pact_content_id, pp.consumer_id, pp.provider_id FROM pact_publications pp
         JOIN pacticipants c ON c.id = pp.consumer_id JOIN pacticipants pr ON pr.id = pp.provider_id
         JOIN versions v ON v.id = pp.consumer_version_id AND v.pacticipant_id = c.id
         WHERE c.name = ? AND pr.name = ? AND v.number = ?",
    ))
    .bind(consumer)
    .bind(provider)
    .bind(consumer_version)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| {
        StoreError::NotFound(format!(
            "No pact between {consumer} version {consumer_version} and {provider} found"
        ))
    })
}

/// The provenance a copied ledger deployment keeps.
fn moved_from(source: &str) -> serde_json::Value {
    json!({ "moved_in_from": source })
}

#[async_trait]
impl MoveInStore for Backend {
    async fn moved_in(
        &self,
        source: &str,
        kind: MovedKind,
    ) -> StoreResult<HashMap<String, String>> {
        let rows: Vec<(String, String)> = sqlx::query_as(sql(
            "SELECT source_key, fingerprint FROM moved_in WHERE source = ? AND kind = ?",
        ))
        .bind(source)
        .bind(kind.as_str())
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().collect())
    }

    async fn move_in_environment(
        &self,
        source: &str,
        environment: &MovedEnvironment,
    ) -> StoreResult<EnvironmentMove> {
        let mut tx = self.begin().await?;
        let by_uuid: Option<i64> =
            sqlx::query_scalar(sql("SELECT id FROM environments WHERE uuid = ?"))
                .bind(&environment.uuid)
                .fetch_optional(&mut *tx)
                .await?;
        let by_name: Option<(i64, String)> =
            sqlx::query_as(sql("SELECT id, uuid FROM environments WHERE name = ?"))
                .bind(&environment.name)
                .fetch_optional(&mut *tx)
                .await?;
        let contacts = environment.contacts.as_ref().map(ToString::to_string);
        let outcome = match (by_uuid, by_name) {
            (Some(id), Some((other, other_uuid))) if other != id => {
                return Err(StoreError::Conflict(format!(
                    "the environment {} here has the name '{}' (uuid {other_uuid})",
                    environment.uuid, environment.name
                )));
            }
            (None, Some((id, uuid))) => {
                if environment_has_history(&mut tx, id).await? {
                    return Err(StoreError::Conflict(format!(
                        "an environment named '{}' exists here with another uuid ({uuid}) and has deployments: rename or delete it, then run again",
                        environment.name
                    )));
                }
                sqlx::query(sql("UPDATE environments SET uuid = ? WHERE id = ?"))
                    .bind(&environment.uuid)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                EnvironmentMove::TookOver {
                    previous_uuid: uuid,
                }
            }
            (Some(_), _) => EnvironmentMove::Updated,
            (None, None) => {
                sqlx::query(sql(
                    "INSERT INTO environments (uuid, name, display_name, production, contacts, created_at, updated_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                ))
                .bind(&environment.uuid)
                .bind(&environment.name)
                .bind(&environment.display_name)
                .bind(environment.production)
                .bind(&contacts)
                .bind(environment.created_at)
                .bind(environment.updated_at)
                .execute(&mut *tx)
                .await?;
                EnvironmentMove::Created
            }
        };
        if outcome != EnvironmentMove::Created {
            sqlx::query(sql(
                "UPDATE environments SET name = ?, display_name = ?, production = ?, contacts = ?, created_at = ?, updated_at = ?
                 WHERE uuid = ?",
            ))
            .bind(&environment.name)
            .bind(&environment.display_name)
            .bind(environment.production)
            .bind(&contacts)
            .bind(environment.created_at)
            .bind(environment.updated_at)
            .bind(&environment.uuid)
            .execute(&mut *tx)
            .await?;
        }
        remember(&mut tx, source, MovedKind::Environment, &environment.moved).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn move_in_pacticipant(
        &self,
        source: &str,
        pacticipant: &MovedPacticipant,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(sql(
            "INSERT INTO pacticipants (name, display_name, repository_url, repository_name, repository_namespace, main_branch,
               created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name, repository_url = excluded.repository_url,
               repository_name = excluded.repository_name, repository_namespace = excluded.repository_namespace,
               main_branch = excluded.main_branch, created_at = excluded.created_at, updated_at = excluded.updated_at
             RETURNING id",
        ))
        .bind(&pacticipant.name)
        .bind(&pacticipant.display_name)
        .bind(&pacticipant.repository_url)
        .bind(&pacticipant.repository_name)
        .bind(&pacticipant.repository_namespace)
        .bind(&pacticipant.main_branch)
        .bind(pacticipant.created_at)
        .bind(pacticipant.updated_at)
        .fetch_one(&mut *tx)
        .await?;
        let have: Vec<String> =
            sqlx::query_scalar(sql("SELECT name FROM labels WHERE pacticipant_id = ?"))
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        for gone in have.iter().filter(|l| !pacticipant.labels.contains(l)) {
            sqlx::query(sql(
                "DELETE FROM labels WHERE pacticipant_id = ? AND name = ?",
            ))
            .bind(id)
            .bind(gone)
            .execute(&mut *tx)
            .await?;
        }
        for new in pacticipant.labels.iter().filter(|l| !have.contains(l)) {
            sqlx::query(sql(
                "INSERT INTO labels (pacticipant_id, name, created_at) VALUES (?, ?, ?)",
            ))
            .bind(id)
            .bind(new)
            .bind(pacticipant.updated_at)
            .execute(&mut *tx)
            .await?;
        }
        remember(&mut tx, source, MovedKind::Pacticipant, &pacticipant.moved).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn move_in_versions(&self, source: &str, versions: &MovedVersions) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let pacticipant_id = pacticipant_id(&mut tx, &versions.pacticipant).await?;
        let branch_ids = ensure_branches(&mut tx, pacticipant_id, versions).await?;
        for version in &versions.versions {
            let existing =
                super::rows::version_id(&mut tx, pacticipant_id, &version.number).await?;
            let id = match existing {
                Some(id) => {
                    sqlx::query(sql(
                        "UPDATE versions SET build_url = ?, created_at = ?, updated_at = ? WHERE id = ?",
                    ))
                    .bind(&version.build_url)
                    .bind(version.created_at)
                    .bind(version.updated_at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    id
                }
                None => {
                    sqlx::query_scalar(sql(
                        "INSERT INTO versions (pacticipant_id, number, build_url, created_at, updated_at)
                         VALUES (?, ?, ?, ?, ?) RETURNING id",
                    ))
                    .bind(pacticipant_id)
                    .bind(&version.number)
                    .bind(&version.build_url)
                    .bind(version.created_at)
                    .bind(version.updated_at)
                    .fetch_one(&mut *tx)
                    .await?
                }
            };
            sync_tags(
                &mut tx,
                pacticipant_id,
                id,
                &version.tags,
                version.created_at,
            )
            .await?;
            sync_branches(
                &mut tx,
                id,
                &version.branches,
                &branch_ids,
                version.created_at,
            )
            .await?;
            remember(&mut tx, source, MovedKind::Version, &version.moved).await?;
        }
        // Until the source's heads are copied, a branch's head is its newest version.
        sqlx::query(sql(
            "UPDATE branches SET head_version_id = (SELECT max(bv.version_id) FROM branch_versions bv WHERE bv.branch_id = branches.id)
             WHERE pacticipant_id = ? AND head_version_id IS NULL",
        ))
        .bind(pacticipant_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn move_in_branch_heads(
        &self,
        source: &str,
        heads: &MovedBranchHeads,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let pacticipant_id = pacticipant_id(&mut tx, &heads.pacticipant).await?;
        for (branch, version) in &heads.heads {
            sqlx::query(sql(
                "UPDATE branches SET head_version_id = (
                   SELECT bv.version_id FROM branch_versions bv JOIN versions v ON v.id = bv.version_id
                   WHERE bv.branch_id = branches.id AND v.number = ?)
                 WHERE pacticipant_id = ? AND name = ?
                   AND EXISTS (SELECT 1 FROM branch_versions bv JOIN versions v ON v.id = bv.version_id
                     WHERE bv.branch_id = branches.id AND v.number = ?)",
            ))
            .bind(version)
            .bind(pacticipant_id)
            .bind(branch)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        }
        remember(&mut tx, source, MovedKind::BranchHeads, &heads.moved).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn move_in_pacts(&self, source: &str, pacts: &[MovedPact]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for pact in pacts {
            let consumer_id = pacticipant_id(&mut tx, &pact.consumer).await?;
            let provider_id = pacticipant_id(&mut tx, &pact.provider).await?;
            let version_id =
                version_id(&mut tx, consumer_id, &pact.consumer, &pact.consumer_version).await?;
            let content_id = super::pacts::store_content(
                &mut tx,
                consumer_id,
                provider_id,
                pact.content.clone(),
                pact.created_at,
            )
            .await?;
            let existing: Option<(i64, i64)> = sqlx::query_as(sql(
                "SELECT id, pact_content_id FROM pact_publications WHERE consumer_version_id = ? AND provider_id = ?",
            ))
            .bind(version_id)
            .bind(provider_id)
            .fetch_optional(&mut *tx)
            .await?;
            match existing {
                Some((id, previous)) => {
                    sqlx::query(sql(
                        "UPDATE pact_publications SET pact_content_id = ?, revision = revision + ?, created_at = ?, updated_at = ?
                         WHERE id = ?",
                    ))
                    .bind(content_id)
                    .bind(i64::from(previous != content_id))
                    .bind(pact.created_at)
                    .bind(pact.updated_at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query(sql(
                        "INSERT INTO pact_publications (consumer_id, provider_id, consumer_version_id, pact_content_id, created_at, updated_at)
                         VALUES (?, ?, ?, ?, ?, ?)",
                    ))
                    .bind(consumer_id)
                    .bind(provider_id)
                    .bind(version_id)
                    .bind(content_id)
                    .bind(pact.created_at)
                    .bind(pact.updated_at)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            touch_integration(&mut tx, consumer_id, provider_id, pact.created_at).await?;
            remember(&mut tx, source, MovedKind::Pact, &pact.moved).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn move_in_verifications(
        &self,
        source: &str,
        verifications: &[MovedVerification],
    ) -> StoreResult<VerificationsMoved> {
        let mut tx = self.begin().await?;
        let mut moved = VerificationsMoved::default();
        for verification in verifications {
            let (content_id, consumer_id, provider_id) = published_content(
                &mut tx,
                &verification.consumer,
                &verification.provider,
                &verification.consumer_version,
            )
            .await?;
            let provider_version_id = version_id(
                &mut tx,
                provider_id,
                &verification.provider,
                &verification.provider_version,
            )
            .await?;
            let taken: bool = sqlx::query_scalar(sql(
                "SELECT EXISTS (SELECT 1 FROM verifications WHERE id = ?)",
            ))
            .bind(verification.number)
            .fetch_one(&mut *tx)
            .await?;
            // The source's number when it is free here, so the result keeps its URL.
            let (id_column, id_value) = if taken {
                moved.renumbered += 1;
                ("", "")
            } else {
                ("id, ", "?, ")
            };
            let mut insert = sqlx::query(sql(format!(
                "INSERT INTO verifications ({id_column}pact_content_id, provider_version_id, consumer_id, provider_id, success,
                   build_url, test_results, verified_by, provider_version_tags, execution_date, wip)
                 VALUES ({id_value}?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            )));
            if !taken {
                insert = insert.bind(verification.number);
            }
            insert
                .bind(content_id)
                .bind(provider_version_id)
                .bind(consumer_id)
                .bind(provider_id)
                .bind(verification.success)
                .bind(&verification.build_url)
                .bind(verification.test_results.as_ref().map(ToString::to_string))
                .bind(verification.verified_by.as_ref().map(ToString::to_string))
                .bind(json!(verification.provider_version_tags).to_string())
                .bind(verification.execution_date)
                .bind(verification.wip)
                .execute(&mut *tx)
                .await?;
            touch_integration(
                &mut tx,
                consumer_id,
                provider_id,
                verification.execution_date,
            )
            .await?;
            remember(
                &mut tx,
                source,
                MovedKind::Verification,
                &verification.moved,
            )
            .await?;
            moved.copied += 1;
        }
        Backend::continue_ids_after_explicit(&mut tx, "verifications").await?;
        tx.commit().await?;
        Ok(moved)
    }

    async fn move_in_deployment(&self, source: &str, step: &DeploymentStep) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        match step {
            DeploymentStep::Deployed(deployment) => {
                let placed: bool = sqlx::query_scalar(sql(
                    "SELECT EXISTS (SELECT 1 FROM deployed_versions WHERE uuid = ?)",
                ))
                .bind(&deployment.uuid)
                .fetch_one(&mut *tx)
                .await?;
                if !placed {
                    let subject = subject(
                        &mut tx,
                        &deployment.pacticipant,
                        &deployment.version,
                        &deployment.environment_uuid,
                    )
                    .await?;
                    let event = Event {
                        pacticipant: subject.pacticipant.clone(),
                        version: subject.version.clone(),
                        environment: subject.environment.clone(),
                        status: Some(Status::Completed),
                        application_instance: deployment.application_instance.clone(),
                        source_system: Some("pact-broker-api".to_owned()),
                        extra_metadata: Some(moved_from(source)),
                        ..Event::default()
                    };
                    let recorded = Recorded {
                        uuid: Some(deployment.uuid.clone()),
                        quiet: true,
                        ..Recorded::default()
                    };
                    ledger::apply_event(
                        &mut tx,
                        &event,
                        &subject,
                        &recorded,
                        deployment.created_at,
                    )
                    .await?;
                }
                remember(&mut tx, source, MovedKind::Deployment, &deployment.moved).await?;
            }
            DeploymentStep::Undeployed(deployment) => {
                let at = deployment.undeployed_at.unwrap_or(deployment.created_at);
                let copied: bool = sqlx::query_scalar(sql(
                    "SELECT EXISTS (SELECT 1 FROM deployed_versions WHERE uuid = ?)",
                ))
                .bind(&deployment.uuid)
                .fetch_one(&mut *tx)
                .await?;
                if !copied {
                    return Err(StoreError::NotFound(format!(
                        "the deployment {} was not copied, so its end cannot be",
                        deployment.uuid
                    )));
                }
                let undeployed: Option<i64> = sqlx::query_scalar(sql(
                    "UPDATE deployed_versions SET undeployed_at = ?, updated_at = ? WHERE uuid = ? AND undeployed_at IS NULL
                     RETURNING id",
                ))
                .bind(at)
                .bind(at)
                .bind(&deployment.uuid)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(id) = undeployed {
                    ledger::end_running(
                        &mut tx,
                        EntriesOf::DeployedVersion(id),
                        EndReason::Undeployed,
                        at,
                    )
                    .await?;
                    sqlx::query(sql(
                        "DELETE FROM currently_deployed WHERE deployed_version_id = ?",
                    ))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                remember(&mut tx, source, MovedKind::Deployment, &deployment.moved).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn move_in_release(&self, source: &str, release: &MovedRelease) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let subject = subject(
            &mut tx,
            &release.pacticipant,
            &release.version,
            &release.environment_uuid,
        )
        .await?;
        let existing: Option<(i64, Option<DateTime<Utc>>)> = sqlx::query_as(sql(
            "SELECT id, support_ended_at FROM released_versions WHERE uuid = ? OR (version_id = ? AND environment_id = ?)",
        ))
        .bind(&release.uuid)
        .bind(subject.version_id)
        .bind(subject.environment_id)
        .fetch_optional(&mut *tx)
        .await?;
        let recorded = Recorded {
            quiet: true,
            ..Recorded::default()
        };
        let (id, ended) = match existing {
            Some(found) => found,
            None => {
                let id: i64 = sqlx::query_scalar(sql(
                    "INSERT INTO released_versions (uuid, version_id, pacticipant_id, environment_id, created_at, updated_at)
                     VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                ))
                .bind(&release.uuid)
                .bind(subject.version_id)
                .bind(subject.pacticipant_id)
                .bind(subject.environment_id)
                .bind(release.created_at)
                .bind(release.created_at)
                .fetch_one(&mut *tx)
                .await?;
                ledger::record_release_entry(
                    &mut tx,
                    &subject,
                    id,
                    None,
                    &recorded,
                    release.created_at,
                )
                .await?;
                (id, None)
            }
        };
        match (ended, release.support_ended_at) {
            (None, Some(at)) => {
                sqlx::query(sql(
                    "UPDATE released_versions SET support_ended_at = ?, updated_at = ? WHERE id = ?",
                ))
                .bind(at)
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                ledger::end_running(
                    &mut tx,
                    EntriesOf::ReleasedVersion(id),
                    EndReason::SupportEnded,
                    at,
                )
                .await?;
            }
            // Recorded again at the source since its support ended: supported again.
            (Some(_), None) => {
                sqlx::query(sql(
                    "UPDATE released_versions SET support_ended_at = NULL, updated_at = ? WHERE id = ?",
                ))
                .bind(release.updated_at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                ledger::record_release_entry(
                    &mut tx,
                    &subject,
                    id,
                    None,
                    &recorded,
                    release.updated_at,
                )
                .await?;
            }
            _ => {}
        }
        remember(&mut tx, source, MovedKind::Release, &release.moved).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn move_in_webhook(&self, source: &str, webhook: &MovedWebhook) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let definition = &webhook.definition;
        let consumer_id =
            super::webhooks::pacticipant_id(&mut tx, &definition.consumer, "consumer").await?;
        let provider_id =
            super::webhooks::pacticipant_id(&mut tx, &definition.provider, "provider").await?;
        let request = super::webhooks::request_json(&definition.request).to_string();
        let events = json!(definition.events).to_string();
        let missing = (!webhook.secrets_to_reenter.is_empty())
            .then(|| json!(webhook.secrets_to_reenter).to_string());
        // A webhook changed here since it was moved in (its secrets given,
        // say) is not overwritten by the source's masked copy.
        let changed_here: bool = sqlx::query_scalar(sql(
            "SELECT EXISTS (SELECT 1 FROM webhooks w JOIN moved_in m ON m.source = ? AND m.kind = ? AND m.source_key = w.uuid
               WHERE w.uuid = ? AND w.updated_at > m.moved_at)",
        ))
        .bind(source)
        .bind(MovedKind::Webhook.as_str())
        .bind(&webhook.uuid)
        .fetch_one(&mut *tx)
        .await?;
        if !changed_here {
            sqlx::query(sql(
                "INSERT INTO webhooks (uuid, description, consumer_id, consumer_label, provider_id, provider_label, enabled,
                   request, events, created_at, updated_at, secrets_to_reenter) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (uuid) DO UPDATE SET description = excluded.description, consumer_id = excluded.consumer_id,
                   consumer_label = excluded.consumer_label, provider_id = excluded.provider_id,
                   provider_label = excluded.provider_label, enabled = excluded.enabled, request = excluded.request,
                   events = excluded.events, created_at = excluded.created_at, updated_at = excluded.updated_at,
                   secrets_to_reenter = excluded.secrets_to_reenter",
            ))
            .bind(&webhook.uuid)
            .bind(&definition.description)
            .bind(consumer_id)
            .bind(super::webhooks::label(&definition.consumer))
            .bind(provider_id)
            .bind(super::webhooks::label(&definition.provider))
            .bind(definition.enabled)
            .bind(&request)
            .bind(&events)
            .bind(webhook.created_at)
            .bind(webhook.updated_at)
            .bind(&missing)
            .execute(&mut *tx)
            .await?;
        }
        remember(&mut tx, source, MovedKind::Webhook, &webhook.moved).await?;
        tx.commit().await?;
        Ok(())
    }
}

use async_trait::async_trait;
use sqlx::Row;
use treaty_domain::model::{NewVerification, Verification};

use super::pacts::touch_integration;
use super::rows::{self, split_list};
use super::webhooks;
use super::{Backend, Conn, DbRow, now, sql};
use crate::{PairVerificationFacts, StoreError, StoreResult, VerificationStore};
use treaty_domain::integration_status::VerificationFacts;

const VERIFICATION_SELECT: &str = "
SELECT vr.id, c.name AS consumer, pr.name AS provider, pc.sha, pv.number AS provider_version,
  (SELECT cv.number FROM pact_publications pp JOIN versions cv ON cv.id = pp.consumer_version_id
     WHERE pp.pact_content_id = vr.pact_content_id ORDER BY pp.consumer_version_id DESC LIMIT 1) AS pact_consumer_version,
  vr.success, vr.build_url, vr.test_results, vr.verified_by, vr.provider_version_tags, vr.execution_date,
  (SELECT string_agg(b.name, '\u{1f}' ORDER BY bv.id) FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id
     WHERE bv.version_id = pv.id) AS branch_list
FROM verifications vr
JOIN pact_contents pc ON pc.id = vr.pact_content_id
JOIN pacticipants c ON c.id = vr.consumer_id
JOIN pacticipants pr ON pr.id = vr.provider_id
JOIN versions pv ON pv.id = vr.provider_version_id";

/// The newest verification of publication `pp`'s pact, as the newer of
/// the newest success and the newest failure: each is read backwards from
/// the end of the (content, success, id) index (written as `ORDER BY ...
/// LIMIT 1`, which PostgreSQL also reads that way, where `max()` with the
/// provider's filter made it aggregate them all), where the newest of all would read every
/// verification of the content (15,000 for a pact unchanged for months).
/// The version is found from its pacticipant and number first (FROM
/// versions), so that the planner reaches the publications through
/// `consumer_version_id` and not through every publication of the consumer.
const NEWEST_OF_EACH_OUTCOME: &str = "
SELECT (SELECT x.id FROM verifications x
         WHERE x.pact_content_id = pp.pact_content_id AND x.success = TRUE AND x.provider_id = pp.provider_id
         ORDER BY x.id DESC LIMIT 1) AS id
UNION ALL
SELECT (SELECT x.id FROM verifications x
         WHERE x.pact_content_id = pp.pact_content_id AND x.success = FALSE AND x.provider_id = pp.provider_id
         ORDER BY x.id DESC LIMIT 1)";

/// Integration status facts of the verifications `{chosen}` selects (with
/// columns `id`, `pact_content_id`, `consumer_id`, `provider_id`,
/// `provider_version_id`, `success`, `wip`, `execution_date`, `branch_id`).
/// Binds: `true` twice, then `{chosen}`'s.
fn facts_select(chosen: &str) -> String {
    format!(
        "SELECT c.name AS consumer, pr.name AS provider, v.id, pv.number AS provider_version, v.success, v.wip,
           v.execution_date, b.name AS branch, b.created_at AS branch_created_at,
           (SELECT e.id FROM verifications e JOIN branch_versions ebv ON ebv.version_id = e.provider_version_id
              WHERE e.pact_content_id = v.pact_content_id AND e.id < v.id AND e.success = ? AND ebv.branch_id = v.branch_id
              LIMIT 1) AS earlier_success_on_branch,
           (SELECT e.execution_date FROM verifications e
              WHERE e.pact_content_id = v.pact_content_id AND e.id < v.id AND e.success = ? AND NOT e.wip
              ORDER BY e.id LIMIT 1) AS first_earlier_success_at
         FROM ({chosen}) v
         JOIN pacticipants c ON c.id = v.consumer_id
         JOIN pacticipants pr ON pr.id = v.provider_id
         JOIN versions pv ON pv.id = v.provider_version_id
         LEFT JOIN branches b ON b.id = v.branch_id
         ORDER BY c.name, pr.name, v.id DESC, b.name"
    )
}

const CHOSEN_COLUMNS: &str =
    "vr.id, vr.pact_content_id, vr.consumer_id, vr.provider_id, vr.provider_version_id,
  vr.success, vr.wip, vr.execution_date, bv.branch_id";

fn facts_from_row(row: &DbRow) -> StoreResult<PairVerificationFacts> {
    let earlier: Option<i64> = row.try_get("earlier_success_on_branch")?;
    Ok(PairVerificationFacts {
        consumer: row.try_get("consumer")?,
        provider: row.try_get("provider")?,
        facts: VerificationFacts {
            number: row.try_get("id")?,
            provider_version: row.try_get("provider_version")?,
            branch: row.try_get("branch")?,
            branch_created_at: row.try_get("branch_created_at")?,
            success: row.try_get("success")?,
            wip: row.try_get("wip")?,
            verified_at: row.try_get("execution_date")?,
            earlier_success_on_branch: earlier.is_some(),
            first_earlier_success_at: row.try_get("first_earlier_success_at")?,
        },
    })
}

fn json_column(row: &DbRow, column: &str) -> StoreResult<Option<serde_json::Value>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|text| {
        serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("stored {column} is not JSON: {e}")))
    })
    .transpose()
}

fn verification_from_row(row: &DbRow) -> StoreResult<Verification> {
    let branches: Option<String> = row.try_get("branch_list")?;
    let tags = json_column(row, "provider_version_tags")?;
    Ok(Verification {
        number: row.try_get("id")?,
        consumer: row.try_get("consumer")?,
        provider: row.try_get("provider")?,
        sha: row.try_get("sha")?,
        // A content no publication names any more (its versions deleted)
        // keeps its verifications; they name no consumer version.
        pact_consumer_version: row
            .try_get::<Option<String>, _>("pact_consumer_version")?
            .unwrap_or_default(),
        provider_version: row.try_get("provider_version")?,
        provider_version_branches: split_list(branches.as_deref())
            .into_iter()
            .map(str::to_owned)
            .collect(),
        provider_version_tags: tags
            .and_then(|tags| serde_json::from_value(tags).ok())
            .unwrap_or_default(),
        success: row.try_get("success")?,
        build_url: row.try_get("build_url")?,
        test_results: json_column(row, "test_results")?,
        verified_by: json_column(row, "verified_by")?,
        execution_date: row.try_get("execution_date")?,
    })
}

async fn load(conn: &mut Conn, id: i64) -> StoreResult<Verification> {
    let row = sqlx::query(sql(format!("{VERIFICATION_SELECT} WHERE vr.id = ?")))
        .bind(id)
        .fetch_one(conn)
        .await?;
    verification_from_row(&row)
}

#[async_trait]
impl VerificationStore for Backend {
    async fn publish_verification_of(
        &self,
        consumer: &str,
        provider: &str,
        sha: &str,
        verification: NewVerification,
        wip: bool,
    ) -> StoreResult<Option<Verification>> {
        let at = now();
        let mut tx = self.begin().await?;
        let content = sqlx::query(sql("SELECT pc.id, pc.consumer_id, pc.provider_id FROM pact_contents pc
             JOIN pacticipants c ON c.id = pc.consumer_id JOIN pacticipants pr ON pr.id = pc.provider_id
             WHERE c.name = ? AND pr.name = ? AND pc.sha = ?"),
        )
        .bind(consumer)
        .bind(provider)
        .bind(sha)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(content) = content else {
            return Ok(None);
        };
        let content_id: i64 = content.try_get("id")?;
        let consumer_id: i64 = content.try_get("consumer_id")?;
        let provider_id: i64 = content.try_get("provider_id")?;
        let (version_id, _) = rows::ensure_version_on_the_way(
            &mut tx,
            provider_id,
            verification.provider_version.as_str(),
            at,
        )
        .await?;
        // Tags are snapshotted: what the version carried when it verified.
        let tags: Vec<String> = sqlx::query_scalar(sql(
            "SELECT name FROM tags WHERE version_id = ? ORDER BY created_at, name",
        ))
        .bind(version_id)
        .fetch_all(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar(sql("INSERT INTO verifications (pact_content_id, provider_version_id, consumer_id, provider_id, success,
               build_url, test_results, verified_by, provider_version_tags, execution_date, wip)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"),
        )
        .bind(content_id)
        .bind(version_id)
        .bind(consumer_id)
        .bind(provider_id)
        .bind(verification.success)
        .bind(&verification.build_url)
        .bind(verification.test_results.as_ref().map(ToString::to_string))
        .bind(verification.verified_by.as_ref().map(ToString::to_string))
        .bind(serde_json::Value::from(tags).to_string())
        .bind(at)
        .bind(wip)
        .fetch_one(&mut *tx)
        .await?;
        touch_integration(&mut tx, consumer_id, provider_id, at).await?;
        let outcome_event = if verification.success {
            "provider_verification_succeeded"
        } else {
            "provider_verification_failed"
        };
        let events = ["provider_verification_published", outcome_event];
        if webhooks::anyone_listens_to(&mut tx, &events).await? {
            let context = webhooks::verification_context(&mut tx, id).await?;
            for event in events {
                let scope = webhooks::Scope::Pair {
                    consumer_id,
                    provider_id,
                };
                webhooks::enqueue(&mut tx, event, scope, &context, at).await?;
            }
        }
        let stored = load(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Some(stored))
    }

    async fn verification(
        &self,
        consumer: &str,
        provider: &str,
        sha: &str,
        number: Option<i64>,
    ) -> StoreResult<Option<Verification>> {
        let mut statement =
            format!("{VERIFICATION_SELECT} WHERE c.name = ? AND pr.name = ? AND pc.sha = ?");
        if number.is_some() {
            statement.push_str(" AND vr.id = ?");
        }
        statement.push_str(" ORDER BY vr.id DESC LIMIT 1");
        let mut query = sqlx::query(sql(statement))
            .bind(consumer)
            .bind(provider)
            .bind(sha);
        if let Some(number) = number {
            query = query.bind(number);
        }
        let row = query.fetch_optional(self.reader()).await?;
        row.as_ref().map(verification_from_row).transpose()
    }

    async fn delete_verification(
        &self,
        consumer: &str,
        provider: &str,
        sha: &str,
        number: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query(sql("DELETE FROM verifications WHERE id = ? AND id IN (
               SELECT vr.id FROM verifications vr
               JOIN pact_contents pc ON pc.id = vr.pact_content_id
               JOIN pacticipants c ON c.id = vr.consumer_id JOIN pacticipants pr ON pr.id = vr.provider_id
               WHERE vr.id = ? AND c.name = ? AND pr.name = ? AND pc.sha = ?)"))
        .bind(number)
        .bind(number)
        .bind(consumer)
        .bind(provider)
        .bind(sha)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn latest_verifications_for_consumer_version(
        &self,
        consumer: &str,
        version: &str,
    ) -> StoreResult<Vec<Verification>> {
        let statement = format!(
            "{VERIFICATION_SELECT} WHERE vr.id IN (
               SELECT (SELECT max(newest.id) FROM ({NEWEST_OF_EACH_OUTCOME}) AS newest)
               FROM versions cv JOIN pacticipants cp ON cp.id = cv.pacticipant_id
               JOIN pact_publications pp ON pp.consumer_version_id = cv.id
               WHERE cp.name = ? AND cv.number = ?)
             ORDER BY lower(pr.name)"
        );
        let rows = sqlx::query(sql(statement))
            .bind(consumer)
            .bind(version)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(verification_from_row).collect()
    }

    async fn integration_verification_facts(
        &self,
        consumer: Option<&str>,
        provider: Option<&str>,
    ) -> StoreResult<Vec<PairVerificationFacts>> {
        // One row per verification and branch of its provider version; the
        // newest of each pair and branch (versions on no branch together).
        let chosen = format!(
            "SELECT * FROM (SELECT {CHOSEN_COLUMNS},
                 ROW_NUMBER() OVER (PARTITION BY vr.consumer_id, vr.provider_id, bv.branch_id ORDER BY vr.id DESC) AS row_rank
               FROM verifications vr LEFT JOIN branch_versions bv ON bv.version_id = vr.provider_version_id
               WHERE (? IS NULL OR vr.consumer_id = (SELECT id FROM pacticipants WHERE name = ?))
                 AND (? IS NULL OR vr.provider_id = (SELECT id FROM pacticipants WHERE name = ?))) ranked
             WHERE row_rank = 1"
        );
        let rows = sqlx::query(sql(facts_select(&chosen)))
            .bind(true)
            .bind(true)
            .bind(consumer)
            .bind(consumer)
            .bind(provider)
            .bind(provider)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(facts_from_row).collect()
    }

    async fn verification_facts(&self, numbers: &[i64]) -> StoreResult<Vec<PairVerificationFacts>> {
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        // Numbers are integers, so they go in the text; the text changes
        // with the list, so it is not kept prepared.
        let list = numbers
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let chosen = format!(
            "SELECT {CHOSEN_COLUMNS} FROM verifications vr
               LEFT JOIN branch_versions bv ON bv.version_id = vr.provider_version_id
             WHERE vr.id IN ({list})"
        );
        let rows = sqlx::query(sql(facts_select(&chosen)))
            .persistent(false)
            .bind(true)
            .bind(true)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(facts_from_row).collect()
    }
}

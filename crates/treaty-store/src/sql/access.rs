//! API tokens and the audit log.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use treaty_domain::access::{AuditEntry, AuditKey, COMMITTED, Role, audit_hash};
use treaty_domain::model::{Page, PageInfo, PageRequest};

use super::{Backend, Conn, DbRow, now, sql};
use crate::{AccessStore, ApiToken, AuditHead, NewAuditEntry, StoreError, StoreResult};

const TOKEN_SELECT: &str = "SELECT id, name, role, pacticipants, expires_at, revoked_at, created_by, created_at FROM api_tokens";

fn token_from_row(row: &DbRow) -> StoreResult<ApiToken> {
    let role: String = row.try_get("role")?;
    let pacticipants: Option<String> = row.try_get("pacticipants")?;
    Ok(ApiToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown stored role {role}")))?,
        pacticipants: pacticipants.and_then(|p| serde_json::from_str(&p).ok()),
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

const AUDIT_SELECT: &str = "SELECT id, at, actor, address, method, target, status, summary, previous_hash, hash, keyed FROM audit_log";

fn audit_from_row(row: &DbRow) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        address: row.try_get("address")?,
        method: row.try_get("method")?,
        target: row.try_get("target")?,
        status: u16::try_from(row.try_get::<i64, _>("status")?).unwrap_or(0),
        summary: row.try_get("summary")?,
        previous_hash: row.try_get("previous_hash")?,
        hash: row.try_get("hash")?,
        keyed: row.try_get("keyed")?,
    })
}

/// Appends entries after the last one, each sealed with `key` to the one
/// before. Callers hold the write lock (every write transaction does), so
/// each append sees the true last hash. `committed`: the entries record the
/// write of the transaction they are appended in (their status says so).
pub(crate) async fn append_entries(
    conn: &mut Conn,
    key: &AuditKey,
    entries: &[NewAuditEntry],
    committed: bool,
) -> StoreResult<Vec<AuditEntry>> {
    let last: Option<(i64, String)> = sqlx::query_as(sql(
        "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1",
    ))
    .fetch_optional(&mut *conn)
    .await?;
    let (mut last_id, mut previous_hash) = last.unwrap_or((0, String::new()));
    let at = now();
    let mut appended = Vec::with_capacity(entries.len());
    for entry in entries {
        let mut stored = AuditEntry {
            id: last_id + 1,
            at,
            actor: entry.actor.clone(),
            address: entry.address.clone(),
            method: entry.method.clone(),
            target: entry.target.clone(),
            status: if committed { COMMITTED } else { entry.status },
            summary: entry.summary.clone(),
            previous_hash: previous_hash.clone(),
            hash: String::new(),
            keyed: true,
        };
        stored.hash = audit_hash(key, &stored.previous_hash, &stored);
        sqlx::query(sql(
            "INSERT INTO audit_log (id, at, actor, address, method, target, status, summary, previous_hash, hash, keyed)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(stored.id)
        .bind(stored.at)
        .bind(&stored.actor)
        .bind(&stored.address)
        .bind(&stored.method)
        .bind(&stored.target)
        .bind(i64::from(stored.status))
        .bind(&stored.summary)
        .bind(&stored.previous_hash)
        .bind(&stored.hash)
        .bind(stored.keyed)
        .execute(&mut *conn)
        .await?;
        last_id = stored.id;
        previous_hash.clone_from(&stored.hash);
        appended.push(stored);
    }
    Ok(appended)
}

#[async_trait]
impl AccessStore for Backend {
    async fn create_token(
        &self,
        name: &str,
        token_hash: &str,
        role: Role,
        pacticipants: Option<&[String]>,
        expires_at: Option<DateTime<Utc>>,
        created_by: Option<&str>,
    ) -> StoreResult<ApiToken> {
        let mut tx = self.begin().await?;
        let taken: Option<i64> =
            sqlx::query_scalar(sql("SELECT id FROM api_tokens WHERE name = ?"))
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "A token named '{name}' exists already: choose another name, or revoke it first"
            )));
        }
        let id: i64 = sqlx::query_scalar(sql(
            "INSERT INTO api_tokens (name, token_hash, role, pacticipants, expires_at, created_by, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        ))
        .bind(name)
        .bind(token_hash)
        .bind(role.as_str())
        .bind(pacticipants.map(|p| json!(p).to_string()))
        .bind(expires_at)
        .bind(created_by)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        let row = sqlx::query(sql(format!("{TOKEN_SELECT} WHERE id = ?")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let token = token_from_row(&row)?;
        tx.commit().await?;
        Ok(token)
    }

    async fn tokens(&self) -> StoreResult<Vec<ApiToken>> {
        let mut conn = self.reader().acquire().await?;
        let rows = sqlx::query(sql(format!("{TOKEN_SELECT} ORDER BY id")))
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn token_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiToken>> {
        let mut conn = self.reader().acquire().await?;
        let row = sqlx::query(sql(format!("{TOKEN_SELECT} WHERE token_hash = ?")))
            .bind(token_hash)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn revoke_token(&self, name: &str) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let revoked = sqlx::query(sql(
            "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
        ))
        .bind(now())
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(revoked > 0)
    }

    async fn append_audit_entries(
        &self,
        key: &AuditKey,
        entries: &[NewAuditEntry],
    ) -> StoreResult<Vec<AuditEntry>> {
        let mut tx = self.begin_unaudited().await?;
        let appended = append_entries(&mut tx, key, entries, false).await?;
        tx.commit().await?;
        Ok(appended)
    }

    async fn audit_entries(
        &self,
        actor: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<AuditEntry>> {
        let mut conn = self.reader().acquire().await?;
        let rows = sqlx::query(sql(format!(
            "{AUDIT_SELECT} WHERE (? IS NULL OR actor = ?) ORDER BY id DESC LIMIT {} OFFSET {}",
            page.size,
            page.offset()
        )))
        .bind(actor)
        .bind(actor)
        .fetch_all(&mut *conn)
        .await?;
        let total: i64 = sqlx::query_scalar(sql(
            "SELECT count(*) FROM audit_log WHERE (? IS NULL OR actor = ?)",
        ))
        .bind(actor)
        .bind(actor)
        .fetch_one(&mut *conn)
        .await?;
        Ok(Page {
            items: rows
                .iter()
                .map(audit_from_row)
                .collect::<StoreResult<_>>()?,
            page: Some(PageInfo {
                number: page.number,
                size: page.size,
                total_elements: u64::try_from(total).unwrap_or(0),
            }),
        })
    }

    async fn audit_chain(&self, from_hash: Option<&str>) -> StoreResult<Vec<AuditEntry>> {
        let mut conn = self.reader().acquire().await?;
        let rows = match from_hash {
            None => {
                sqlx::query(sql(format!("{AUDIT_SELECT} ORDER BY id")))
                    .fetch_all(&mut *conn)
                    .await?
            }
            Some(hash) => {
                sqlx::query(sql(format!(
                    "{AUDIT_SELECT} WHERE id >= (SELECT min(id) FROM audit_log WHERE hash = ?) ORDER BY id"
                )))
                .bind(hash)
                .fetch_all(&mut *conn)
                .await?
            }
        };
        rows.iter().map(audit_from_row).collect()
    }

    async fn audit_head(&self) -> StoreResult<AuditHead> {
        let mut conn = self.reader().acquire().await?;
        let newest = sqlx::query(sql(format!("{AUDIT_SELECT} ORDER BY id DESC LIMIT 1")))
            .fetch_optional(&mut *conn)
            .await?;
        let entries: i64 = sqlx::query_scalar(sql("SELECT count(*) FROM audit_log"))
            .fetch_one(&mut *conn)
            .await?;
        let holds_records: bool = sqlx::query_scalar(sql(
            "SELECT EXISTS (SELECT 1 FROM pacticipants) OR EXISTS (SELECT 1 FROM environments) OR EXISTS (SELECT 1 FROM webhooks)",
        ))
        .fetch_one(&mut *conn)
        .await?;
        Ok(AuditHead {
            entries: u64::try_from(entries).unwrap_or(0),
            newest: newest.as_ref().map(audit_from_row).transpose()?,
            holds_records,
        })
    }
}

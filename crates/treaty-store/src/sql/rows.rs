//! Shared reads and writes used by several areas: finding or creating
//! pacticipants and versions, and loading versions with branches and tags.

use chrono::{DateTime, Utc};
use sqlx::Row;
use treaty_domain::model::{BranchMembership, MAIN_BRANCH_CANDIDATES, Version};

use super::{Conn, DbRow, sql};
use crate::read::Columns;
use crate::{StoreError, StoreResult};

/// Separators for aggregated lists: names cannot contain control characters.
pub(crate) const ITEM_SEP: char = '\u{1f}';
pub(crate) const FIELD_SEP: char = '\u{1e}';

pub(crate) async fn pacticipant_id(conn: &mut Conn, name: &str) -> StoreResult<Option<i64>> {
    Ok(
        sqlx::query_scalar(sql("SELECT id FROM pacticipants WHERE name = ?"))
            .bind(name)
            .fetch_optional(conn)
            .await?,
    )
}

/// Finds or creates a pacticipant; the flag is true when created.
pub(crate) async fn ensure_pacticipant(
    conn: &mut Conn,
    name: &str,
    now: DateTime<Utc>,
) -> StoreResult<(i64, bool)> {
    if let Some(id) = pacticipant_id(conn, name).await? {
        return Ok((id, false));
    }
    let id = sqlx::query_scalar(sql("INSERT INTO pacticipants (name, display_name, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id"),
    )
    .bind(name)
    .bind(treaty_domain::display_name::generate(name))
    .bind(now)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok((id, true))
}

pub(crate) async fn version_id(
    conn: &mut Conn,
    pacticipant_id: i64,
    number: &str,
) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar(sql(
        "SELECT id FROM versions WHERE pacticipant_id = ? AND number = ?",
    ))
    .bind(pacticipant_id)
    .bind(number)
    .fetch_optional(conn)
    .await?)
}

/// The id of a version named by pacticipant and number, if both exist.
pub(crate) async fn find_version_id(
    conn: &mut Conn,
    pacticipant: &str,
    number: &str,
) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar(sql("SELECT v.id FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id WHERE p.name = ? AND v.number = ?"),
    )
    .bind(pacticipant)
    .bind(number)
    .fetch_optional(conn)
    .await?)
}

/// Finds or creates a version; the flag is true when created.
pub(crate) async fn ensure_version(
    conn: &mut Conn,
    pacticipant_id: i64,
    number: &str,
    now: DateTime<Utc>,
) -> StoreResult<(i64, bool)> {
    if let Some(id) = version_id(conn, pacticipant_id, number).await? {
        return Ok((id, false));
    }
    let id = sqlx::query_scalar(sql("INSERT INTO versions (pacticipant_id, number, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id"),
    )
    .bind(pacticipant_id)
    .bind(number)
    .bind(now)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok((id, true))
}

/// Finds or creates a version needed on the way to something else (a tag, a
/// branch, a verification, a pact put at its URL). The Pact Broker reads the
/// clock twice when it makes such a version, so its clients see it with an
/// `updatedAt`; Treaty records it the same way.
pub(crate) async fn ensure_version_on_the_way(
    conn: &mut Conn,
    pacticipant_id: i64,
    number: &str,
    now: DateTime<Utc>,
) -> StoreResult<(i64, bool)> {
    let (id, created) = ensure_version(&mut *conn, pacticipant_id, number, now).await?;
    if created {
        sqlx::query(sql("UPDATE versions SET updated_at = ? WHERE id = ?"))
            .bind(just_after(now))
            .bind(id)
            .execute(conn)
            .await?;
    }
    Ok((id, created))
}

/// A moment strictly after `at`: the time of an update made in the same
/// request as a creation at `at`, so that the record reads as updated (the
/// Pact Broker shows `updatedAt` only on records changed after creation).
pub(crate) fn just_after(at: DateTime<Utc>) -> DateTime<Utc> {
    super::now().max(at + chrono::Duration::microseconds(1))
}

/// Sets the pacticipant's main branch when it has none and `name` is one of
/// the conventional main branch names (as the Pact Broker auto-detects it);
/// that is an update of the pacticipant, so its `updated_at` moves.
pub(crate) async fn detect_main_branch(
    conn: &mut Conn,
    pacticipant_id: i64,
    name: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    if MAIN_BRANCH_CANDIDATES.contains(&name) {
        sqlx::query(sql(
            "UPDATE pacticipants SET main_branch = ?, updated_at = ? WHERE id = ? AND main_branch IS NULL",
        ))
        .bind(name)
        .bind(just_after(at))
        .bind(pacticipant_id)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Adds a version to a branch (creating the branch) and makes it the head.
/// The flag is true when the version was not on the branch before.
pub(crate) async fn add_to_branch(
    conn: &mut Conn,
    pacticipant_id: i64,
    version_id: i64,
    branch: &str,
    auto_created: bool,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    sqlx::query(sql(
        "INSERT INTO branches (pacticipant_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (pacticipant_id, name) DO NOTHING",
    ))
    .bind(pacticipant_id)
    .bind(branch)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let branch_id: i64 = sqlx::query_scalar(sql(
        "SELECT id FROM branches WHERE pacticipant_id = ? AND name = ?",
    ))
    .bind(pacticipant_id)
    .bind(branch)
    .fetch_one(&mut *conn)
    .await?;
    let existed: Option<i64> = sqlx::query_scalar(sql(
        "SELECT id FROM branch_versions WHERE branch_id = ? AND version_id = ?",
    ))
    .bind(branch_id)
    .bind(version_id)
    .fetch_optional(&mut *conn)
    .await?;
    if existed.is_none() {
        sqlx::query(sql("INSERT INTO branch_versions (branch_id, version_id, auto_created, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"),
        )
        .bind(branch_id)
        .bind(version_id)
        .bind(auto_created)
        .bind(now)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    } else {
        sqlx::query(sql(
            "UPDATE branch_versions SET updated_at = ? WHERE branch_id = ? AND version_id = ?",
        ))
        .bind(now)
        .bind(branch_id)
        .bind(version_id)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(sql(
        "UPDATE branches SET head_version_id = ?, updated_at = ? WHERE id = ?",
    ))
    .bind(version_id)
    .bind(now)
    .bind(branch_id)
    .execute(&mut *conn)
    .await?;
    detect_main_branch(conn, pacticipant_id, branch, now).await?;
    Ok(existed.is_none())
}

/// Makes the most recently added remaining version the head of each given branch.
pub(crate) async fn recompute_branch_heads(conn: &mut Conn, branch_ids: &[i64]) -> StoreResult<()> {
    for branch_id in branch_ids {
        sqlx::query(sql("UPDATE branches SET head_version_id = (
                SELECT version_id FROM branch_versions WHERE branch_id = branches.id
                ORDER BY updated_at DESC, id DESC LIMIT 1)
             WHERE id = ?"))
        .bind(branch_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Selects versions with their branches and tags; append WHERE/ORDER clauses.
pub(crate) const VERSION_SELECT: &str = "
SELECT v.id, p.name AS pacticipant, v.number, v.build_url, v.created_at, v.updated_at,
  (SELECT string_agg(b.name || '\u{1e}' || CASE WHEN b.head_version_id = v.id THEN '1' ELSE '0' END, '\u{1f}' ORDER BY bv.id)
     FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id WHERE bv.version_id = v.id) AS branch_list,
  (SELECT string_agg(t.name, '\u{1f}' ORDER BY t.created_at, t.name) FROM tags t WHERE t.version_id = v.id) AS tag_list
FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id";

pub(crate) fn version_from_row(row: &impl Columns) -> StoreResult<Version> {
    let branch_list = row.optional_text("branch_list")?;
    let tag_list = row.optional_text("tag_list")?;
    let branches = split_list(branch_list.as_deref())
        .into_iter()
        .map(|item| {
            let (name, head) = item.split_once(FIELD_SEP).ok_or_else(|| {
                StoreError::Corrupt(format!("branch list entry without a head flag: {item}"))
            })?;
            Ok(BranchMembership {
                name: name.to_owned(),
                latest: head == "1",
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Version {
        id: row.int("id")?,
        pacticipant: row.text("pacticipant")?,
        number: row.text("number")?,
        build_url: row.optional_text("build_url")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        branches,
        tags: split_list(tag_list.as_deref())
            .into_iter()
            .map(str::to_owned)
            .collect(),
    })
}

// The backend's sqlx rows read the same way as `read::Row`s.
impl Columns for DbRow {
    fn int(&self, column: &str) -> StoreResult<i64> {
        Ok(self.try_get(column)?)
    }
    fn text(&self, column: &str) -> StoreResult<String> {
        Ok(self.try_get(column)?)
    }
    fn optional_text(&self, column: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(column)?)
    }
    fn boolean(&self, column: &str) -> StoreResult<bool> {
        Ok(self.try_get(column)?)
    }
    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        Ok(self.try_get(column)?)
    }
    fn optional_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(self.try_get(column)?)
    }
}

pub(crate) fn split_list(list: Option<&str>) -> Vec<&str> {
    match list {
        None | Some("") => Vec::new(),
        Some(list) => list.split(ITEM_SEP).collect(),
    }
}

pub(crate) async fn load_version(conn: &mut Conn, id: i64) -> StoreResult<Version> {
    let row = sqlx::query(sql(format!("{VERSION_SELECT} WHERE v.id = ?")))
        .bind(id)
        .fetch_one(conn)
        .await?;
    version_from_row(&row)
}

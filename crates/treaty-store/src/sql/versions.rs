use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use treaty_domain::model::{
    Branch, BranchVersionTimes, Page, PageInfo, PageRequest, Tag, Version, VersionListFacts,
};
use treaty_domain::{BranchName, PacticipantName, TagName, VersionNumber};

use super::rows::{self, VERSION_SELECT, load_version, version_from_row};
use super::{Backend, Conn, now, sql};
use crate::read::Query;
use crate::{BranchesDeleted, LatestVersion, StoreResult, VersionChanges, VersionStore};

/// How soon after a version's creation its first tag also names its branch
/// (the Pact Broker's `use_first_tag_as_branch`, for clients that only tag).
const FIRST_TAG_AS_BRANCH_WITHIN_SECONDS: i64 = 10;

impl Backend {
    async fn version_page(
        &self,
        where_clause: &str,
        arguments: &[&str],
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Version>> {
        let mut statement = format!("{VERSION_SELECT} {where_clause} ORDER BY v.id DESC");
        if let Some(page) = page {
            statement.push_str(&format!(" LIMIT {} OFFSET {}", page.size, page.offset()));
        }
        let mut query = sqlx::query(sql(statement));
        for argument in arguments {
            query = query.bind(*argument);
        }
        let rows = query.fetch_all(self.reader()).await?;
        let items = rows
            .iter()
            .map(version_from_row)
            .collect::<StoreResult<_>>()?;
        let page = match page {
            None => None,
            Some(page) => {
                let count_sql = format!(
                    "SELECT count(*) FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id {where_clause}"
                );
                let mut count = sqlx::query_scalar::<_, i64>(sql(count_sql));
                for argument in arguments {
                    count = count.bind(*argument);
                }
                let total = count.fetch_one(self.reader()).await?;
                Some(PageInfo {
                    number: page.number,
                    size: page.size,
                    total_elements: u64::try_from(total).unwrap_or(0),
                })
            }
        };
        Ok(Page { items, page })
    }
}

async fn branch_row(
    conn: &mut Conn,
    pacticipant: &str,
    branch: &str,
) -> StoreResult<Option<Branch>> {
    let row = sqlx::query(sql(
        "SELECT p.name AS pacticipant, b.name, b.created_at, b.updated_at,
            (SELECT number FROM versions WHERE id = b.head_version_id) AS head
         FROM branches b JOIN pacticipants p ON p.id = b.pacticipant_id
         WHERE p.name = ? AND b.name = ?",
    ))
    .bind(pacticipant)
    .bind(branch)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(Branch {
            pacticipant: row.try_get("pacticipant")?,
            name: row.try_get("name")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            head: row.try_get("head")?,
        })
    })
    .transpose()
}

/// Tags a version; the flag is true when the tag is new. Also applies main
/// branch detection and first-tag-as-branch.
pub(crate) async fn tag_version(
    conn: &mut Conn,
    pacticipant_id: i64,
    version_id: i64,
    tag: &str,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let existing_tags: i64 =
        sqlx::query_scalar(sql("SELECT count(*) FROM tags WHERE version_id = ?"))
            .bind(version_id)
            .fetch_one(&mut *conn)
            .await?;
    let inserted = sqlx::query(sql("INSERT INTO tags (version_id, pacticipant_id, name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"),
    )
    .bind(version_id)
    .bind(pacticipant_id)
    .bind(tag)
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    if inserted && existing_tags == 0 {
        let row = sqlx::query(sql("SELECT v.created_at, (SELECT count(*) FROM branch_versions WHERE version_id = v.id) AS branches
             FROM versions v WHERE v.id = ?"),
        )
        .bind(version_id)
        .fetch_one(&mut *conn)
        .await?;
        let created_at: DateTime<Utc> = row.try_get("created_at")?;
        let branches: i64 = row.try_get("branches")?;
        if branches == 0 && (at - created_at).num_seconds() <= FIRST_TAG_AS_BRANCH_WITHIN_SECONDS {
            rows::add_to_branch(conn, pacticipant_id, version_id, tag, true, at).await?;
        }
    }
    rows::detect_main_branch(conn, pacticipant_id, tag, at).await?;
    Ok(inserted)
}

/// The version a publication names (pacts, or a provider contract), made
/// if new, given the build URL, branch and tags the publication carries.
/// Returns the pacticipant's id, the version's, and whether it was new.
pub(crate) async fn publishing_version(
    conn: &mut Conn,
    pacticipant: &str,
    number: &str,
    build_url: Option<&str>,
    branch: Option<&str>,
    tags: &[TagName],
    at: DateTime<Utc>,
) -> StoreResult<(i64, i64, bool)> {
    let (pacticipant_id, _) = rows::ensure_pacticipant(&mut *conn, pacticipant, at).await?;
    let (version_id, created) =
        rows::ensure_version(&mut *conn, pacticipant_id, number, at).await?;
    if let Some(build_url) = build_url {
        sqlx::query(sql(
            "UPDATE versions SET build_url = ?, updated_at = ? WHERE id = ?",
        ))
        .bind(build_url)
        .bind(at)
        .bind(version_id)
        .execute(&mut *conn)
        .await?;
    }
    if let Some(branch) = branch {
        rows::add_to_branch(&mut *conn, pacticipant_id, version_id, branch, false, at).await?;
    }
    for tag in tags {
        tag_version(&mut *conn, pacticipant_id, version_id, tag.as_str(), at).await?;
    }
    Ok((pacticipant_id, version_id, created))
}

#[async_trait]
impl VersionStore for Backend {
    async fn version(&self, pacticipant: &str, number: &str) -> StoreResult<Option<Version>> {
        let row = sqlx::query(sql(format!(
            "{VERSION_SELECT} WHERE p.name = ? AND v.number = ?"
        )))
        .bind(pacticipant)
        .bind(number)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(version_from_row).transpose()
    }

    async fn versions(
        &self,
        pacticipant: &str,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Version>> {
        self.version_page("WHERE p.name = ?", &[pacticipant], page)
            .await
    }

    async fn latest_version(
        &self,
        pacticipant: &str,
        which: LatestVersion,
    ) -> StoreResult<Option<Version>> {
        let (clause, argument) = match &which {
            LatestVersion::Any => ("WHERE p.name = ? ORDER BY v.id DESC LIMIT 1", None),
            LatestVersion::WithTag(tag) => (
                "WHERE p.name = ? AND EXISTS (SELECT 1 FROM tags t WHERE t.version_id = v.id AND t.name = ?)
                 ORDER BY v.id DESC LIMIT 1",
                Some(tag.as_str()),
            ),
            LatestVersion::OnBranch(branch) => (
                "WHERE p.name = ? AND v.id = (SELECT b.head_version_id FROM branches b
                   WHERE b.pacticipant_id = p.id AND b.name = ?)",
                Some(branch.as_str()),
            ),
        };
        let statement = format!("{VERSION_SELECT} {clause}");
        let mut query = sqlx::query(sql(statement)).bind(pacticipant);
        if let Some(argument) = argument {
            query = query.bind(argument);
        }
        let row = query.fetch_optional(self.reader()).await?;
        row.as_ref().map(version_from_row).transpose()
    }

    async fn put_version(
        &self,
        pacticipant: &PacticipantName,
        number: &VersionNumber,
        changes: VersionChanges,
    ) -> StoreResult<(Version, bool)> {
        let at = now();
        let mut tx = self.begin().await?;
        let (pacticipant_id, _) =
            rows::ensure_pacticipant(&mut tx, pacticipant.as_str(), at).await?;
        let (version_id, created) =
            rows::ensure_version(&mut tx, pacticipant_id, number.as_str(), at).await?;
        if changes.replace || changes.build_url.is_some() {
            sqlx::query(sql(
                "UPDATE versions SET build_url = ?, updated_at = ? WHERE id = ?",
            ))
            .bind(&changes.build_url)
            .bind(at)
            .bind(version_id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(branch) = &changes.branch {
            rows::add_to_branch(
                &mut tx,
                pacticipant_id,
                version_id,
                branch.as_str(),
                false,
                at,
            )
            .await?;
        }
        if let Some(tags) = &changes.tags {
            sqlx::query(sql("DELETE FROM tags WHERE version_id = ?"))
                .bind(version_id)
                .execute(&mut *tx)
                .await?;
            for tag in tags {
                tag_version(&mut tx, pacticipant_id, version_id, tag.as_str(), at).await?;
            }
        }
        let version = load_version(&mut tx, version_id).await?;
        tx.commit().await?;
        Ok((version, created))
    }

    async fn delete_version(&self, pacticipant: &str, number: &str) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let Some(version_id) = rows::find_version_id(&mut tx, pacticipant, number).await? else {
            return Ok(false);
        };
        let branch_ids: Vec<i64> = sqlx::query_scalar(sql(
            "SELECT branch_id FROM branch_versions WHERE version_id = ?",
        ))
        .bind(version_id)
        .fetch_all(&mut *tx)
        .await?;
        // The ledger keeps its history of the version, under the names it had.
        super::ledger::keep_history(
            &mut tx,
            super::ledger::EntriesOf::Version(version_id),
            now(),
        )
        .await?;
        sqlx::query(sql("DELETE FROM versions WHERE id = ?"))
            .bind(version_id)
            .execute(&mut *tx)
            .await?;
        rows::recompute_branch_heads(&mut tx, &branch_ids).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn tag(&self, pacticipant: &str, version: &str, tag: &str) -> StoreResult<Option<Tag>> {
        let row = sqlx::query(sql("SELECT p.name AS pacticipant, v.number, t.name, t.created_at
             FROM tags t JOIN versions v ON v.id = t.version_id JOIN pacticipants p ON p.id = v.pacticipant_id
             WHERE p.name = ? AND v.number = ? AND t.name = ?"),
        )
        .bind(pacticipant)
        .bind(version)
        .bind(tag)
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| {
            Ok(Tag {
                pacticipant: row.try_get("pacticipant")?,
                version: row.try_get("number")?,
                name: row.try_get("name")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .transpose()
    }

    async fn add_tag(
        &self,
        pacticipant: &PacticipantName,
        version: &VersionNumber,
        tag: &TagName,
    ) -> StoreResult<(Tag, bool)> {
        let at = now();
        let mut tx = self.begin().await?;
        let (pacticipant_id, _) =
            rows::ensure_pacticipant(&mut tx, pacticipant.as_str(), at).await?;
        let (version_id, _) =
            rows::ensure_version_on_the_way(&mut tx, pacticipant_id, version.as_str(), at).await?;
        let created = tag_version(&mut tx, pacticipant_id, version_id, tag.as_str(), at).await?;
        if created {
            super::deployments::deploy_for_tag(&mut tx, pacticipant_id, version_id, tag.as_str())
                .await?;
        }
        let created_at: DateTime<Utc> = sqlx::query_scalar(sql(
            "SELECT created_at FROM tags WHERE version_id = ? AND name = ?",
        ))
        .bind(version_id)
        .bind(tag.as_str())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((
            Tag {
                pacticipant: pacticipant.to_string(),
                version: version.to_string(),
                name: tag.to_string(),
                created_at,
            },
            created,
        ))
    }

    async fn delete_tag(&self, pacticipant: &str, version: &str, tag: &str) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let Some(version_id) = rows::find_version_id(&mut tx, pacticipant, version).await? else {
            return Ok(false);
        };
        let deleted = sqlx::query(sql("DELETE FROM tags WHERE version_id = ? AND name = ?"))
            .bind(version_id)
            .bind(tag)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn versions_with_tag(
        &self,
        pacticipant: &str,
        tag: &str,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Version>> {
        self.version_page(
            "WHERE p.name = ? AND EXISTS (SELECT 1 FROM tags t WHERE t.version_id = v.id AND t.name = ?)",
            &[pacticipant, tag],
            page,
        )
        .await
    }

    async fn version_list_facts(
        &self,
        pacticipant: &str,
        numbers: &[String],
    ) -> StoreResult<VersionListFacts> {
        if numbers.is_empty() {
            return Ok(VersionListFacts::default());
        }
        let placeholders = vec!["?"; numbers.len()].join(", ");
        let version_ids = format!(
            "SELECT v.id FROM versions v JOIN pacticipants p ON p.id = v.pacticipant_id
             WHERE p.name = ? AND v.number IN ({placeholders})"
        );
        // One version (a version's own page, a write's answer) is the same
        // text every time, worth keeping prepared; a page's list is not.
        let statement = |text: String| {
            let mut query = Query::new(text)
                .one_off_beyond(numbers.len(), 1)
                .bind(pacticipant);
            for number in numbers {
                query = query.bind(number.as_str());
            }
            query
        };
        let pacts = statement(format!(
            "SELECT v.number, pr.name AS provider FROM pact_publications pp
               JOIN versions v ON v.id = pp.consumer_version_id
               JOIN pacticipants pr ON pr.id = pp.provider_id
             WHERE pp.consumer_version_id IN ({version_ids})
             ORDER BY v.id, lower(pr.name), pr.name"
        ));
        let deployed = statement(format!(
            "{} WHERE dv.version_id IN ({version_ids}) ORDER BY dv.id",
            super::deployments::deployed_select()
        ));
        let released = statement(format!(
            "{} WHERE rv.version_id IN ({version_ids}) ORDER BY rv.id",
            super::deployments::released_select()
        ));
        // One unit: one snapshot, and on SQLite one hand-off for the three.
        let (pacts, deployed, released) = self
            .read_snapshot(move |reader| {
                Box::pin(async move {
                    Ok((
                        reader.fetch_all(pacts).await?,
                        reader.fetch_all(deployed).await?,
                        reader.fetch_all(released).await?,
                    ))
                })
            })
            .await?;
        let pacts = pacts
            .iter()
            .map(|row| Ok((row.try_get("number")?, row.try_get("provider")?)))
            .collect::<StoreResult<Vec<_>>>()?;
        let deployments = deployed
            .iter()
            .map(super::deployments::deployed_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let releases = released
            .iter()
            .map(super::deployments::released_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(VersionListFacts {
            pacts,
            deployments,
            releases,
        })
    }

    async fn branches(
        &self,
        pacticipant: &str,
        filter: Option<&str>,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Branch>> {
        // The Pact Broker's `q`: branches whose name contains the text.
        let pattern = filter
            .filter(|f| !f.is_empty())
            .map(super::pacticipants::like_pattern);
        let mut statement = String::from(
            "SELECT p.name AS pacticipant, b.name, b.created_at, b.updated_at,
                (SELECT number FROM versions WHERE id = b.head_version_id) AS head
             FROM branches b JOIN pacticipants p ON p.id = b.pacticipant_id
             WHERE p.name = ? AND (? IS NULL OR b.name LIKE ? ESCAPE '\\')
             ORDER BY b.updated_at DESC, b.id DESC",
        );
        if let Some(page) = page {
            statement.push_str(&format!(" LIMIT {} OFFSET {}", page.size, page.offset()));
        }
        let rows = sqlx::query(sql(statement))
            .bind(pacticipant)
            .bind(&pattern)
            .bind(&pattern)
            .fetch_all(self.reader())
            .await?;
        let items = rows
            .iter()
            .map(|row| {
                Ok(Branch {
                    pacticipant: row.try_get("pacticipant")?,
                    name: row.try_get("name")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                    head: row.try_get("head")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let page = match page {
            None => None,
            Some(page) => {
                let total: i64 = sqlx::query_scalar(sql(
                    "SELECT count(*) FROM branches b JOIN pacticipants p ON p.id = b.pacticipant_id
                     WHERE p.name = ? AND (? IS NULL OR b.name LIKE ? ESCAPE '\\')",
                ))
                .bind(pacticipant)
                .bind(&pattern)
                .bind(&pattern)
                .fetch_one(self.reader())
                .await?;
                Some(PageInfo {
                    number: page.number,
                    size: page.size,
                    total_elements: u64::try_from(total).unwrap_or(0),
                })
            }
        };
        Ok(Page { items, page })
    }

    async fn branch_version_times(
        &self,
        pacticipant: &str,
        branch: &str,
        version: &str,
    ) -> StoreResult<Option<BranchVersionTimes>> {
        let row = sqlx::query(sql(
            "SELECT bv.created_at, bv.updated_at FROM branch_versions bv
               JOIN branches b ON b.id = bv.branch_id
               JOIN pacticipants p ON p.id = b.pacticipant_id
               JOIN versions v ON v.id = bv.version_id AND v.pacticipant_id = p.id
             WHERE p.name = ? AND b.name = ? AND v.number = ?",
        ))
        .bind(pacticipant)
        .bind(branch)
        .bind(version)
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| {
            Ok(BranchVersionTimes {
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    async fn branch(&self, pacticipant: &str, branch: &str) -> StoreResult<Option<Branch>> {
        let mut conn = self.reader().acquire().await?;
        branch_row(&mut conn, pacticipant, branch).await
    }

    async fn delete_branch(&self, pacticipant: &str, branch: &str) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query(sql("DELETE FROM branches WHERE name = ? AND pacticipant_id = (SELECT id FROM pacticipants WHERE name = ?)"),
        )
        .bind(branch)
        .bind(pacticipant)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn delete_branches_except(
        &self,
        pacticipant: &str,
        keep: &[String],
    ) -> StoreResult<Option<BranchesDeleted>> {
        let mut tx = self.begin().await?;
        let Some(row) = sqlx::query(sql(
            "SELECT id, main_branch FROM pacticipants WHERE name = ?",
        ))
        .bind(pacticipant)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let pacticipant_id: i64 = row.try_get("id")?;
        let main_branch: Option<String> = row.try_get("main_branch")?;
        let branches: Vec<(i64, String)> = sqlx::query_as(sql(
            "SELECT id, name FROM branches WHERE pacticipant_id = ? ORDER BY updated_at, id",
        ))
        .bind(pacticipant_id)
        .fetch_all(&mut *tx)
        .await?;
        let kept = |name: &String| keep.contains(name) || main_branch.as_ref() == Some(name);
        let (remaining, doomed): (Vec<_>, Vec<_>) =
            branches.into_iter().partition(|(_, name)| kept(name));
        // Batches keep each statement's list of placeholders well under
        // both databases' limits, whatever the number of branches.
        let mut deleted = 0;
        for batch in doomed.chunks(500) {
            let placeholders = vec!["?"; batch.len()].join(", ");
            let mut query = sqlx::query(sql(format!(
                "DELETE FROM branches WHERE id IN ({placeholders})"
            )))
            .persistent(false);
            for (id, _) in batch {
                query = query.bind(id);
            }
            deleted += query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(Some(BranchesDeleted {
            deleted,
            remaining: remaining.into_iter().map(|(_, name)| name).collect(),
        }))
    }

    async fn add_branch_version(
        &self,
        pacticipant: &PacticipantName,
        branch: &BranchName,
        version: &VersionNumber,
    ) -> StoreResult<(Version, bool)> {
        let at = now();
        let mut tx = self.begin().await?;
        let (pacticipant_id, _) =
            rows::ensure_pacticipant(&mut tx, pacticipant.as_str(), at).await?;
        let (version_id, _) =
            rows::ensure_version_on_the_way(&mut tx, pacticipant_id, version.as_str(), at).await?;
        let added = rows::add_to_branch(
            &mut tx,
            pacticipant_id,
            version_id,
            branch.as_str(),
            false,
            at,
        )
        .await?;
        let version = load_version(&mut tx, version_id).await?;
        tx.commit().await?;
        Ok((version, added))
    }

    async fn branch_version(
        &self,
        pacticipant: &str,
        branch: &str,
        version: &str,
    ) -> StoreResult<Option<Version>> {
        let row = sqlx::query(sql(format!(
            "{VERSION_SELECT} WHERE p.name = ? AND v.number = ? AND EXISTS (
               SELECT 1 FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id
               WHERE bv.version_id = v.id AND b.name = ?)"
        )))
        .bind(pacticipant)
        .bind(version)
        .bind(branch)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(version_from_row).transpose()
    }

    async fn delete_branch_version(
        &self,
        pacticipant: &str,
        branch: &str,
        version: &str,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let Some(version_id) = rows::find_version_id(&mut tx, pacticipant, version).await? else {
            return Ok(false);
        };
        let branch_id: Option<i64> = sqlx::query_scalar(sql("SELECT b.id FROM branches b JOIN pacticipants p ON p.id = b.pacticipant_id WHERE p.name = ? AND b.name = ?"),
        )
        .bind(pacticipant)
        .bind(branch)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(branch_id) = branch_id else {
            return Ok(false);
        };
        let deleted = sqlx::query(sql(
            "DELETE FROM branch_versions WHERE branch_id = ? AND version_id = ?",
        ))
        .bind(branch_id)
        .bind(version_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        rows::recompute_branch_heads(&mut tx, &[branch_id]).await?;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn branch_versions(
        &self,
        pacticipant: &str,
        branch: &str,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Version>> {
        self.version_page(
            "WHERE p.name = ? AND EXISTS (SELECT 1 FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id
               WHERE bv.version_id = v.id AND b.name = ?)",
            &[pacticipant, branch],
            page,
        )
        .await
    }

    async fn versions_in_environment(
        &self,
        pacticipant: &str,
        environment_uuid: &str,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Version>> {
        self.version_page(
            "WHERE p.name = ? AND (
               EXISTS (SELECT 1 FROM deployed_versions dv JOIN environments e ON e.id = dv.environment_id
                 WHERE dv.version_id = v.id AND e.uuid = ?)
               OR EXISTS (SELECT 1 FROM released_versions rv JOIN environments e ON e.id = rv.environment_id
                 WHERE rv.version_id = v.id AND e.uuid = ?))",
            &[pacticipant, environment_uuid, environment_uuid],
            page,
        )
        .await
    }
}

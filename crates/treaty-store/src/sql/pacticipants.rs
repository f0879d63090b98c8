use async_trait::async_trait;
use sqlx::Row;
use treaty_domain::model::{
    Label, Pacticipant, PacticipantFields, Page, PageInfo, PageRequest, UpdateMode,
};
use treaty_domain::{LabelName, PacticipantName};

use super::rows::{self, split_list};
use super::{Backend, Conn, DbRow, now, sql};
use crate::{PacticipantStore, StoreResult};

const PACTICIPANT_SELECT: &str = "
SELECT p.id, p.name, p.display_name, p.repository_url, p.repository_name, p.repository_namespace,
  p.main_branch, p.created_at, p.updated_at,
  (SELECT string_agg(l.name, '\u{1f}' ORDER BY l.name) FROM labels l WHERE l.pacticipant_id = p.id) AS label_list,
  (SELECT v.number FROM versions v WHERE v.pacticipant_id = p.id ORDER BY v.id DESC LIMIT 1) AS latest_version
FROM pacticipants p";

fn pacticipant_from_row(row: &DbRow) -> StoreResult<Pacticipant> {
    let labels: Option<String> = row.try_get("label_list")?;
    Ok(Pacticipant {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        repository_url: row.try_get("repository_url")?,
        repository_name: row.try_get("repository_name")?,
        repository_namespace: row.try_get("repository_namespace")?,
        main_branch: row.try_get("main_branch")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        labels: split_list(labels.as_deref())
            .into_iter()
            .map(str::to_owned)
            .collect(),
        latest_version: row.try_get("latest_version")?,
    })
}

async fn load(conn: &mut Conn, name: &str) -> StoreResult<Option<Pacticipant>> {
    let row = sqlx::query(sql(format!("{PACTICIPANT_SELECT} WHERE p.name = ?")))
        .bind(name)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(pacticipant_from_row).transpose()
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
pub(crate) fn like_pattern(filter: &str) -> String {
    let mut escaped = String::with_capacity(filter.len() + 2);
    escaped.push('%');
    for c in filter.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

impl Backend {
    async fn pacticipant_page(
        &self,
        where_clause: &str,
        argument: Option<String>,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Pacticipant>> {
        let mut statement =
            format!("{PACTICIPANT_SELECT} {where_clause} ORDER BY lower(p.name), p.name");
        if let Some(page) = page {
            statement.push_str(&format!(" LIMIT {} OFFSET {}", page.size, page.offset()));
        }
        let mut query = sqlx::query(sql(statement));
        if let Some(argument) = &argument {
            query = query.bind(argument);
        }
        let rows = query.fetch_all(self.reader()).await?;
        let items = rows
            .iter()
            .map(pacticipant_from_row)
            .collect::<StoreResult<_>>()?;
        let page = match page {
            None => None,
            Some(page) => {
                let count_sql = format!("SELECT count(*) FROM pacticipants p {where_clause}");
                let mut count = sqlx::query_scalar::<_, i64>(sql(count_sql));
                if let Some(argument) = &argument {
                    count = count.bind(argument);
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

#[async_trait]
impl PacticipantStore for Backend {
    async fn pacticipants(
        &self,
        filter: Option<&str>,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Pacticipant>> {
        match filter {
            Some(filter) if !filter.is_empty() => {
                self.pacticipant_page(
                    "WHERE (p.name LIKE ?1 ESCAPE '\\' OR p.display_name LIKE ?1 ESCAPE '\\')",
                    Some(like_pattern(filter)),
                    page,
                )
                .await
            }
            _ => self.pacticipant_page("", None, page).await,
        }
    }

    async fn pacticipants_with_label(
        &self,
        label: &str,
        page: Option<PageRequest>,
    ) -> StoreResult<Page<Pacticipant>> {
        self.pacticipant_page(
            "WHERE EXISTS (SELECT 1 FROM labels l WHERE l.pacticipant_id = p.id AND l.name = ?)",
            Some(label.to_owned()),
            page,
        )
        .await
    }

    async fn pacticipant(&self, name: &str) -> StoreResult<Option<Pacticipant>> {
        let mut conn = self.reader().acquire().await?;
        load(&mut conn, name).await
    }

    async fn create_pacticipant(
        &self,
        name: &PacticipantName,
        fields: PacticipantFields,
    ) -> StoreResult<(Pacticipant, bool)> {
        let mut tx = self.begin().await?;
        if let Some(existing) = load(&mut tx, name.as_str()).await? {
            return Ok((existing, false));
        }
        write_new(&mut tx, name, fields).await?;
        let created = load(&mut tx, name.as_str())
            .await?
            .ok_or_else(|| crate::StoreError::Corrupt("pacticipant vanished".into()))?;
        tx.commit().await?;
        Ok((created, true))
    }

    async fn update_pacticipant(
        &self,
        name: &PacticipantName,
        fields: PacticipantFields,
        mode: UpdateMode,
        create_if_missing: bool,
    ) -> StoreResult<Option<(Pacticipant, bool)>> {
        let mut tx = self.begin().await?;
        let created = match load(&mut tx, name.as_str()).await? {
            None if !create_if_missing => return Ok(None),
            None => {
                write_new(&mut tx, name, fields).await?;
                true
            }
            Some(existing) => {
                let merged = match mode {
                    UpdateMode::Replace => fields,
                    UpdateMode::Merge => PacticipantFields {
                        display_name: fields.display_name.or(existing.display_name),
                        repository_url: fields.repository_url.or(existing.repository_url),
                        repository_name: fields.repository_name.or(existing.repository_name),
                        repository_namespace: fields
                            .repository_namespace
                            .or(existing.repository_namespace),
                        main_branch: fields.main_branch.or(existing.main_branch),
                    },
                };
                // As on creation, a pacticipant left without a display name
                // gets one made from its name (a PUT that omits it, say).
                let display_name = merged
                    .display_name
                    .clone()
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or_else(|| treaty_domain::display_name::generate(name.as_str()));
                sqlx::query(sql("UPDATE pacticipants SET display_name = ?, repository_url = ?, repository_name = ?,
                       repository_namespace = ?, main_branch = ?, updated_at = ? WHERE id = ?"),
                )
                .bind(display_name)
                .bind(&merged.repository_url)
                .bind(&merged.repository_name)
                .bind(&merged.repository_namespace)
                .bind(&merged.main_branch)
                .bind(now())
                .bind(existing.id)
                .execute(&mut *tx)
                .await?;
                false
            }
        };
        let pacticipant = load(&mut tx, name.as_str())
            .await?
            .ok_or_else(|| crate::StoreError::Corrupt("pacticipant vanished".into()))?;
        tx.commit().await?;
        Ok(Some((pacticipant, created)))
    }

    async fn delete_pacticipant(&self, name: &str) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        // The ledger keeps its history of the pacticipant, under the names it had.
        if let Some(id) = rows::pacticipant_id(&mut tx, name).await? {
            super::ledger::keep_history(&mut tx, super::ledger::EntriesOf::Pacticipant(id), now())
                .await?;
        }
        let deleted = sqlx::query(sql("DELETE FROM pacticipants WHERE name = ?"))
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn add_label(&self, pacticipant: &str, label: &LabelName) -> StoreResult<Option<bool>> {
        let mut tx = self.begin().await?;
        let Some(id) = rows::pacticipant_id(&mut tx, pacticipant).await? else {
            return Ok(None);
        };
        let inserted = sqlx::query(sql("INSERT INTO labels (pacticipant_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
        )
        .bind(id)
        .bind(label.as_str())
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(Some(inserted))
    }

    async fn label(&self, pacticipant: &str, label: &str) -> StoreResult<Option<Label>> {
        let row = sqlx::query(sql(
            "SELECT p.name AS pacticipant, l.name, l.created_at FROM labels l
             JOIN pacticipants p ON p.id = l.pacticipant_id WHERE p.name = ? AND l.name = ?",
        ))
        .bind(pacticipant)
        .bind(label)
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| {
            Ok(Label {
                pacticipant: row.try_get("pacticipant")?,
                name: row.try_get("name")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .transpose()
    }

    async fn remove_label(&self, pacticipant: &str, label: &str) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let removed = sqlx::query(sql("DELETE FROM labels WHERE name = ? AND pacticipant_id = (SELECT id FROM pacticipants WHERE name = ?)"),
        )
        .bind(label)
        .bind(pacticipant)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(removed)
    }

    async fn label_names(&self) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar(sql("SELECT DISTINCT name FROM labels ORDER BY name"))
                .fetch_all(self.reader())
                .await?,
        )
    }
}

async fn write_new(
    conn: &mut Conn,
    name: &PacticipantName,
    fields: PacticipantFields,
) -> StoreResult<()> {
    let at = now();
    let display_name = fields
        .display_name
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| treaty_domain::display_name::generate(name.as_str()));
    sqlx::query(sql("INSERT INTO pacticipants (name, display_name, repository_url, repository_name, repository_namespace,
           main_branch, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
    )
    .bind(name.as_str())
    .bind(display_name)
    .bind(fields.repository_url)
    .bind(fields.repository_name)
    .bind(fields.repository_namespace)
    .bind(fields.main_branch)
    .bind(at)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

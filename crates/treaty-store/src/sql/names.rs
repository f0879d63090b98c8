//! Every stored name, page by page, for `treaty doctor` to check against
//! the rules for new names.
//!
//! Pages follow the unique indexes each table already has (a pacticipant's
//! id, then the name), so a page costs its own size, however large the table.

use async_trait::async_trait;
use sqlx::Row;

use super::{Backend, sql};
use crate::{NameKind, NameStore, StoreResult, StoredName};

/// Where a kind of name lives: the owning pacticipant's id (0 for names
/// without one), that pacticipant's name, the name, and the rows.
struct Source {
    owner_id: &'static str,
    owner: &'static str,
    name: &'static str,
    from: &'static str,
    distinct: bool,
}

fn source(kind: NameKind) -> Source {
    let unowned = |from| Source {
        owner_id: "CAST(0 AS BIGINT)",
        owner: "CAST(NULL AS TEXT)",
        name: "x.name",
        from,
        distinct: false,
    };
    let owned = |name, from| Source {
        owner_id: "x.pacticipant_id",
        owner: "p.name",
        name,
        from,
        distinct: false,
    };
    match kind {
        NameKind::Pacticipant => unowned("pacticipants x"),
        NameKind::Environment => unowned("environments x"),
        NameKind::Version => owned(
            "x.number",
            "versions x JOIN pacticipants p ON p.id = x.pacticipant_id",
        ),
        NameKind::Branch => owned(
            "x.name",
            "branches x JOIN pacticipants p ON p.id = x.pacticipant_id",
        ),
        NameKind::Label => owned(
            "x.name",
            "labels x JOIN pacticipants p ON p.id = x.pacticipant_id",
        ),
        // A tag is on many versions: each name once per pacticipant.
        NameKind::Tag => Source {
            distinct: true,
            ..owned(
                "x.name",
                "tags x JOIN pacticipants p ON p.id = x.pacticipant_id",
            )
        },
    }
}

#[async_trait]
impl NameStore for Backend {
    async fn stored_names(
        &self,
        kind: NameKind,
        after: Option<&StoredName>,
        limit: u32,
    ) -> StoreResult<Vec<StoredName>> {
        let Source {
            owner_id,
            owner,
            name,
            from,
            distinct,
        } = source(kind);
        let distinct = if distinct { "DISTINCT " } else { "" };
        let query = format!(
            "SELECT {distinct}{owner_id} AS owner_id, {owner} AS owner, {name} AS name FROM {from}
             WHERE {owner_id} > ? OR ({owner_id} = ? AND {name} > ?)
             ORDER BY owner_id, name LIMIT ?"
        );
        let (after_id, after_name) =
            after.map_or((-1, ""), |a| (a.pacticipant_id, a.name.as_str()));
        let mut tx = self.snapshot().await?;
        let rows = sqlx::query(sql(query))
            .bind(after_id)
            .bind(after_id)
            .bind(after_name)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                Ok(StoredName {
                    kind,
                    pacticipant_id: row.try_get("owner_id")?,
                    pacticipant: row.try_get("owner")?,
                    name: row.try_get("name")?,
                })
            })
            .collect()
    }
}

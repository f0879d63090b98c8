//! Facts about a database that must survive restarts and be the same for
//! every replica (for example, the key that seals webhook secrets when none
//! is configured).

use super::{Conn, sql};
use crate::StoreResult;

pub(crate) async fn setting_or_insert(
    conn: &mut Conn,
    name: &str,
    value: &str,
) -> StoreResult<String> {
    sqlx::query(sql(
        "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
    ))
    .bind(name)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(
        sqlx::query_scalar(sql("SELECT value FROM settings WHERE name = ?"))
            .bind(name)
            .fetch_one(conn)
            .await?,
    )
}

pub(crate) async fn setting(conn: &mut Conn, name: &str) -> StoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar(sql("SELECT value FROM settings WHERE name = ?"))
            .bind(name)
            .fetch_optional(conn)
            .await?,
    )
}

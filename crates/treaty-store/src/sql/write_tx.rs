//! A write transaction that carries the audit entry of the request it
//! serves (`crate::audit`): committing it first appends that entry, chained
//! to the last one, so the write and its entry land together or not at all.
//! The backend supplies the transaction (`WriteConn`): on SQLite a savepoint
//! in a group commit, whose `commit` returns once the batch is durable; on
//! PostgreSQL a transaction holding the write lock.

use std::ops::{Deref, DerefMut};

use super::{Conn, WriteConn};
use crate::StoreResult;
use crate::audit::{self, RequestAudit};

pub(crate) struct WriteTx {
    tx: WriteConn,
    audit: Option<RequestAudit>,
}

impl WriteTx {
    /// A transaction that records the current request's entry when it commits.
    pub(crate) fn audited(tx: WriteConn) -> Self {
        Self {
            tx,
            audit: audit::current(),
        }
    }

    /// A transaction of housekeeping that no request asked for as such (a
    /// generated setting, the audit log's own appends).
    pub(crate) fn unaudited(tx: WriteConn) -> Self {
        Self { tx, audit: None }
    }

    pub(crate) async fn commit(mut self) -> StoreResult<()> {
        if let Some(audit) = &self.audit {
            let entry = audit.entry();
            super::access::append_entries(
                &mut self.tx,
                audit.key(),
                std::slice::from_ref(&entry),
                true,
            )
            .await?;
        }
        self.tx.commit().await?;
        if let Some(audit) = &self.audit {
            audit.mark_committed();
        }
        Ok(())
    }
}

impl Deref for WriteTx {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.tx
    }
}

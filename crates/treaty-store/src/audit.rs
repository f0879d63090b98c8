//! The audit entry of the request being served, written inside the write
//! transaction the request makes, so that no write lands without its entry
//! (and no entry claims a write that did not land).
//!
//! The server opens a [`RequestAudit`] around each audited request; every
//! write transaction begun while it runs (`Backend::begin`, on the same task)
//! appends the entry before it commits. A request that commits nothing
//! (refused, invalid, a no-op) is audited after its answer, by the server.
//!
//! A task-local carries it rather than a parameter of every write method:
//! the audit context belongs to the request, not to the domain operation,
//! and this way no operation can forget to pass it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use treaty_domain::access::AuditKey;

use crate::NewAuditEntry;

tokio::task_local! {
    static CURRENT: RequestAudit;
}

/// The longest summary an entry keeps, in bytes.
const MAX_SUMMARY_BYTES: usize = 1024;

/// What the audit entry of one request says, and whether it was written.
#[derive(Clone)]
pub struct RequestAudit(Arc<Inner>);

struct Inner {
    entry: Mutex<NewAuditEntry>,
    key: AuditKey,
    committed: AtomicBool,
}

impl RequestAudit {
    /// `entry.status` is replaced by [`treaty_domain::access::COMMITTED`] in
    /// the entries written inside a transaction.
    pub fn new(entry: NewAuditEntry, key: AuditKey) -> Self {
        Self(Arc::new(Inner {
            entry: Mutex::new(entry),
            key,
            committed: AtomicBool::new(false),
        }))
    }

    /// Runs `work` (the request) with this entry as the one its writes carry.
    pub async fn scope<F: Future>(&self, work: F) -> F::Output {
        CURRENT.scope(self.clone(), work).await
    }

    /// Whether a write transaction committed this entry.
    pub fn committed(&self) -> bool {
        self.0.committed.load(Ordering::SeqCst)
    }

    /// The entry as it stands (with what the handler added to its summary).
    pub fn entry(&self) -> NewAuditEntry {
        self.0
            .entry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn key(&self) -> &AuditKey {
        &self.0.key
    }

    pub(crate) fn mark_committed(&self) {
        self.0.committed.store(true, Ordering::SeqCst);
    }
}

/// The audit context of the request running on this task, if any.
pub(crate) fn current() -> Option<RequestAudit> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Adds what the request is about to its audit entry's summary (the
/// pacticipant and version a publication or a deployment event names, once
/// the handler has parsed them). Outside an audited request it does nothing.
pub fn describe(what: &str) {
    let Some(audit) = current() else {
        return;
    };
    let mut entry = audit.0.entry.lock().unwrap_or_else(PoisonError::into_inner);
    if entry.summary.split("; ").any(|part| part == what) {
        return;
    }
    if !entry.summary.is_empty() {
        entry.summary.push_str("; ");
    }
    entry.summary.push_str(what);
    truncate(&mut entry.summary, MAX_SUMMARY_BYTES);
}

/// Cuts `text` to at most `max` bytes on a character boundary, saying how
/// long it was: a stored entry has a bounded size whatever a client sent.
pub fn truncate(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let original = text.len();
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(&format!("… ({original} bytes)"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> NewAuditEntry {
        NewAuditEntry {
            actor: "ci".into(),
            address: "127.0.0.1".into(),
            method: "POST".into(),
            target: "/contracts/publish".into(),
            status: 0,
            summary: String::new(),
        }
    }

    #[tokio::test]
    async fn a_handler_describes_the_entry_of_its_own_request_only() {
        let audit = RequestAudit::new(entry(), AuditKey::derive("k"));
        describe("outside: ignored");
        audit
            .scope(async {
                describe("Foo 1.0.0");
                describe("Foo 1.0.0");
                describe("provider Bar");
            })
            .await;
        assert_eq!(audit.entry().summary, "Foo 1.0.0; provider Bar");
        assert!(!audit.committed());
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let mut text = "é".repeat(10);
        truncate(&mut text, 5);
        assert_eq!(text, "éé… (20 bytes)");
        let mut short = "abc".to_owned();
        truncate(&mut short, 5);
        assert_eq!(short, "abc");
    }
}

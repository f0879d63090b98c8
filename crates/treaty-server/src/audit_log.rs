//! The audit entries written after a request's answer: those of requests
//! that committed nothing (refused, invalid, a no-op). A request that
//! commits a write has its entry written inside that write's transaction
//! (`treaty_store::audit`), not here.
//!
//! Entries are appended in batches: the entries of requests that finish
//! while a batch is being written go into the next one, so under load many
//! requests' entries cost one commit instead of one each. A request is still
//! answered only once its entry is stored.
//!
//! Refused writes are sampled per source address: a flood of refused
//! requests (anyone can send them, without credentials) costs a bounded
//! number of entries a minute, and the rest are counted in one entry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{OnceCell, mpsc, oneshot};
use treaty_domain::access::{AuditEntry, AuditKey};
use treaty_store::{NewAuditEntry, Store};

/// The most entries written in one transaction.
const MAX_BATCH: usize = 256;

/// The longest target an entry keeps, in bytes (a client may send 64 KB).
pub const MAX_TARGET_BYTES: usize = 2048;

/// Refused writes from one address audited one by one in a window; the
/// rest of the window's are counted in one entry when it closes.
const REFUSALS_AUDITED_PER_WINDOW: u32 = 10;
const REFUSAL_WINDOW: Duration = Duration::from_secs(60);
/// Beyond this many addresses in their windows, new ones share one window.
const MAX_TRACKED_SOURCES: usize = 10_000;
const SHARED_SOURCE: &str = "many addresses";

type Reply = oneshot::Sender<Result<AuditEntry, String>>;

/// The one writer of an application's audit log; started on first use.
#[derive(Clone, Default)]
pub struct AuditLog {
    queue: Arc<OnceCell<mpsc::UnboundedSender<(NewAuditEntry, Reply)>>>,
    refusals: Arc<RefusalSampler>,
}

impl AuditLog {
    /// Stores the entry (with whatever else is waiting) and returns it as stored.
    pub async fn append(
        &self,
        store: &Arc<dyn Store>,
        key: &AuditKey,
        entry: NewAuditEntry,
    ) -> Result<AuditEntry, String> {
        let queue = self
            .queue
            .get_or_init(|| async {
                let (sender, receiver) = mpsc::unbounded_channel();
                tokio::spawn(write_batches(store.clone(), key.clone(), receiver));
                tokio::spawn(flush_refusal_counts(
                    Arc::downgrade(&self.refusals),
                    sender.clone(),
                ));
                sender
            })
            .await;
        let (reply, answer) = oneshot::channel();
        queue
            .send((entry, reply))
            .map_err(|_| "the audit writer has stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the audit writer has stopped".to_owned())?
    }

    /// Audits a refused write, unless its source has had its share of
    /// entries this window (then it is only counted).
    pub async fn refused(
        &self,
        store: &Arc<dyn Store>,
        key: &AuditKey,
        entry: NewAuditEntry,
    ) -> Result<(), String> {
        if self.refusals.admit(&entry, Instant::now()) {
            self.append(store, key, entry).await?;
        }
        Ok(())
    }
}

/// Runs until every sender is gone (the application was dropped).
async fn write_batches(
    store: Arc<dyn Store>,
    key: AuditKey,
    mut queue: mpsc::UnboundedReceiver<(NewAuditEntry, Reply)>,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let entries: Vec<NewAuditEntry> = batch.iter().map(|(entry, _)| entry.clone()).collect();
        match store.append_audit_entries(&key, &entries).await {
            Ok(stored) => {
                for ((_, reply), entry) in batch.into_iter().zip(stored) {
                    let _ = reply.send(Ok(entry));
                }
            }
            Err(error) => {
                let message = error.to_string();
                for (_, reply) in batch {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }
}

/// Writes the counts of closed windows, until the application is dropped.
async fn flush_refusal_counts(
    sampler: std::sync::Weak<RefusalSampler>,
    queue: mpsc::UnboundedSender<(NewAuditEntry, Reply)>,
) {
    let mut tick = tokio::time::interval(REFUSAL_WINDOW / 6);
    loop {
        tick.tick().await;
        let Some(sampler) = sampler.upgrade() else {
            return;
        };
        for entry in sampler.closed(Instant::now()) {
            let (reply, _) = oneshot::channel();
            if queue.send((entry, reply)).is_err() {
                return;
            }
        }
    }
}

/// Counts refused writes per source address and window.
#[derive(Default)]
struct RefusalSampler {
    windows: Mutex<HashMap<String, Window>>,
}

struct Window {
    started: Instant,
    audited: u32,
    /// The first refusal not audited one by one, and how many there were.
    skipped: Option<(NewAuditEntry, u32)>,
}

impl RefusalSampler {
    /// Whether this refusal gets its own entry.
    fn admit(&self, entry: &NewAuditEntry, now: Instant) -> bool {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let source =
            if windows.len() >= MAX_TRACKED_SOURCES && !windows.contains_key(&entry.address) {
                SHARED_SOURCE.to_owned()
            } else {
                entry.address.clone()
            };
        let window = windows.entry(source).or_insert(Window {
            started: now,
            audited: 0,
            skipped: None,
        });
        if window.audited < REFUSALS_AUDITED_PER_WINDOW {
            window.audited += 1;
            return true;
        }
        match &mut window.skipped {
            Some((_, count)) => *count += 1,
            None => window.skipped = Some((entry.clone(), 1)),
        }
        false
    }

    /// The count entries of the windows that have closed (and forgets them).
    fn closed(&self, now: Instant) -> Vec<NewAuditEntry> {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let mut counts = Vec::new();
        windows.retain(|source, window| {
            if now.duration_since(window.started) < REFUSAL_WINDOW {
                return true;
            }
            if let Some((first, count)) = window.skipped.take() {
                counts.push(NewAuditEntry {
                    summary: format!(
                        "refused: {count} more refused writes from {source} within {} s, counted here and not audited one by one (the first is this entry's target)",
                        REFUSAL_WINDOW.as_secs()
                    ),
                    ..first
                });
            }
            false
        });
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(address: &str, n: usize) -> NewAuditEntry {
        NewAuditEntry {
            actor: "unauthenticated".into(),
            address: address.into(),
            method: "POST".into(),
            target: format!("/contracts/publish?{n}"),
            status: 401,
            summary: "refused".into(),
        }
    }

    #[test]
    fn a_flood_of_refusals_from_one_address_costs_a_bounded_number_of_entries() {
        let sampler = RefusalSampler::default();
        let start = Instant::now();
        let admitted = (0..1000)
            .filter(|n| sampler.admit(&refusal("10.0.0.9", *n), start))
            .count();
        assert_eq!(admitted, REFUSALS_AUDITED_PER_WINDOW as usize);
        // Another address is not silenced by the flood.
        assert!(sampler.admit(&refusal("10.0.0.1", 0), start));
        assert!(sampler.closed(start).is_empty(), "the window is still open");
        let counted = sampler.closed(start + REFUSAL_WINDOW);
        assert_eq!(counted.len(), 1);
        assert!(
            counted[0]
                .summary
                .contains("990 more refused writes from 10.0.0.9"),
            "{}",
            counted[0].summary
        );
        assert_eq!(counted[0].target, "/contracts/publish?10");
        // A new window audits again.
        assert!(sampler.admit(&refusal("10.0.0.9", 0), start + REFUSAL_WINDOW));
    }
}

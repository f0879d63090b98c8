//! Appends audit entries in batches: the entries of requests that finish
//! while a batch is being written go into the next one, so under load many
//! requests' entries cost one commit instead of one each. A request is still
//! answered only once its entry is stored.

use std::sync::Arc;

use tokio::sync::{OnceCell, mpsc, oneshot};
use treaty_domain::access::AuditEntry;
use treaty_store::{NewAuditEntry, Store};

/// The most entries written in one transaction.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<AuditEntry, String>>;

/// The one writer of an application's audit log; started on first use.
#[derive(Clone, Default)]
pub struct AuditLog {
    queue: Arc<OnceCell<mpsc::UnboundedSender<(NewAuditEntry, Reply)>>>,
}

impl AuditLog {
    /// Stores the entry (with whatever else is waiting) and returns it as stored.
    pub async fn append(
        &self,
        store: &Arc<dyn Store>,
        entry: NewAuditEntry,
    ) -> Result<AuditEntry, String> {
        let queue = self
            .queue
            .get_or_init(|| async {
                let (sender, receiver) = mpsc::unbounded_channel();
                tokio::spawn(write_batches(store.clone(), receiver));
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
}

/// Runs until every sender is gone (the application was dropped).
async fn write_batches(
    store: Arc<dyn Store>,
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
        match store.append_audit_entries(&entries).await {
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

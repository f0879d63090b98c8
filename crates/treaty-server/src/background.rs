//! Work a replica does on its own, besides answering requests: marking
//! deployments whose pipeline died as timed out, delivering webhooks, and
//! computing bi-directional comparisons (`comparisons.rs`).
//!
//! Every replica runs the same loop. The work is claimed through the
//! database: each sweep is one write transaction (serialised across replicas
//! by the store), so a deployment times out exactly once, and a replica that
//! dies mid-sweep leaves nothing half done for another to finish.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;
use treaty_store::{AttemptOutcome, Store};

use crate::ServerConfig;
use crate::secrets::Sealer;
use crate::webhook_sender::Sender;

/// Starts the background work the configuration asks for; stops with the
/// runtime. `base_url` goes in front of the links webhooks carry when
/// `--base-url` is not set.
pub fn spawn(store: Arc<dyn Store>, config: &ServerConfig, base_url: &str) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    if let Some(after) = config.stale_deployment_after {
        tasks.push(tokio::spawn(time_out_stale_deployments(
            store.clone(),
            after,
        )));
    }
    if let Some(every) = config.audit_head_log_interval {
        tasks.push(tokio::spawn(log_audit_head(store.clone(), every)));
    }
    tasks.push(tokio::spawn(crate::comparisons::work(
        store.clone(),
        config.webhook_poll_interval,
    )));
    tasks.push(tokio::spawn(deliver_webhooks(
        store,
        WebhookWorker {
            sender: Sender::new(config.webhook_policy.clone(), config.webhook_proxy.as_ref()),
            retry_schedule: config.webhook_retry_schedule.clone(),
            poll_interval: config.webhook_poll_interval,
            base_url: config
                .base_url
                .clone()
                .unwrap_or_else(|| base_url.to_owned()),
            secret_key: config.secret_key.clone(),
            lease: config.webhook_delivery_lease,
        },
    )));
    tasks
}

/// Writes the audit log's head to the server log at a fixed interval, so a
/// log collector keeps a trail of heads outside the database: any of them
/// given to `treaty audit verify --expect-head` proves that nothing written
/// before it was removed since.
async fn log_audit_head(store: Arc<dyn Store>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match store.audit_head().await {
            Ok(head) => {
                if let Some(newest) = head.newest {
                    tracing::info!(
                        audit.head = %newest.hash,
                        audit.id = newest.id,
                        audit.entries = head.entries,
                        "audit log head: entry {} of {}, hash {}",
                        newest.id,
                        head.entries,
                        newest.hash
                    );
                }
            }
            Err(error) => tracing::warn!("cannot read the audit log's head: {error}"),
        }
    }
}

struct WebhookWorker {
    sender: Sender,
    retry_schedule: Vec<Duration>,
    poll_interval: Duration,
    base_url: String,
    secret_key: Option<secrecy::SecretString>,
    /// How long a claimed delivery is this worker's.
    lease: Duration,
}

/// Sends due deliveries, one at a time, until none is due; then waits.
async fn deliver_webhooks(store: Arc<dyn Store>, worker: WebhookWorker) {
    let sealer = loop {
        match Sealer::for_store(
            store.as_ref(),
            worker
                .secret_key
                .as_ref()
                .map(secrecy::ExposeSecret::expose_secret),
        )
        .await
        {
            Ok(sealer) => break sealer,
            Err(error) => {
                tracing::warn!("cannot read the key that opens webhook secrets: {error}");
                tokio::time::sleep(worker.poll_interval).await;
            }
        }
    };
    loop {
        match store.claim_webhook_delivery(worker.lease).await {
            Ok(Some(delivery)) => {
                let Some(webhook) = delivery.webhook.clone() else {
                    continue;
                };
                let webhook = sealer.open_webhook(webhook);
                let sent = worker
                    .sender
                    .send(
                        &webhook,
                        &delivery.uuid,
                        &delivery.context,
                        &worker.base_url,
                    )
                    .await;
                let attempt = delivery.attempts_made as usize + 1;
                let retry_at = (!sent.success && !sent.refused)
                    .then(|| worker.retry_schedule.get(attempt - 1))
                    .flatten()
                    .and_then(|wait| chrono::Duration::from_std(*wait).ok())
                    .map(|wait| Utc::now() + wait);
                let mut logs = sent.logs;
                if let Some(at) = retry_at {
                    logs.push_str(&format!(
                        "[{}] INFO: attempt {attempt} failed; retrying at {}\n",
                        treaty_domain::time::format(Utc::now()),
                        treaty_domain::time::format(at)
                    ));
                }
                let outcome = AttemptOutcome {
                    success: sent.success,
                    logs,
                    retry_at,
                };
                if let Err(error) = store.record_webhook_attempt(delivery.id, &outcome).await {
                    // The lease runs out and the delivery is tried again: sent twice rather than lost.
                    tracing::warn!(delivery = %delivery.uuid, "cannot record a webhook attempt: {error}");
                } else if !sent.success && retry_at.is_none() {
                    tracing::warn!(delivery = %delivery.uuid, event = %delivery.event_name, "webhook delivery failed for good: {}", sent.message);
                }
            }
            Ok(None) => tokio::time::sleep(worker.poll_interval).await,
            Err(error) => {
                tracing::warn!("cannot claim a webhook delivery: {error}");
                tokio::time::sleep(worker.poll_interval).await;
            }
        }
    }
}

/// How often to look: often enough that a deployment is timed out soon after
/// its limit, rarely enough to cost nothing.
fn sweep_interval(after: Duration) -> Duration {
    (after / 4).clamp(Duration::from_millis(100), Duration::from_secs(60))
}

async fn time_out_stale_deployments(store: Arc<dyn Store>, after: Duration) {
    let Ok(limit) = chrono::Duration::from_std(after) else {
        tracing::error!(
            "the stale-deployment limit {after:?} is too large; deployments never time out"
        );
        return;
    };
    let mut ticks = tokio::time::interval(sweep_interval(after));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match store.time_out_stale_deployments(Utc::now() - limit).await {
            Ok(ids) if !ids.is_empty() => {
                tracing::info!(deployments = ?ids, "timed out deployments left open longer than {after:?}");
            }
            Ok(_) => {}
            // The next tick tries again; one failed sweep loses nothing.
            Err(error) => tracing::warn!("cannot time out stale deployments: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn sweeps_at_a_quarter_of_the_limit_within_bounds() {
        assert_eq!(
            super::sweep_interval(Duration::from_secs(3600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            super::sweep_interval(Duration::from_secs(8)),
            Duration::from_secs(2)
        );
        assert_eq!(
            super::sweep_interval(Duration::ZERO),
            Duration::from_millis(100)
        );
    }
}

//! Work a replica does on its own, besides answering requests: marking
//! deployments whose pipeline died as timed out.
//!
//! Every replica runs the same loop. The work is claimed through the
//! database: each sweep is one write transaction (serialised across replicas
//! by the store), so a deployment times out exactly once, and a replica that
//! dies mid-sweep leaves nothing half done for another to finish.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;
use treaty_store::Store;

use crate::ServerConfig;

/// Starts the background work the configuration asks for; stops with the runtime.
pub fn spawn(store: Arc<dyn Store>, config: &ServerConfig) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    if let Some(after) = config.stale_deployment_after {
        tasks.push(tokio::spawn(time_out_stale_deployments(store, after)));
    }
    tasks
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

//! The comparison worker: computes the bi-directional comparisons that
//! publications queued (a provider contract against consumer pacts, a pact
//! against provider contracts), one at a time, claimed through the database
//! so that each is computed by one worker of one replica.
//!
//! The comparison runs outside any transaction (it is CPU work, on a
//! blocking thread); its result is written in one. When idle, the worker
//! also queues the pairs can-i-deploy would ask about that no publication
//! queued (a version deployed or put on a main branch after the other side
//! published), so such a pair is unknown only until the next sweep.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use treaty_domain::provider_contracts::ComparisonWork;
use treaty_store::Store;

/// How long a claimed comparison belongs to its worker: far longer than a
/// comparison takes, so only a dead worker's work is taken over.
const LEASE: Duration = Duration::from_secs(120);

/// Idle polls between two sweeps for missing pairs.
const POLLS_PER_SWEEP: u32 = 5;

/// Compares one pact with one provider contract: whether they are compatible,
/// and the findings in PactFlow's shape. A document that no longer parses
/// (stored before the parser became stricter) is one error finding.
pub fn compute(pact: &str, contract: &str, content_type: &str) -> (bool, Value) {
    let pact: Value = match serde_json::from_str(pact) {
        Ok(pact) => pact,
        Err(error) => {
            return (
                false,
                json!([{ "code": "pact.invalid", "message": format!("the stored pact is not JSON: {error}"), "type": "error" }]),
            );
        }
    };
    match treaty_comparator::ProviderContract::parse(contract.as_bytes(), Some(content_type)) {
        Ok(contract) => {
            let comparison = treaty_comparator::compare(&contract, &pact);
            let findings = serde_json::to_value(&comparison.findings).unwrap_or(Value::Null);
            (comparison.is_compatible(), findings)
        }
        Err(error) => (
            false,
            json!([{ "code": "document.invalid", "message": error.to_string(), "type": "error" }]),
        ),
    }
}

async fn run_one(store: &dyn Store, work: ComparisonWork) {
    let outcome = match (work.pact.clone(), work.contract.clone()) {
        (Some(pact), Some((contract, content_type))) => {
            match tokio::task::spawn_blocking(move || compute(&pact, &contract, &content_type))
                .await
            {
                Ok(outcome) => Some(outcome),
                Err(error) => {
                    // The lease runs out and another attempt is made.
                    tracing::error!(pact = %work.pact_sha, contract = %work.contract_sha, "comparison failed: {error}");
                    return;
                }
            }
        }
        // A content removed since (`treaty clean`): nothing to compare.
        _ => None,
    };
    let recorded = store
        .record_comparison(&work, outcome.as_ref().map(|(ok, f)| (*ok, f)))
        .await;
    if let Err(error) = recorded {
        tracing::warn!(pact = %work.pact_sha, contract = %work.contract_sha, "cannot record a comparison: {error}");
    }
}

/// Computes queued comparisons until none is left; then sweeps and waits.
pub async fn work(store: Arc<dyn Store>, poll_interval: Duration) {
    let mut idle_polls = 0;
    loop {
        match store.claim_comparison(LEASE).await {
            Ok(Some(work)) => run_one(store.as_ref(), work).await,
            Ok(None) => {
                idle_polls += 1;
                if idle_polls >= POLLS_PER_SWEEP {
                    idle_polls = 0;
                    if let Err(error) = store.queue_missing_comparisons().await {
                        tracing::warn!("cannot queue missing comparisons: {error}");
                    }
                }
                tokio::time::sleep(poll_interval).await;
            }
            Err(error) => {
                tracing::warn!("cannot claim a comparison: {error}");
                tokio::time::sleep(poll_interval).await;
            }
        }
    }
}

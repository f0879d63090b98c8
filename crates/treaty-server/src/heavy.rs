//! CPU-heavy work of a request, off the async runtime's threads.
//!
//! A request handler that computes for long on a runtime thread holds it:
//! the requests queued on that thread wait, and the request timeout cannot
//! stop it (a timeout fires only at an `.await`). Such work runs here
//! instead, on Tokio's blocking threads, and at most one job per core but
//! one at once, so that one client's heavy requests leave a core to
//! everyone else. The work itself must be bounded (a size limit, a
//! deadline): a blocking thread cannot be stopped from outside, and a job
//! whose client has gone still holds its place until it ends.

use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

use crate::error::ApiError;

fn permits() -> &'static Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Arc::new(Semaphore::new(cores.saturating_sub(1).max(1)))
    })
}

/// Runs `work` on a blocking thread once a place is free, and returns what
/// it returned. Waiting for a place ends with the request (its timeout).
pub async fn run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let permit = permits()
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::Internal("the heavy work queue is closed".to_owned()))?;
    let job = tokio::task::spawn_blocking(move || {
        // Held until the work ends, even when its request has gone.
        let _permit = permit;
        work()
    });
    match job.await {
        Ok(value) => Ok(value),
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => Err(ApiError::Internal(format!(
            "heavy work was cancelled: {error}"
        ))),
    }
}

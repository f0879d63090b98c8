//! When to retry a request and how long to wait first.
//!
//! Same policy as the official `pact broker` client, so scripts tuned for it
//! (`--retries`, `PACT_BROKER_HTTP_RETRIES`) behave the same: only failures
//! that may go away on their own are retried (no connection, 5xx, 408 and
//! 429), with exponential back-off from 0.5 s, or the server's `Retry-After`.

use std::time::Duration;

use reqwest::StatusCode;

const FIRST_DELAY: Duration = Duration::from_millis(500);

/// No single wait is longer than this, however many retries were asked for
/// or however far away a `Retry-After` points.
const MAX_DELAY: Duration = Duration::from_secs(300);

/// Whether a response with this status is worth sending again.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
}

/// Whether a request that got no response at all is worth sending again:
/// the connection failed, timed out, or broke before the response came.
pub(crate) fn is_transient(error: &reqwest::Error) -> bool {
    error.is_connect() || error.is_timeout() || error.is_request()
}

/// The wait before retry number `attempt` (1 for the first retry):
/// 0.5 s, 1 s, 2 s, 4 s, ...
pub(crate) fn backoff(attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

/// The wait before retrying a response: its `Retry-After` when it has one
/// (a 429 or 503 says exactly when to come back), else the back-off.
pub(crate) fn delay_after_response(retry_after: Option<&str>, attempt: u32) -> Duration {
    retry_after
        .and_then(parse_retry_after)
        .map(|delay| delay.min(MAX_DELAY))
        .unwrap_or_else(|| backoff(attempt))
}

/// A `Retry-After` in seconds. The HTTP-date form is rare from brokers and is
/// ignored, which falls back to the back-off.
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_only_failures_that_may_pass() {
        for status in [500, 502, 503, 504, 408, 429] {
            assert!(
                is_retryable_status(StatusCode::from_u16(status).expect("status")),
                "{status}"
            );
        }
        for status in [200, 201, 400, 401, 403, 404, 409, 415, 422] {
            assert!(
                !is_retryable_status(StatusCode::from_u16(status).expect("status")),
                "{status}"
            );
        }
    }

    #[test]
    fn back_off_doubles_from_half_a_second_and_is_capped() {
        let delays: Vec<_> = (1..=5).map(backoff).collect();
        assert_eq!(
            delays,
            [500, 1000, 2000, 4000, 8000].map(Duration::from_millis)
        );
        assert_eq!(backoff(0), FIRST_DELAY);
        assert_eq!(backoff(255), MAX_DELAY);
    }

    #[test]
    fn retry_after_in_seconds_wins_over_the_back_off() {
        assert_eq!(delay_after_response(Some(" 3 "), 1), Duration::from_secs(3));
        assert_eq!(delay_after_response(Some("0"), 4), Duration::ZERO);
        assert_eq!(delay_after_response(Some("99999"), 1), MAX_DELAY);
        assert_eq!(
            delay_after_response(Some("Fri, 31 Dec 1999 23:59:59 GMT"), 2),
            Duration::from_secs(1)
        );
        assert_eq!(delay_after_response(None, 3), Duration::from_secs(2));
    }
}

//! When to retry a request and how long to wait first.
//!
//! Only failures that may pass on their own are retried: timeouts (no answer
//! in time, or the broker's 408), 429 and 5xx, with exponential back-off from
//! 0.5 s, or the server's `Retry-After`. A refused connection is not: nothing
//! is listening, and waiting two minutes to say so helps no one. Nor are
//! other failures to connect (an unknown host, a TLS error), which retrying
//! cannot fix. Each retry is announced on stderr, with how long it waits.

use std::fmt;
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
/// only when it timed out (connecting or waiting for the answer).
pub(crate) fn is_transient(error: &reqwest::Error) -> bool {
    error.is_timeout()
}

/// Whether the connection was refused: nothing listens at that address.
pub(crate) fn is_refused(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        source = cause.source();
    }
    false
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

/// What a retry tells the person waiting: what went wrong, how long until
/// the next attempt, and how many are left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RetryNotice {
    /// "GET http://b/ answered 503 Service Unavailable", "... timed out".
    pub what_failed: String,
    pub delay: Duration,
    /// The attempt about to be made, counting the first: 2 for the first retry.
    pub attempt: u32,
    pub attempts: u32,
}

impl fmt::Display for RetryNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; retrying in {} (attempt {} of {})",
            self.what_failed,
            seconds(self.delay),
            self.attempt,
            self.attempts
        )
    }
}

/// `0.5s`, `2s`, `1m 4s`.
fn seconds(delay: Duration) -> String {
    let millis = delay.as_millis();
    if !millis.is_multiple_of(1000) {
        format!("{:.1}s", delay.as_secs_f64())
    } else if delay.as_secs() >= 60 {
        format!("{}m {}s", delay.as_secs() / 60, delay.as_secs() % 60)
    } else {
        format!("{}s", delay.as_secs())
    }
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

    #[test]
    fn a_retry_says_what_failed_how_long_it_waits_and_how_many_are_left() {
        let notice = RetryNotice {
            what_failed: "GET http://b/ answered 503 Service Unavailable".into(),
            delay: Duration::from_secs(2),
            attempt: 3,
            attempts: 9,
        };
        assert_eq!(
            notice.to_string(),
            "GET http://b/ answered 503 Service Unavailable; retrying in 2s (attempt 3 of 9)"
        );
        assert_eq!(seconds(Duration::from_millis(500)), "0.5s");
        assert_eq!(seconds(Duration::from_secs(64)), "1m 4s");
    }
}

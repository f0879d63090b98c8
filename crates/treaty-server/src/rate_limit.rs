//! A token bucket per caller (an identity, or an address when nobody signed
//! in), so that one runaway script cannot starve everyone else; and one per
//! address and per user name for failed sign-ins, so that guessing passwords
//! is slow. Each replica counts on its own: the limit is per replica, which
//! is what protects it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Beyond this many callers, full buckets are forgotten.
const MAX_TRACKED: usize = 10_000;

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::default(),
        }
    }

    /// `Ok` when the caller may go on; otherwise how long until it may.
    pub fn check(&self, caller: &str) -> Result<(), Duration> {
        self.check_at(caller, Instant::now())
    }

    fn check_at(&self, caller: &str, now: Instant) -> Result<(), Duration> {
        let per_second = self.per_minute / 60.0;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > MAX_TRACKED {
            let capacity = self.per_minute;
            buckets.retain(|_, (tokens, last)| {
                *tokens + now.duration_since(*last).as_secs_f64() * per_second < capacity
            });
        }
        let (tokens, last) = buckets
            .entry(caller.to_owned())
            .or_insert((self.per_minute, now));
        *tokens =
            (*tokens + now.duration_since(*last).as_secs_f64() * per_second).min(self.per_minute);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_second))
        }
    }
}

/// Failed sign-ins: each address and each user name may fail
/// `per_minute` times in a burst, then once every `60 / per_minute` seconds.
/// Only failures count, so a real user who signs in is never slowed, and a
/// user name someone else is guessing at waits seconds, never long: the
/// bucket refills in a minute at most.
pub struct SignInThrottle {
    failures: Option<RateLimiter>,
}

impl SignInThrottle {
    /// `per_minute` 0: no throttle.
    pub fn new(per_minute: u32) -> Self {
        Self {
            failures: (per_minute > 0).then(|| RateLimiter::new(per_minute)),
        }
    }

    /// `Err(wait)` when any of these (an address, a user name) has used up
    /// its failures and must wait before trying again.
    pub fn check(&self, keys: &[&str]) -> Result<(), Duration> {
        let Some(failures) = &self.failures else {
            return Ok(());
        };
        let now = Instant::now();
        keys.iter()
            .filter_map(|key| failures.wait_at(key, now))
            .max()
            .map_or(Ok(()), Err)
    }

    /// Counts one failed sign-in against each key.
    pub fn failed(&self, keys: &[&str]) {
        if let Some(failures) = &self.failures {
            let now = Instant::now();
            for key in keys {
                let _ = failures.check_at(key, now);
            }
        }
    }
}

impl RateLimiter {
    /// How long until `caller` has a token again, without taking one.
    fn wait_at(&self, caller: &str, now: Instant) -> Option<Duration> {
        let per_second = self.per_minute / 60.0;
        let buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, last) = buckets.get(caller)?;
        let tokens =
            (tokens + now.duration_since(*last).as_secs_f64() * per_second).min(self.per_minute);
        (tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - tokens) / per_second))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{RateLimiter, SignInThrottle};

    #[test]
    fn each_caller_has_its_own_bucket_that_refills() {
        let limiter = RateLimiter::new(60);
        let start = Instant::now();
        for _ in 0..60 {
            assert!(limiter.check_at("ci", start).is_ok());
        }
        let wait = limiter.check_at("ci", start).unwrap_err();
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::from_millis(900),
            "{wait:?}"
        );
        assert!(limiter.check_at("someone-else", start).is_ok());
        assert!(
            limiter
                .check_at("ci", start + Duration::from_secs(1))
                .is_ok()
        );
    }

    #[test]
    fn failed_sign_ins_wait_per_address_and_per_user_and_only_briefly() {
        let throttle = SignInThrottle::new(5);
        for _ in 0..5 {
            assert!(throttle.check(&["10.0.0.1", "user:alice"]).is_ok());
            throttle.failed(&["10.0.0.1", "user:alice"]);
        }
        let wait = throttle.check(&["10.0.0.1", "user:bob"]).unwrap_err();
        assert!(wait <= Duration::from_secs(12), "{wait:?}");
        // The same user name from another address waits too...
        assert!(throttle.check(&["10.0.0.2", "user:alice"]).is_err());
        // ...but another user from another address does not.
        assert!(throttle.check(&["10.0.0.2", "user:bob"]).is_ok());
        assert!(SignInThrottle::new(0).check(&["10.0.0.1"]).is_ok());
    }
}

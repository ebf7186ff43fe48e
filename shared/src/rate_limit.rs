//! Rate limits (SPEC section 3): fixed windows counted by one conditional
//! update per step, so N concurrent requests against a limit of L get exactly
//! L through.
//!
//! A request *takes* a unit before it acts. Where only failures should count
//! (a wrong secret, an invalid link) it *gives it back* when the outcome was
//! not one, so a secret is never checked more often than the limit allows,
//! even under concurrency. Flows that fold a limit into a transaction of
//! their own take the current [`Window`] instead.
//!
//! This module owns its port, [`Counters`]; the store implements it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::clock::Clock;
use crate::config::RateLimits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Emails of one kind to one user per hour (`kind` names the email).
    Emails { kind: &'static str },
    /// Wrong current passwords or reset codes per user per hour.
    WrongSecrets,
    /// Admin resets per calling admin per minute.
    AdminResets,
    /// Unknown, used or expired set-password links per client address per hour.
    InvalidLinks,
}

impl Limit {
    fn name(self) -> String {
        match self {
            Limit::Emails { kind } => format!("emails:{kind}"),
            Limit::WrongSecrets => "wrong-secrets".into(),
            Limit::AdminResets => "admin-resets".into(),
            Limit::InvalidLinks => "invalid-links".into(),
        }
    }

    fn quota(self, limits: &RateLimits) -> (u32, Duration) {
        match self {
            Limit::Emails { .. } => (limits.emails_per_hour, Duration::from_secs(3600)),
            Limit::WrongSecrets => (limits.wrong_secrets_per_hour, Duration::from_secs(3600)),
            Limit::AdminResets => (limits.admin_resets_per_minute, Duration::from_secs(60)),
            Limit::InvalidLinks => (limits.invalid_links_per_hour, Duration::from_secs(3600)),
        }
    }
}

/// The current fixed window of a limit for a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The counter item's key: limit, subject and window start.
    pub counter: String,
    pub quota: u32,
    /// Unix seconds; the counter item expires (TTL) then.
    pub ends_at: i64,
    pub now: i64,
}

impl Window {
    /// The refusal of a request over this window's limit.
    pub fn limited(&self) -> RateLimited {
        RateLimited {
            retry_after_seconds: (self.ends_at - self.now).max(1) as u64,
        }
    }
}

/// A request over a limit: 429 with `Retry-After` in every family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many requests; retry after {retry_after_seconds} s")]
pub struct RateLimited {
    pub retry_after_seconds: u64,
}

/// The counter store the limits count in.
#[async_trait]
pub trait Counters: Send + Sync {
    /// Adds one to a fixed-window counter unless it already holds `limit`, in
    /// one conditional update. Returns whether the unit was taken. The item
    /// expires (TTL) at `expires_at`, the end of its window.
    async fn take_from_counter(
        &self,
        counter: &str,
        limit: u32,
        expires_at: i64,
    ) -> Result<bool, CounterError>;

    /// Gives back one unit taken with `take_from_counter` (never below zero).
    async fn give_back_to_counter(&self, counter: &str) -> Result<(), CounterError>;
}

#[derive(Debug, thiserror::Error)]
#[error("counter store failed: {0}")]
pub struct CounterError(pub String);

/// Why a unit could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum TakeError {
    #[error(transparent)]
    Limited(#[from] RateLimited),
    #[error(transparent)]
    Store(#[from] CounterError),
}

/// A unit taken from a window, to give back if the request did not count.
#[derive(Debug)]
pub struct Taken {
    counter: String,
}

/// The limits of SPEC section 3 over a counter store and a clock.
pub struct RateLimiter {
    counters: Arc<dyn Counters>,
    clock: Arc<dyn Clock>,
    limits: RateLimits,
}

impl RateLimiter {
    pub fn new(counters: Arc<dyn Counters>, clock: Arc<dyn Clock>, limits: RateLimits) -> Self {
        Self {
            counters,
            clock,
            limits,
        }
    }

    /// Takes one unit of `limit` for `subject` in the current window.
    pub async fn take(&self, limit: Limit, subject: &str) -> Result<Taken, TakeError> {
        let window = self.window(limit, subject);
        if self
            .counters
            .take_from_counter(&window.counter, window.quota, window.ends_at)
            .await?
        {
            Ok(Taken {
                counter: window.counter,
            })
        } else {
            Err(window.limited().into())
        }
    }

    /// The window `limit` counts in now, for `subject`.
    pub fn window(&self, limit: Limit, subject: &str) -> Window {
        let (quota, length) = limit.quota(&self.limits);
        let length = length.as_secs() as i64;
        let now = self.clock.now_seconds();
        let start = now - now.rem_euclid(length);
        Window {
            counter: format!("{}#{subject}#{start}", limit.name()),
            quota,
            ends_at: start + length,
            now,
        }
    }

    /// Gives a unit back: the request turned out not to count. A failure here
    /// only makes the limit stricter, so it is logged, not returned.
    pub async fn give_back(&self, taken: Taken) {
        if let Err(error) = self.counters.give_back_to_counter(&taken.counter).await {
            tracing::warn!(%error, "rate-limit unit not given back");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    struct NoCounters;

    #[async_trait]
    impl Counters for NoCounters {
        async fn take_from_counter(&self, _: &str, _: u32, _: i64) -> Result<bool, CounterError> {
            Ok(false)
        }
        async fn give_back_to_counter(&self, _: &str) -> Result<(), CounterError> {
            Ok(())
        }
    }

    fn limiter(clock: &ManualClock) -> RateLimiter {
        let limits = RateLimits {
            emails_per_hour: 5,
            wrong_secrets_per_hour: 10,
            admin_resets_per_minute: 30,
            invalid_links_per_hour: 20,
        };
        RateLimiter::new(Arc::new(NoCounters), Arc::new(clock.clone()), limits)
    }

    #[test]
    fn windows_are_fixed_and_named_by_limit_subject_and_start() {
        let clock = ManualClock::starting_now();
        let limiter = limiter(&clock);
        let window = limiter.window(Limit::AdminResets, "admin-1");
        assert_eq!(window.ends_at % 60, 0);
        assert!(window.ends_at > window.now && window.ends_at - window.now <= 60);
        assert_eq!(
            window.counter,
            format!("admin-resets#admin-1#{}", window.ends_at - 60)
        );
        assert_eq!(window.quota, 30);
    }

    #[tokio::test]
    async fn a_full_window_is_refused_with_the_seconds_left() {
        let clock = ManualClock::starting_now();
        let limiter = limiter(&clock);
        let window = limiter.window(Limit::WrongSecrets, "u");
        let Err(TakeError::Limited(limited)) = limiter.take(Limit::WrongSecrets, "u").await else {
            panic!("expected a refusal");
        };
        assert_eq!(
            limited.retry_after_seconds,
            (window.ends_at - window.now).max(1) as u64
        );
    }
}

//! Rate limits (SPEC section 3): fixed windows counted in DynamoDB, one
//! conditional update per step, so N concurrent requests against a limit of L
//! get exactly L through.
//!
//! A request *takes* a unit before it acts. Where only failures should count
//! (a wrong secret, an invalid link) it *gives it back* when the outcome was
//! not one, so a secret is never checked more often than the limit allows,
//! even under concurrency.

use std::time::Duration;

use crate::config::RateLimits;
use crate::service::{ServiceError, Services};

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

/// The current fixed window of a limit for a subject, for code that folds
/// the limit into a transaction of its own.
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
    pub fn limited(&self) -> ServiceError {
        ServiceError::RateLimited {
            retry_after_seconds: (self.ends_at - self.now).max(1) as u64,
        }
    }
}

/// A unit taken from a window, to give back if the request did not count.
#[derive(Debug)]
pub struct Taken {
    counter: String,
}

impl Services {
    /// Takes one unit of `limit` for `subject` in the current window, or
    /// answers `RateLimited` with the seconds until the window ends.
    pub async fn take(&self, limit: Limit, subject: &str) -> Result<Taken, ServiceError> {
        let window = self.window(limit, subject);
        if self
            .store
            .take_from_counter(&window.counter, window.quota, window.ends_at)
            .await?
        {
            Ok(Taken {
                counter: window.counter,
            })
        } else {
            Err(window.limited())
        }
    }

    /// The window `limit` counts in now, for `subject`.
    pub fn window(&self, limit: Limit, subject: &str) -> Window {
        let (quota, length) = limit.quota(&self.config.rate_limits);
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
        if let Err(error) = self.store.give_back_to_counter(&taken.counter).await {
            tracing::warn!(%error, "rate-limit unit not given back");
        }
    }
}

//! Secrets read at run time (the pepper, the OTP key ring): a function's
//! configuration holds only their ids, so no value is ever in the Lambda
//! configuration or the template, and a rotated value reaches a warm
//! function without a deployment.
//!
//! - Each is read on first use (a function that never needs it never reads
//!   it, nor builds the Secrets Manager client), or ahead of the first
//!   request by the function's start-up (`lambda::serve_needing`),
//!   concurrently with it.
//! - A value is kept for `SECRETS_REFRESH_SECONDS` (300 by default), then read
//!   again: a rotation reaches every warm function within that long.
//! - A read is single-flight: requests that find the value stale wait for the
//!   one read in flight.
//! - A failed read, or a new value that does not parse, keeps the value held
//!   (logged, tried again after [`RETRY_AFTER_FAILURE`]); only a function that
//!   never read one answers 500.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;

/// How long a value held is served after a failed read before the next try.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// Why a secret could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The function's configuration names no such secret.
    #[error("{0} is not set")]
    NotConfigured(&'static str),
    #[error("secret {id} could not be read: {reason}")]
    Unavailable { id: String, reason: String },
    /// The value does not parse; the reason never repeats the value.
    #[error("secret {id} is not valid: {reason}")]
    Invalid { id: String, reason: String },
}

/// Where secret values come from: Secrets Manager, by id (its adapter is
/// with the rest of the AWS wiring, `aws::SecretsManager`).
#[async_trait]
pub trait SecretSource: Send + Sync {
    async fn secret_string(&self, id: &str) -> Result<String, SecretError>;
}

/// One secret, parsed, held for a bounded time (see the module's notes).
pub struct CachedSecret<T> {
    /// The variable that names it, for errors.
    variable: &'static str,
    id: Option<String>,
    parse: fn(&str) -> Result<T, String>,
    keep_for: Duration,
    held: RwLock<Option<Held<T>>>,
    /// Held across a read, so that concurrent requests wait on the one read.
    reading: tokio::sync::Mutex<()>,
}

struct Held<T> {
    value: Arc<T>,
    read_again_at: Instant,
}

impl<T: Send + Sync> CachedSecret<T> {
    pub fn new(
        variable: &'static str,
        id: Option<String>,
        parse: fn(&str) -> Result<T, String>,
        keep_for: Duration,
    ) -> Self {
        Self {
            variable,
            id,
            parse,
            keep_for,
            held: RwLock::new(None),
            reading: tokio::sync::Mutex::new(()),
        }
    }

    pub fn is_configured(&self) -> bool {
        self.id.is_some()
    }

    /// The value, read from `source` where none is held or it is due.
    pub async fn get(&self, source: &dyn SecretSource) -> Result<Arc<T>, SecretError> {
        let id = self
            .id
            .as_deref()
            .ok_or(SecretError::NotConfigured(self.variable))?;
        if let Some(value) = self.fresh() {
            return Ok(value);
        }
        let _reading = self.reading.lock().await;
        // A request that waited here finds what the read before it got.
        if let Some(value) = self.fresh() {
            return Ok(value);
        }
        let read = source.secret_string(id).await.and_then(|text| {
            (self.parse)(&text).map_err(|reason| SecretError::Invalid {
                id: id.to_owned(),
                reason,
            })
        });
        let mut held = self.held.write().unwrap_or_else(|e| e.into_inner());
        match (read, held.as_mut()) {
            (Ok(value), _) => {
                let value = Arc::new(value);
                *held = Some(Held {
                    value: Arc::clone(&value),
                    read_again_at: Instant::now() + self.keep_for,
                });
                Ok(value)
            }
            (Err(error), Some(stale)) => {
                tracing::warn!(%error, "keeping the value held");
                stale.read_again_at = Instant::now() + RETRY_AFTER_FAILURE.min(self.keep_for);
                Ok(Arc::clone(&stale.value))
            }
            (Err(error), None) => Err(error),
        }
    }

    fn fresh(&self) -> Option<Arc<T>> {
        let held = self.held.read().unwrap_or_else(|e| e.into_inner());
        held.as_ref()
            .filter(|held| Instant::now() < held.read_again_at)
            .map(|held| Arc::clone(&held.value))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;

    /// A source whose value the test sets, counting reads.
    struct Values {
        value: Mutex<Result<String, SecretError>>,
        reads: AtomicUsize,
    }

    impl Values {
        fn new(value: &str) -> Self {
            Self {
                value: Mutex::new(Ok(value.into())),
                reads: AtomicUsize::new(0),
            }
        }
        fn set(&self, value: Result<&str, SecretError>) {
            *self.value.lock().unwrap() = value.map(str::to_owned);
        }
        fn reads(&self) -> usize {
            self.reads.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl SecretSource for Values {
        async fn secret_string(&self, _id: &str) -> Result<String, SecretError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.value.lock().unwrap().clone()
        }
    }

    fn number(text: &str) -> Result<u32, String> {
        text.parse().map_err(|_| "not a number".to_owned())
    }

    fn cached(keep_for: Duration) -> CachedSecret<u32> {
        CachedSecret::new("NUMBER_SECRET_ID", Some("n".into()), number, keep_for)
    }

    fn down() -> SecretError {
        SecretError::Unavailable {
            id: "n".into(),
            reason: "down".into(),
        }
    }

    #[tokio::test]
    async fn a_value_is_read_once_while_it_is_held() {
        let source = Arc::new(Values::new("1"));
        let secret = Arc::new(cached(Duration::from_secs(300)));
        let requests: Vec<_> = (0..20)
            .map(|_| {
                let (secret, source) = (Arc::clone(&secret), Arc::clone(&source));
                tokio::spawn(async move { secret.get(source.as_ref()).await.map(|v| *v) })
            })
            .collect();
        for request in requests {
            assert_eq!(request.await.unwrap(), Ok(1));
        }
        assert_eq!(source.reads(), 1, "single-flight");
        source.set(Ok("2"));
        assert_eq!(*secret.get(source.as_ref()).await.unwrap(), 1);
        assert_eq!(source.reads(), 1);
    }

    #[tokio::test]
    async fn a_rotated_value_is_read_once_the_held_one_is_due() {
        let source = Values::new("1");
        let secret = cached(Duration::ZERO);
        assert_eq!(*secret.get(&source).await.unwrap(), 1);
        source.set(Ok("2"));
        assert_eq!(*secret.get(&source).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_failed_or_invalid_read_keeps_the_value_held() {
        let source = Values::new("1");
        let secret = cached(Duration::ZERO);
        assert_eq!(*secret.get(&source).await.unwrap(), 1);
        source.set(Err(down()));
        assert_eq!(*secret.get(&source).await.unwrap(), 1);
        source.set(Ok("not a number"));
        assert_eq!(*secret.get(&source).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn without_a_value_held_a_failure_is_an_error_that_never_shows_the_value() {
        let source = Values::new("s3cr3t-value");
        let secret = cached(Duration::from_secs(300));
        let error = secret.get(&source).await.unwrap_err();
        assert_eq!(
            error,
            SecretError::Invalid {
                id: "n".into(),
                reason: "not a number".into()
            }
        );
        assert!(!error.to_string().contains("s3cr3t"));
        source.set(Err(down()));
        assert_eq!(secret.get(&source).await.unwrap_err(), down());
        let unset = CachedSecret::new("NUMBER_SECRET_ID", None, number, Duration::ZERO);
        assert_eq!(
            unset.get(&source).await.unwrap_err().to_string(),
            "NUMBER_SECRET_ID is not set"
        );
    }
}

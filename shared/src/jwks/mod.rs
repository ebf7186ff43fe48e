//! The issuer's signing keys (SPEC section 1), cached for the execution
//! environment's life and refreshed from the issuer when a token names a key
//! the cache does not hold, as AWS's `aws-jwt-verify` and API Gateway's JWT
//! authorizer do: the issuer rotating its keys needs no deployment.
//!
//! - A key set in configuration (`JWT_JWKS`) seeds the cache, so a cold start
//!   needs no fetch; without one, the first token fetches.
//! - A miss refreshes the set at most once per floor (`JWT_JWKS_REFRESH_SECONDS`,
//!   60 by default), counted from the last attempt: a burst of unknown `kid`s
//!   costs one fetch. The refresh is single-flight: requests that miss while
//!   one is in flight wait for it and do not fetch again.
//! - A failed or slow fetch (2 s in all) keeps the cached keys: only the token
//!   that needed a new key is refused, and it is a 401, never a 5xx.
//! - Keys of another type or algorithm than RS256/ES256, and encryption keys,
//!   are ignored.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::metrics::{self, Outcome};

mod issuer;

pub use issuer::IssuerKeys;

/// How long one refresh may take in all (discovery and key set).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);

/// A verification key of the issuer.
#[derive(Clone)]
pub struct PublicKey {
    pub kid: Option<String>,
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

impl PublicKey {
    /// The key of `jwk` where it is a signing key of a pinned algorithm:
    /// RS256 or ES256, as its `alg` says or, without one, as its type says
    /// (RSA; EC on P-256). `None` for any other key.
    pub fn from_jwk(jwk: &Jwk) -> Option<Self> {
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            return None;
        }
        let algorithm = match (jwk.common.key_algorithm, &jwk.algorithm) {
            (Some(KeyAlgorithm::RS256), AlgorithmParameters::RSA(_)) => Algorithm::RS256,
            (Some(KeyAlgorithm::ES256), AlgorithmParameters::EllipticCurve(ec))
                if ec.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
            (None, AlgorithmParameters::EllipticCurve(ec)) if ec.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            _ => return None,
        };
        Some(Self {
            kid: jwk.common.key_id.clone(),
            algorithm,
            key: DecodingKey::from_jwk(jwk).ok()?,
        })
    }
}

/// Why a refresh got no key set.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// Where fresh keys come from: the issuer's `jwks_uri`.
#[async_trait]
pub trait KeySource: Send + Sync {
    async fn fetch(&self) -> Result<JwkSet, FetchError>;
}

/// The cached keys and, where an issuer publishes them, how to refresh them.
pub struct KeyCache {
    keys: RwLock<Arc<Vec<PublicKey>>>,
    source: Option<Box<dyn KeySource>>,
    refresh_floor_seconds: i64,
    /// When the last refresh was attempted (Unix seconds); held across the
    /// fetch, so that concurrent misses wait on the one in flight.
    last_refresh: tokio::sync::Mutex<Option<i64>>,
}

impl KeyCache {
    pub fn new(
        seed: Vec<PublicKey>,
        source: Option<Box<dyn KeySource>>,
        refresh_floor_seconds: i64,
    ) -> Self {
        Self {
            keys: RwLock::new(Arc::new(seed)),
            source,
            refresh_floor_seconds,
            last_refresh: tokio::sync::Mutex::new(None),
        }
    }

    /// The key of `algorithm` named `kid` (without `kid`, the only key of
    /// that algorithm), refreshing the set once where it is not cached and
    /// the floor allows (`now` in Unix seconds).
    pub async fn key_for(
        &self,
        algorithm: Algorithm,
        kid: Option<&str>,
        now: i64,
    ) -> Option<DecodingKey> {
        if let Some(key) = self.cached(algorithm, kid) {
            return Some(key);
        }
        let source = self.source.as_ref()?;
        let mut last_refresh = self.last_refresh.lock().await;
        // A refresh that finished while this request waited may hold the key.
        if let Some(key) = self.cached(algorithm, kid) {
            return Some(key);
        }
        if last_refresh.is_some_and(|at| now - at < self.refresh_floor_seconds) {
            return None;
        }
        *last_refresh = Some(now);
        match tokio::time::timeout(FETCH_TIMEOUT, source.fetch()).await {
            Ok(Ok(set)) => {
                let keys: Vec<PublicKey> =
                    set.keys.iter().filter_map(PublicKey::from_jwk).collect();
                tracing::info!(keys = keys.len(), "issuer's signing keys refreshed");
                metrics::record(Outcome::JwksRefreshed);
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
            }
            Ok(Err(error)) => self.failed(&error.0),
            Err(_) => self.failed("timed out"),
        }
        self.cached(algorithm, kid)
    }

    fn failed(&self, why: &str) {
        tracing::warn!(
            error = why,
            "issuer's signing keys not refreshed: the cached ones stay"
        );
        metrics::record(Outcome::JwksRefreshFailed);
    }

    fn cached(&self, algorithm: Algorithm, kid: Option<&str>) -> Option<DecodingKey> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut candidates = keys.iter().filter(|k| k.algorithm == algorithm);
        let found = match kid {
            Some(kid) => candidates.find(|k| k.kid.as_deref() == Some(kid)),
            // Without `kid`, only an unambiguous key will do.
            None => match (candidates.next(), candidates.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            },
        };
        found.map(|k| k.key.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A source that answers the sets it is given, one per fetch, and counts.
    struct Scripted {
        sets: std::sync::Mutex<Vec<Result<JwkSet, FetchError>>>,
        fetches: Arc<AtomicUsize>,
        delay: Duration,
    }

    #[async_trait]
    impl KeySource for Scripted {
        async fn fetch(&self) -> Result<JwkSet, FetchError> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            let mut sets = self.sets.lock().unwrap();
            if sets.is_empty() {
                return Err(FetchError("no more sets".into()));
            }
            sets.remove(0)
        }
    }

    fn rsa_jwk(kid: &str, alg: Option<&str>) -> serde_json::Value {
        // A 2048-bit modulus is not needed to parse: any base64url n and e do.
        let mut jwk = serde_json::json!({ "kty": "RSA", "kid": kid, "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAaxKKMRTMk7KwvU7UDnXu8XzxVZSWOjgWVFCE7KNH73SjvJ1rXBa8SYOV2hPTrmq5PAZ4VaZnJx1zMTtcuS4iyBRG1yVTt8sBbXjGgsJcWoqsMHyd1DGSEL-BjzOxyI6zhNJ64WPfghzfv9w1AuR2m7wKzPMaSi2YYdTcUvfwEGEvCc7AxmLUiOgh56UU2jIoe8qXmvp4wvZCyhn4ZbI4kbxj9W1sGTLWmhSw", "e": "AQAB" });
        if let Some(alg) = alg {
            jwk["alg"] = alg.into();
        }
        jwk
    }

    fn set(jwks: &[serde_json::Value]) -> JwkSet {
        serde_json::from_value(serde_json::json!({ "keys": jwks })).unwrap()
    }

    fn cache(
        seed: &[serde_json::Value],
        answers: Vec<Result<JwkSet, FetchError>>,
        delay: Duration,
    ) -> (Arc<KeyCache>, Arc<AtomicUsize>) {
        let fetches = Arc::new(AtomicUsize::new(0));
        let source = Scripted {
            sets: std::sync::Mutex::new(answers),
            fetches: fetches.clone(),
            delay,
        };
        let seed = set(seed)
            .keys
            .iter()
            .filter_map(PublicKey::from_jwk)
            .collect();
        (
            Arc::new(KeyCache::new(seed, Some(Box::new(source)), 60)),
            fetches,
        )
    }

    const NOW: i64 = 1_800_000_000;

    #[tokio::test]
    async fn a_seeded_key_needs_no_fetch() {
        let (cache, fetches) = cache(&[rsa_jwk("a", Some("RS256"))], vec![], Duration::ZERO);
        assert!(cache
            .key_for(Algorithm::RS256, Some("a"), NOW)
            .await
            .is_some());
        assert_eq!(fetches.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn an_unknown_kid_fetches_once_and_the_floor_holds_until_a_minute_passed() {
        let rotated = set(&[rsa_jwk("b", None), rsa_jwk("a", None)]);
        let (cache, fetches) = cache(&[rsa_jwk("a", None)], vec![Ok(rotated)], Duration::ZERO);
        assert!(cache
            .key_for(Algorithm::RS256, Some("b"), NOW)
            .await
            .is_some());
        assert!(cache
            .key_for(Algorithm::RS256, Some("a"), NOW)
            .await
            .is_some());
        for kid in ["x", "y", "z"] {
            assert!(cache
                .key_for(Algorithm::RS256, Some(kid), NOW + 59)
                .await
                .is_none());
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert!(cache
            .key_for(Algorithm::RS256, Some("x"), NOW + 60)
            .await
            .is_none());
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            2,
            "a minute later, one more"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_misses_wait_on_one_fetch() {
        let rotated = set(&[rsa_jwk("b", None)]);
        let (cache, fetches) = cache(&[], vec![Ok(rotated)], Duration::from_millis(200));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let cache = cache.clone();
            tasks.spawn(async move {
                cache
                    .key_for(Algorithm::RS256, Some("b"), NOW)
                    .await
                    .is_some()
            });
        }
        let found = tasks.join_all().await;
        assert!(found.iter().all(|f| *f), "{found:?}");
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_or_slow_refresh_keeps_the_cached_keys() {
        let (cache, _) = cache(
            &[rsa_jwk("a", None)],
            vec![Err(FetchError("503".into()))],
            Duration::ZERO,
        );
        assert!(cache
            .key_for(Algorithm::RS256, Some("new"), NOW)
            .await
            .is_none());
        assert!(cache
            .key_for(Algorithm::RS256, Some("a"), NOW)
            .await
            .is_some());

        let (slow, _) = cache_with_slow_source();
        let started = std::time::Instant::now();
        assert!(slow
            .key_for(Algorithm::RS256, Some("new"), NOW)
            .await
            .is_none());
        assert!(started.elapsed() < FETCH_TIMEOUT + Duration::from_millis(500));
        assert!(slow
            .key_for(Algorithm::RS256, Some("a"), NOW)
            .await
            .is_some());
    }

    fn cache_with_slow_source() -> (Arc<KeyCache>, Arc<AtomicUsize>) {
        cache(
            &[rsa_jwk("a", None)],
            vec![Ok(set(&[rsa_jwk("new", None)]))],
            FETCH_TIMEOUT + Duration::from_secs(5),
        )
    }

    #[test]
    fn keys_of_other_algorithms_or_for_encryption_are_ignored() {
        let mut encryption = rsa_jwk("enc", None);
        encryption["use"] = "enc".into();
        let parsed = set(&[
            rsa_jwk("rs", Some("RS256")),
            rsa_jwk("rs512", Some("RS512")),
            encryption,
            serde_json::json!({ "kty": "oct", "kid": "hs", "k": "c2VjcmV0" }),
        ]);
        let kept: Vec<_> = parsed.keys.iter().filter_map(PublicKey::from_jwk).collect();
        let kids: Vec<_> = kept.iter().map(|k| k.kid.clone().unwrap()).collect();
        assert_eq!(kids, ["rs"]);
    }
}

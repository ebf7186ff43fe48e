//! Argon2id password hashing (SPEC section 3), off the async runtime.
//!
//! One memory buffer is allocated once and reused by every hash. The argon2
//! crate's convenience API allocates ~19 MiB per call; glibc keeps such freed
//! blocks in per-thread arenas, so a warm Lambda's RSS climbed from ~21 MB to
//! ~138 MB over ten hashes. Reusing the buffer keeps it flat (see the
//! `hash_memory` benchmark).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::domain::policy::normalise;
use crate::domain::{fill_random, AcceptedPassword, Secret};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2 failed: {0}")]
    Argon2(String),
    #[error("the hashing task did not finish: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    /// Matches; `outdated` when the stored hash used other parameters than
    /// the configured ones, so a caller that keeps the password may store
    /// [`PasswordHasher::rehash`] of it (a caller replacing it need not pay).
    Valid {
        outdated: bool,
    },
    Invalid,
}

pub struct PasswordHasher {
    params: Params,
    /// Argon2 working memory, reused across calls (see the module comment).
    memory: Mutex<Vec<Block>>,
    /// A hash no password matches, with the configured parameters: verifying
    /// against it costs what a real verification costs.
    dummy_hash: String,
}

impl PasswordHasher {
    pub fn new(params: Params) -> Arc<Self> {
        let mut salt = [0u8; 16];
        let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
        fill_random(&mut salt);
        fill_random(&mut output);
        let dummy_hash = phc_string(&params, &salt, &output).expect("valid argon2 parameters");
        Arc::new(Self {
            params,
            memory: Mutex::new(Vec::new()),
            dummy_hash,
        })
    }

    /// Hashes an accepted (policy-checked, normalised) password into a PHC string.
    pub async fn hash(self: &Arc<Self>, password: AcceptedPassword) -> Result<String, HashError> {
        let this = Arc::clone(self);
        off_the_runtime(move || this.hash_blocking(password.secret())).await
    }

    /// The hash of a verified current password with the configured
    /// parameters, to replace an outdated one (SPEC section 3). It is the same
    /// password, so no policy applies.
    pub async fn rehash(self: &Arc<Self>, password: Secret) -> Result<String, HashError> {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || this.hash_blocking(&normalise(&password))).await?
    }

    /// Verifies `password` against `stored`, or against the dummy hash when the
    /// user has no password, so both cases take the same time.
    pub async fn verify(
        self: &Arc<Self>,
        password: Secret,
        stored: Option<String>,
    ) -> Result<Verification, HashError> {
        let this = Arc::clone(self);
        off_the_runtime(move || {
            let has_stored = stored.is_some();
            let phc = stored.unwrap_or_else(|| this.dummy_hash.clone());
            let normalised = normalise(&password);
            match this.verify_blocking(&normalised, &phc)? {
                Verification::Valid { .. } if !has_stored => Ok(Verification::Invalid),
                outcome => Ok(outcome),
            }
        })
        .await
    }

    /// Hashes on the calling thread: for tools and benchmarks, never in a
    /// request (see [`PasswordHasher::hash`]).
    pub fn hash_blocking(&self, password: &Secret) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        fill_random(&mut salt);
        let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.compute(&self.params, password, &salt, &mut output)?;
        phc_string(&self.params, &salt, &output)
    }

    fn verify_blocking(&self, password: &Secret, phc: &str) -> Result<Verification, HashError> {
        let parsed = PasswordHash::new(phc).map_err(|e| HashError::Argon2(e.to_string()))?;
        let params = Params::try_from(&parsed).map_err(|e| HashError::Argon2(e.to_string()))?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(HashError::Argon2("stored hash lacks salt or output".into()));
        };
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt
            .decode_b64(&mut salt_bytes)
            .map_err(|e| HashError::Argon2(e.to_string()))?;
        let mut output = vec![0u8; expected.len()];
        self.compute(&params, password, salt_bytes, &mut output)?;
        let computed = Output::new(&output).map_err(|e| HashError::Argon2(e.to_string()))?;
        // Output's equality is constant-time.
        if computed != expected {
            return Ok(Verification::Invalid);
        }
        let outdated = parsed.algorithm != Algorithm::Argon2id.ident()
            || parsed.version != Some(Version::V0x13.into())
            || params.m_cost() != self.params.m_cost()
            || params.t_cost() != self.params.t_cost()
            || params.p_cost() != self.params.p_cost();
        Ok(Verification::Valid { outdated })
    }

    fn compute(
        &self,
        params: &Params,
        password: &Secret,
        salt: &[u8],
        output: &mut [u8],
    ) -> Result<(), HashError> {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        // A panic while hashing cannot leave the buffer half-valid: every call
        // overwrites it, so a poisoned lock is still safe to use.
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        if memory.len() < params.block_count() {
            memory.resize(params.block_count(), Block::default());
        }
        argon2
            .hash_password_into_with_memory(
                password.expose().as_bytes(),
                salt,
                output,
                &mut memory[..params.block_count()],
            )
            .map_err(|e| HashError::Argon2(e.to_string()))
    }
}

/// Runs `work` on a blocking thread, and counts its time as argon2's in the
/// invocation's metrics.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
) -> Result<T, HashError> {
    let (result, elapsed) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let result = work();
        (result, started.elapsed())
    })
    .await?;
    crate::metrics::record_argon2(elapsed);
    result
}

fn phc_string(params: &Params, salt: &[u8], output: &[u8]) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(salt).map_err(|e| HashError::Argon2(e.to_string()))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| HashError::Argon2(e.to_string()))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(output).map_err(|e| HashError::Argon2(e.to_string()))?),
    };
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, PasswordPolicy};

    /// `password` as the policy accepts it (nothing here is a common one).
    fn accepted(password: &str) -> AcceptedPassword {
        PasswordPolicy::new(1)
            .accept(
                &Secret::new(password),
                &Email::parse("x@example.com").unwrap(),
            )
            .unwrap()
    }

    fn cheap_params() -> Params {
        Params::new(1024, 1, 1, None).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let hasher = PasswordHasher::new(cheap_params());
        let phc = hasher.hash(accepted("correct horse")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{phc}");
        assert_eq!(
            hasher
                .verify(Secret::new("correct horse"), Some(phc.clone()))
                .await
                .unwrap(),
            Verification::Valid { outdated: false }
        );
        assert_eq!(
            hasher
                .verify(Secret::new("wrong horse"), Some(phc))
                .await
                .unwrap(),
            Verification::Invalid
        );
    }

    #[tokio::test]
    async fn the_default_parameters_are_owasp() {
        let hasher = PasswordHasher::new(Params::default());
        let phc = hasher.hash(accepted("correct horse")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[tokio::test]
    async fn hashes_of_one_password_are_salted_differently() {
        let hasher = PasswordHasher::new(cheap_params());
        let a = hasher.hash(accepted("same-password-twice")).await.unwrap();
        let b = hasher.hash(accepted("same-password-twice")).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn a_hash_with_older_parameters_is_rehashed_on_success() {
        let old = PasswordHasher::new(Params::new(512, 1, 1, None).unwrap());
        let phc = old.hash(accepted("correct horse")).await.unwrap();
        let current = PasswordHasher::new(cheap_params());
        assert_eq!(
            current
                .verify(Secret::new("correct horse"), Some(phc))
                .await
                .unwrap(),
            Verification::Valid { outdated: true }
        );
        let new_phc = current.rehash(Secret::new("correct horse")).await.unwrap();
        assert!(new_phc.contains("m=1024,t=1,p=1"), "{new_phc}");
        assert_eq!(
            current
                .verify(Secret::new("correct horse"), Some(new_phc))
                .await
                .unwrap(),
            Verification::Valid { outdated: false }
        );
    }

    #[tokio::test]
    async fn no_password_never_verifies() {
        let hasher = PasswordHasher::new(cheap_params());
        assert_eq!(
            hasher.verify(Secret::new(""), None).await.unwrap(),
            Verification::Invalid
        );
    }

    #[tokio::test]
    async fn verification_normalises_like_the_policy() {
        let hasher = PasswordHasher::new(cheap_params());
        let phc = hasher.hash(accepted("fixqzrwv7")).await.unwrap();
        assert_eq!(
            hasher
                .verify(Secret::new("\u{FB01}xqzrwv7"), Some(phc))
                .await
                .unwrap(),
            Verification::Valid { outdated: false }
        );
    }
}

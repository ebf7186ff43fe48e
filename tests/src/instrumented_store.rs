//! A store (the DynamoDB adapter or its in-memory twin) behind a probe: it
//! counts the store port's calls and fails the chosen ones, so a test can see
//! a call fail in the middle of a flow, after its reads succeeded.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use password_service::clock::Millis;
use password_service::domain::{AuditEvent, User, UserId};
use password_service::rate_limit::{CounterError, Counters, Window};
use password_service::store::{
    DeviceOtps, PasswordWrite, PendingEnrolment, PinFailures, PinProofs, Proof, ResetCodes,
    ResetState, SetPasswordTokens, Store, StoreError, TokenRecord, Users, WriteError,
};

pub struct InstrumentedStore {
    pub inner: Arc<dyn Store>,
    /// Names of the methods that fail, e.g. "record_pin_failure".
    pub failing: HashSet<&'static str>,
    calls: AtomicUsize,
}

impl InstrumentedStore {
    pub fn new(inner: Arc<dyn Store>, failing: &[&'static str]) -> Self {
        Self {
            inner,
            failing: failing.iter().copied().collect(),
            calls: AtomicUsize::new(0),
        }
    }

    /// Calls so far, audit reads excepted (they serve the tests only).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn fails(&self, method: &str) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.contains(method) {
            Err(StoreError(format!("injected failure in {method}")))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Users for InstrumentedStore {
    async fn create_user(&self, user: &User, actor: &str, at: Millis) -> Result<(), StoreError> {
        self.fails("create_user")?;
        self.inner.create_user(user, actor, at).await
    }

    async fn get_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.fails("get_user")?;
        self.inner.get_user(id).await
    }

    async fn user_with_count(
        &self,
        id: &UserId,
        counter: &str,
    ) -> Result<Option<(User, u32)>, StoreError> {
        self.fails("user_with_count")?;
        self.inner.user_with_count(id, counter).await
    }

    async fn audit_events(&self, id: &UserId) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.audit_events(id).await
    }

    async fn latest_audit_events(
        &self,
        id: &UserId,
        limit: Option<usize>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.latest_audit_events(id, limit).await
    }

    async fn replace_password(&self, write: &PasswordWrite) -> Result<u64, WriteError> {
        self.fails("replace_password")?;
        self.inner.replace_password(write).await
    }

    async fn rehash_password(
        &self,
        id: &UserId,
        current_hash: &str,
        new_hash: &str,
    ) -> Result<(), WriteError> {
        self.fails("rehash_password")?;
        self.inner.rehash_password(id, current_hash, new_hash).await
    }

    async fn delete_critical_data(
        &self,
        user: &User,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError> {
        self.fails("delete_critical_data")?;
        self.inner.delete_critical_data(user, actor, at).await
    }

    async fn set_pin(
        &self,
        user: &User,
        pin_digest: &str,
        actor: &str,
        at: Millis,
        window: Option<&Window>,
    ) -> Result<u64, WriteError> {
        self.fails("set_pin")?;
        self.inner
            .set_pin(user, pin_digest, actor, at, window)
            .await
    }
}

#[async_trait]
impl SetPasswordTokens for InstrumentedStore {
    async fn issue_set_password_token(
        &self,
        user: &User,
        digest: &str,
        expires_at: i64,
    ) -> Result<(), WriteError> {
        self.fails("issue_set_password_token")?;
        self.inner
            .issue_set_password_token(user, digest, expires_at)
            .await
    }

    async fn find_set_password_token(
        &self,
        digest: &str,
    ) -> Result<Option<TokenRecord>, StoreError> {
        self.fails("find_set_password_token")?;
        self.inner.find_set_password_token(digest).await
    }

    async fn set_password_with_token(
        &self,
        digest: &str,
        now: i64,
        write: &PasswordWrite,
    ) -> Result<u64, WriteError> {
        self.fails("set_password_with_token")?;
        self.inner.set_password_with_token(digest, now, write).await
    }
}

#[async_trait]
impl Counters for InstrumentedStore {
    async fn take_from_counter(
        &self,
        counter: &str,
        limit: u32,
        expires_at: i64,
    ) -> Result<bool, CounterError> {
        self.fails("take_from_counter")
            .map_err(|e| CounterError(e.0))?;
        self.inner
            .take_from_counter(counter, limit, expires_at)
            .await
    }

    async fn give_back_to_counter(&self, counter: &str) -> Result<(), CounterError> {
        self.fails("give_back_to_counter")
            .map_err(|e| CounterError(e.0))?;
        self.inner.give_back_to_counter(counter).await
    }
}

#[async_trait]
impl PinProofs for InstrumentedStore {
    async fn user_with_pin_failures(
        &self,
        id: &UserId,
        now: i64,
    ) -> Result<Option<(User, PinFailures)>, StoreError> {
        self.fails("user_with_pin_failures")?;
        self.inner.user_with_pin_failures(id, now).await
    }

    async fn record_pin_failure(
        &self,
        user: &User,
        seen: PinFailures,
        max_failures: u32,
        now: i64,
        window_ends_at: i64,
        at: Millis,
    ) -> Result<(), WriteError> {
        self.fails("record_pin_failure")?;
        self.inner
            .record_pin_failure(user, seen, max_failures, now, window_ends_at, at)
            .await
    }

    async fn replace_pin_digest(
        &self,
        id: &UserId,
        old: &str,
        new: &str,
    ) -> Result<(), WriteError> {
        self.fails("replace_pin_digest")?;
        self.inner.replace_pin_digest(id, old, new).await
    }

    async fn unlock_pin_failures(
        &self,
        user: &User,
        seen: PinFailures,
        now: i64,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError> {
        self.fails("unlock_pin_failures")?;
        self.inner
            .unlock_pin_failures(user, seen, now, actor, at)
            .await
    }

    async fn clear_pin_failures(
        &self,
        id: &UserId,
        seen: PinFailures,
        now: i64,
    ) -> Result<(), WriteError> {
        self.fails("clear_pin_failures")?;
        self.inner.clear_pin_failures(id, seen, now).await
    }
}

#[async_trait]
impl ResetCodes for InstrumentedStore {
    async fn issue_reset_code(
        &self,
        user: &User,
        digest: &str,
        expires_at: i64,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError> {
        self.fails("issue_reset_code")?;
        self.inner
            .issue_reset_code(user, digest, expires_at, actor, at)
            .await
    }

    async fn reset_state(
        &self,
        id: &UserId,
        wrong_secrets_counter: &str,
    ) -> Result<Option<ResetState>, StoreError> {
        self.fails("reset_state")?;
        self.inner.reset_state(id, wrong_secrets_counter).await
    }

    async fn replace_password_with_proof(
        &self,
        write: &PasswordWrite,
        proof: Proof<'_>,
        window: &Window,
    ) -> Result<u64, WriteError> {
        self.fails("replace_password_with_proof")?;
        self.inner
            .replace_password_with_proof(write, proof, window)
            .await
    }

    async fn record_wrong_secret(
        &self,
        window: &Window,
        code_of: Option<&UserId>,
        max_wrong_tries: u32,
    ) -> Result<(), WriteError> {
        self.fails("record_wrong_secret")?;
        self.inner
            .record_wrong_secret(window, code_of, max_wrong_tries)
            .await
    }
}

#[async_trait]
impl DeviceOtps for InstrumentedStore {
    async fn start_otp_enrolment(
        &self,
        user: &User,
        sealed_secret: &str,
        expires_at: i64,
        at: Millis,
        proven: Option<&Window>,
    ) -> Result<u64, WriteError> {
        self.fails("start_otp_enrolment")?;
        self.inner
            .start_otp_enrolment(user, sealed_secret, expires_at, at, proven)
            .await
    }

    async fn user_with_otp_enrolment(
        &self,
        id: &UserId,
        now: i64,
    ) -> Result<Option<(User, Option<PendingEnrolment>)>, StoreError> {
        self.fails("user_with_otp_enrolment")?;
        self.inner.user_with_otp_enrolment(id, now).await
    }

    async fn activate_otp(
        &self,
        user: &User,
        pending: &PendingEnrolment,
        step: u64,
        now: i64,
        at: Millis,
    ) -> Result<u64, WriteError> {
        self.fails("activate_otp")?;
        self.inner.activate_otp(user, pending, step, now, at).await
    }

    async fn remove_otp(
        &self,
        user: &User,
        at: Millis,
        proven: Option<&Window>,
    ) -> Result<u64, WriteError> {
        self.fails("remove_otp")?;
        self.inner.remove_otp(user, at, proven).await
    }

    async fn accept_otp_step(
        &self,
        user: &User,
        step: u64,
        failures: PinFailures,
        now: i64,
    ) -> Result<(), WriteError> {
        self.fails("accept_otp_step")?;
        self.inner.accept_otp_step(user, step, failures, now).await
    }
}

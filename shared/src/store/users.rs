//! Users and the changes made to them, each with its sequence bump and audit
//! event in one transaction.

use async_trait::async_trait;

use super::{StoreError, WriteError};
use crate::clock::Millis;
use crate::domain::{AuditEvent, AuditEventType, User, UserId};
use crate::rate_limit::Window;

/// A new password and everything recorded with it, in one transaction.
#[derive(Debug, Clone)]
pub struct PasswordWrite {
    pub user_id: UserId,
    /// The sequence the decision was made on; the write fails if it moved.
    pub expected_sequence: u64,
    pub password_hash: String,
    pub change_required: bool,
    /// Set when the write ends older sessions.
    pub sessions_not_before: Option<i64>,
    pub event: AuditEventType,
    pub actor: String,
    pub at: Millis,
    /// Also delete the payment methods (and record it), as P4 without a PIN.
    pub delete_critical_data: bool,
}

impl PasswordWrite {
    /// The user's sequence once the write is done: one per audit event.
    pub fn next_sequence(&self) -> u64 {
        self.expected_sequence + 1 + u64::from(self.delete_critical_data)
    }
}

#[async_trait]
pub trait Users: Send + Sync {
    /// Creates the user with sequence 1 and its `user.created` audit event.
    async fn create_user(&self, user: &User, actor: &str, at: Millis) -> Result<(), StoreError>;

    /// A strongly consistent read.
    async fn get_user(&self, id: &UserId) -> Result<Option<User>, StoreError>;

    /// The user and the count of `counter` (a rate-limit window), in one
    /// round trip: for a change the user proves with a secret.
    async fn user_with_count(
        &self,
        id: &UserId,
        counter: &str,
    ) -> Result<Option<(User, u32)>, StoreError>;

    /// The user's audit trail, oldest first.
    async fn audit_events(&self, id: &UserId) -> Result<Vec<AuditEvent>, StoreError>;

    /// The user's `limit` newest audit events (all without a limit), newest
    /// first: read from the end of the trail, not all of it.
    async fn latest_audit_events(
        &self,
        id: &UserId,
        limit: Option<usize>,
    ) -> Result<Vec<AuditEvent>, StoreError>;

    /// Replaces the password of an existing user (change or reset). Returns
    /// the new sequence; `Conflict` if the user changed or is gone.
    async fn replace_password(&self, write: &PasswordWrite) -> Result<u64, WriteError>;

    /// Stores `new_hash`, the same password with the current parameters, on
    /// condition that the stored hash is still `current_hash`. Not a change
    /// of the user: no sequence, no audit event. `Conflict` if it moved.
    async fn rehash_password(
        &self,
        id: &UserId,
        current_hash: &str,
        new_hash: &str,
    ) -> Result<(), WriteError>;

    /// Deletes the payment methods (the user chose to skip the proof).
    /// `Conflict` if the user changed.
    async fn delete_critical_data(
        &self,
        user: &User,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError>;

    /// Sets the PIN digest, where a secret proved it on condition that its
    /// wrong-secret `window` is not full (`LimitReached`). `Conflict` if the
    /// user changed.
    async fn set_pin(
        &self,
        user: &User,
        pin_digest: &str,
        actor: &str,
        at: Millis,
        window: Option<&Window>,
    ) -> Result<u64, WriteError>;
}

//! The persistence port. The domain names what it needs (users, tokens, audit
//! events) and the DynamoDB adapter is the only code that knows SDK types.
//!
//! Every "check then change" here is one conditional write or one
//! transaction: the adapter never reads, decides, and writes back.

mod dynamodb;

pub use dynamodb::DynamoStore;

use async_trait::async_trait;

use crate::clock::Millis;
use crate::domain::{AuditEvent, AuditEventType, User, UserId};

#[derive(Debug, thiserror::Error)]
#[error("storage failed: {0}")]
pub struct StoreError(pub String);

/// A live-or-dead set-password token as stored (its digest is the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub user_id: UserId,
    /// Unix seconds; DynamoDB's TTL deletes it some time after, so every read
    /// checks it.
    pub expires_at: i64,
}

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

/// The PIN rule's failure counter as read: failures in the live window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PinFailures {
    pub count: u32,
    /// Unix seconds; `None` when no window is live (count 0).
    pub window_ends_at: Option<i64>,
}

/// A password-reset code as stored: its HMAC, never the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetCode {
    pub digest: String,
    /// Unix seconds; checked on every read (TTL only cleans up).
    pub expires_at: i64,
    pub wrong_tries: u32,
}

/// What the family-Z flows decide on, read in one round trip: the user,
/// their reset code, and their wrong-secret count in the current window.
#[derive(Debug, Clone)]
pub struct ResetState {
    pub user: User,
    pub code: Option<ResetCode>,
    pub wrong_secrets: u32,
}

/// How a password write was authorised, and so what its transaction checks.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// The current password was verified; nothing more to check.
    CurrentPassword,
    /// A reset code: consumed in the same transaction, on condition that it
    /// is the one verified, still live at `now`, and has wrong tries left.
    Code {
        digest: &'a str,
        max_wrong_tries: u32,
        now: i64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ProofWriteError {
    #[error("the wrong-secret limit is reached")]
    LimitReached,
    #[error("the code is no longer live")]
    CodeNotLive,
    #[error("the user changed concurrently")]
    UserChanged,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A conditional write found the state it was decided on changed: read
/// again and decide again.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("changed concurrently")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum SetPasswordWithTokenError {
    /// The token item is gone or expired: used, replaced or never issued.
    #[error("the token is not live")]
    TokenNotLive,
    /// The user changed since it was read (token replaced, password set, or
    /// another change): read again and decide again.
    #[error("the user changed concurrently")]
    UserChanged,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// The user changed since it was read, or is gone: read again, decide again.
    #[error("the user changed concurrently")]
    UserChanged,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum IssueTokenError {
    /// The user has a password by now, or no longer exists.
    #[error("the user no longer accepts a set-password token")]
    NotEligible,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Creates the user with sequence 1 and its `user.created` audit event.
    async fn create_user(&self, user: &User, actor: &str, at: Millis) -> Result<(), StoreError>;

    /// A strongly consistent read.
    async fn get_user(&self, id: &UserId) -> Result<Option<User>, StoreError>;

    /// The user's audit trail, oldest first.
    async fn audit_events(&self, id: &UserId) -> Result<Vec<AuditEvent>, StoreError>;

    /// Stores a new set-password token for a user without a password and makes
    /// it the user's only live one (the previous one stops working).
    async fn issue_set_password_token(
        &self,
        user: &User,
        digest: &str,
        expires_at: i64,
    ) -> Result<(), IssueTokenError>;

    /// Looks a token up by its digest (strongly consistent).
    async fn find_set_password_token(
        &self,
        digest: &str,
    ) -> Result<Option<TokenRecord>, StoreError>;

    /// Adds one to a fixed-window counter unless it already holds `limit`, in
    /// one conditional update. Returns whether the unit was taken. The item
    /// expires (TTL) at `expires_at`, the end of its window.
    async fn take_from_counter(
        &self,
        counter: &str,
        limit: u32,
        expires_at: i64,
    ) -> Result<bool, StoreError>;

    /// Gives back one unit taken with `take_from_counter` (never below zero).
    async fn give_back_to_counter(&self, counter: &str) -> Result<(), StoreError>;

    /// Replaces the password of an existing user (change or reset), with the
    /// sequence bump and audit event, in one transaction; fails without
    /// writing if the sequence moved. Returns the new sequence.
    async fn change_password(&self, write: &PasswordWrite) -> Result<u64, ChangePasswordError>;

    /// The user and their PIN failure counter, in one round trip; a counter
    /// whose window ended at `now` (Unix seconds) reads as zero.
    async fn user_with_pin_failures(
        &self,
        id: &UserId,
        now: i64,
    ) -> Result<Option<(User, PinFailures)>, StoreError>;

    /// Counts one more wrong PIN, on condition that the counter still holds
    /// `seen` (its window live at `now`); a first failure opens a window that
    /// ends at `window_ends_at`. The failure that makes `seen + 1` exceed
    /// `max_failures` also deletes the user's payment methods, marks
    /// `criticalDataDeletedAt` and appends the audit event, in the same
    /// transaction (on condition that the user's sequence is still `user.sequence`).
    async fn record_pin_failure(
        &self,
        user: &User,
        seen: PinFailures,
        max_failures: u32,
        now: i64,
        window_ends_at: i64,
        at: Millis,
    ) -> Result<(), WriteError>;

    /// Clears the counter after a correct PIN, on condition that it still holds `seen`.
    async fn clear_pin_failures(
        &self,
        id: &UserId,
        seen: PinFailures,
        now: i64,
    ) -> Result<(), WriteError>;

    /// Deletes the payment methods (the user chose to skip the proof), with
    /// sequence bump and audit event, on condition that the sequence is unchanged.
    async fn delete_critical_data(
        &self,
        user: &User,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError>;

    /// Sets the PIN digest, with sequence bump and audit event, on condition
    /// that the sequence is unchanged.
    async fn set_pin(
        &self,
        user: &User,
        pin_digest: &str,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError>;

    /// Stores a new reset code for the user, replacing any other (one live
    /// code per user), with sequence bump and audit event, on condition that
    /// the sequence is unchanged. Returns the new sequence.
    async fn issue_reset_code(
        &self,
        user: &User,
        digest: &str,
        expires_at: i64,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError>;

    /// The user, their reset code and the count of `wrong_secrets_counter`,
    /// in one round trip.
    async fn reset_state(
        &self,
        id: &UserId,
        wrong_secrets_counter: &str,
    ) -> Result<Option<ResetState>, StoreError>;

    /// Replaces the password (as `change_password`) after a proof, in one
    /// transaction that also checks the wrong-secret window is not full
    /// (`window`) and consumes a code (`proof`).
    async fn change_password_with_proof(
        &self,
        write: &PasswordWrite,
        proof: Proof<'_>,
        window: &crate::rate_limit::Window,
    ) -> Result<u64, ProofWriteError>;

    /// Counts a wrong current password or code in the window, on condition
    /// that it is not full (`LimitReached` otherwise), and, for a code, one
    /// more wrong try on the user's code while it has tries left.
    async fn record_wrong_secret(
        &self,
        window: &crate::rate_limit::Window,
        code_of: Option<&UserId>,
        max_wrong_tries: u32,
    ) -> Result<(), ProofWriteError>;

    /// Consumes the token and sets the first password, with the sequence bump
    /// and audit event, in one transaction. Fails without writing anything if
    /// the token is not live at `now` (Unix seconds), the user's live token is
    /// another, the user has a password, or the sequence moved.
    async fn set_password_with_token(
        &self,
        digest: &str,
        now: i64,
        write: &PasswordWrite,
    ) -> Result<u64, SetPasswordWithTokenError>;
}

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

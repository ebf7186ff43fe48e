//! Set-password tokens: one live token per user, stored as its digest.

use async_trait::async_trait;

use super::{PasswordWrite, StoreError, WriteError};
use crate::domain::{Email, Locale, User, UserId};

/// A live-or-dead set-password token as stored (its digest is the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub user_id: UserId,
    /// Unix seconds; DynamoDB's TTL deletes it some time after, so every read
    /// checks it.
    pub expires_at: i64,
    /// The user as the link was issued to, so that redeeming it needs no
    /// second read; absent on tokens issued before it was recorded.
    pub issued_to: Option<IssuedTo>,
}

/// What a set-password token records of its user when it is issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTo {
    pub email: Email,
    pub locale: Locale,
    /// The user's sequence then: the redemption's write expects it, and
    /// reads the user only if it moved.
    pub sequence: u64,
}

#[async_trait]
pub trait SetPasswordTokens: Send + Sync {
    /// Stores a new token for a user without a password, with what it
    /// records of `user` as read ([`IssuedTo`]), and makes it the user's only
    /// live one (the previous one stops working). `NotEligible` if the user
    /// has a password by now, or is gone.
    async fn issue_set_password_token(
        &self,
        user: &User,
        digest: &str,
        expires_at: i64,
    ) -> Result<(), WriteError>;

    /// Looks a token up by its digest (strongly consistent).
    async fn find_set_password_token(
        &self,
        digest: &str,
    ) -> Result<Option<TokenRecord>, StoreError>;

    /// Consumes the token and sets the first password, in one transaction.
    /// `TokenNotLive` if the token is not live at `now` (Unix seconds);
    /// `Conflict` if the user's live token is another, the user has a
    /// password, or the sequence moved.
    async fn set_password_with_token(
        &self,
        digest: &str,
        now: i64,
        write: &PasswordWrite,
    ) -> Result<u64, WriteError>;
}

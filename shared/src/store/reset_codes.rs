//! Family Z's reset codes: one per user, as an HMAC, with its wrong tries;
//! and the password replacement that a proof (code or current password)
//! allows, folded with the wrong-secret window into one transaction.

use async_trait::async_trait;

use super::{PasswordWrite, StoreError, WriteError};
use crate::clock::Millis;
use crate::domain::{User, UserId};
use crate::rate_limit::Window;

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

#[async_trait]
pub trait ResetCodes: Send + Sync {
    /// Stores a new reset code for the user, replacing any other (one live
    /// code per user), with sequence bump and audit event. Returns the new
    /// sequence; `Conflict` if the user changed.
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

    /// Replaces the password after a proof, in one transaction that also
    /// checks the wrong-secret `window` is not full and consumes a code.
    /// `LimitReached`, `CodeNotLive`, or `Conflict` (the user changed).
    async fn replace_password_with_proof(
        &self,
        write: &PasswordWrite,
        proof: Proof<'_>,
        window: &Window,
    ) -> Result<u64, WriteError>;

    /// Counts a wrong current password or code in the window, on condition
    /// that it is not full (`LimitReached` otherwise), and, for a code, one
    /// more wrong try on the user's code while it has tries left.
    async fn record_wrong_secret(
        &self,
        window: &Window,
        code_of: Option<&UserId>,
        max_wrong_tries: u32,
    ) -> Result<(), WriteError>;
}

//! The PIN rule's failure counter (SPEC section 5).

use async_trait::async_trait;

use super::{StoreError, WriteError};
use crate::clock::Millis;
use crate::domain::{User, UserId};

/// The failure counter as read: failures in the live window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PinFailures {
    pub count: u32,
    /// Unix seconds; `None` when no window is live (count 0).
    pub window_ends_at: Option<i64>,
}

#[async_trait]
pub trait PinProofs: Send + Sync {
    /// The user and their failure counter, in one round trip; a counter whose
    /// window ended at `now` (Unix seconds) reads as zero.
    async fn user_with_pin_failures(
        &self,
        id: &UserId,
        now: i64,
    ) -> Result<Option<(User, PinFailures)>, StoreError>;

    /// Counts one more failure, on condition that the counter still holds
    /// `seen` (its window live at `now`); a first failure opens a window that
    /// ends at `window_ends_at`. The failure that makes `seen + 1` exceed
    /// `max_failures` also deletes the user's payment methods, marks
    /// `criticalDataDeletedAt` and appends the audit event, in the same
    /// transaction (on condition that the user's sequence is still
    /// `user.sequence`). `Conflict` if either moved.
    async fn record_pin_failure(
        &self,
        user: &User,
        seen: PinFailures,
        max_failures: u32,
        now: i64,
        window_ends_at: i64,
        at: Millis,
    ) -> Result<(), WriteError>;

    /// An operator clears the user's failure window, on condition that the
    /// counter still holds `seen` (a live window): deletes the counter and
    /// records the change (sequence bump, `user.pin.unlocked` by `actor`) in
    /// one transaction, on condition that the user's sequence is still
    /// `user.sequence`. Returns the new sequence; `Conflict` if either moved.
    async fn unlock_pin_failures(
        &self,
        user: &User,
        seen: PinFailures,
        now: i64,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError>;

    /// Stores `new` as the user's PIN digest, on condition that it is still
    /// `old` (a digest of the same PIN under a newer pepper key: not a
    /// change of the PIN, so no sequence step). `Conflict` if it moved.
    async fn replace_pin_digest(&self, id: &UserId, old: &str, new: &str)
        -> Result<(), WriteError>;

    /// Clears the counter after a correct proof, on condition that it still
    /// holds `seen`; `Conflict` otherwise.
    async fn clear_pin_failures(
        &self,
        id: &UserId,
        seen: PinFailures,
        now: i64,
    ) -> Result<(), WriteError>;
}

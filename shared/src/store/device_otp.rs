//! The device OTP (SPEC P5, P7): a pending enrolment with its own expiry,
//! its activation as the user's device, its removal, and the replay rule of
//! a proof at P5. The secret is stored sealed (`OtpKeyRing`); this port never
//! sees it in clear.

use async_trait::async_trait;

use super::{PinFailures, StoreError, WriteError};
use crate::clock::Millis;
use crate::domain::{User, UserId};
use crate::rate_limit::Window;

/// An enrolment started by P7's POST and not yet activated: its secret,
/// sealed, and when it stops being usable.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingEnrolment {
    pub sealed_secret: String,
    /// Unix seconds; checked on every read (TTL only cleans up).
    pub expires_at: i64,
}

impl std::fmt::Debug for PendingEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingEnrolment")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait DeviceOtps: Send + Sync {
    /// Stores `sealed_secret` as the user's pending enrolment until
    /// `expires_at` (replacing any other pending one), with the sequence bump
    /// and the audit event, in one transaction, where the current password
    /// proved it on condition that its wrong-secret window is not full
    /// (`LimitReached`). Returns the new sequence; `Conflict` if the user
    /// changed.
    async fn start_otp_enrolment(
        &self,
        user: &User,
        sealed_secret: &str,
        expires_at: i64,
        at: Millis,
        proven: Option<&Window>,
    ) -> Result<u64, WriteError>;

    /// The user and their pending enrolment where one is live at `now` (Unix
    /// seconds), in one round trip.
    async fn user_with_otp_enrolment(
        &self,
        id: &UserId,
        now: i64,
    ) -> Result<Option<(User, Option<PendingEnrolment>)>, StoreError>;

    /// Makes `pending` the user's device, replacing any other, with `step`
    /// (its first code's) as the last accepted step: the pending enrolment
    /// consumed, the sequence bumped and the audit event appended, in one
    /// transaction. `EnrolmentNotPending` if the enrolment is no longer this
    /// one or no longer live at `now`; `Conflict` if the user changed.
    async fn activate_otp(
        &self,
        user: &User,
        pending: &PendingEnrolment,
        step: u64,
        now: i64,
        at: Millis,
    ) -> Result<u64, WriteError>;

    /// Removes the user's device, and any pending enrolment with it, with the
    /// sequence bump and the audit event, in one transaction, conditional as
    /// [`DeviceOtps::start_otp_enrolment`] is. `Conflict` if the user changed.
    async fn remove_otp(
        &self,
        user: &User,
        at: Millis,
        proven: Option<&Window>,
    ) -> Result<u64, WriteError>;

    /// A right code at P5: records `step` as the device's last accepted step,
    /// on condition that the device is still the one read and its last
    /// accepted step is before `step` (so of two requests with one code,
    /// exactly one gets here), and that the failure counter is as `failures`
    /// saw it (none live, or the same count, which it then clears), in one
    /// idempotent write: a submission applied but unanswered, sent again,
    /// answers success. `Conflict` if anything moved.
    async fn accept_otp_step(
        &self,
        user: &User,
        step: u64,
        failures: PinFailures,
        now: i64,
    ) -> Result<(), WriteError>;
}

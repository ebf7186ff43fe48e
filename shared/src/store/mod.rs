//! The persistence port, as role traits by area (users, set-password tokens,
//! rate-limit counters, the PIN proof, reset codes, the device OTP) joined by one [`Store`]
//! supertrait. The flows name what they need; the DynamoDB adapter is the only
//! code that knows SDK types.
//!
//! Every "check then change" is one conditional write or one transaction: the
//! adapter never reads, decides, and writes back. A write whose condition does
//! not hold answers a [`WriteError`] that says which.

mod device_otp;
mod dynamodb;
mod memory;
mod pin;
mod reset_codes;
mod tokens;
mod users;

pub use device_otp::{DeviceOtps, PendingEnrolment};
pub use dynamodb::DynamoStore;
pub use memory::MemoryStore;
pub use pin::{PinFailures, PinProofs};
pub use reset_codes::{Proof, ResetCode, ResetCodes, ResetState};
pub use tokens::{IssuedTo, SetPasswordTokens, TokenRecord};
pub use users::{PasswordWrite, Users};

use crate::rate_limit::{CounterError, Counters};

/// What an item of a conditional write stands for, so the condition that
/// failed can be named: each role method maps the slots to its own
/// [`WriteError`]. The adapter's transactions and the twin's writes share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The user's record (its sequence, and the change's own conditions).
    User,
    /// An audit event (its key is the user and the sequence).
    Audit,
    /// A set-password token.
    Token,
    /// A reset code.
    Code,
    /// A counter stepped by the write (PIN failures, wrong secrets).
    Counter,
    /// A rate-limit window checked, not stepped.
    Window,
}

/// The whole store: every role at once, as one object the flows share.
pub trait Store:
    Users + SetPasswordTokens + Counters + PinProofs + ResetCodes + DeviceOtps
{
}

impl<T: Users + SetPasswordTokens + Counters + PinProofs + ResetCodes + DeviceOtps> Store for T {}

/// The backend failed (unreachable, throttled, malformed item).
#[derive(Debug, Clone, thiserror::Error)]
#[error("storage failed: {0}")]
pub struct StoreError(pub String);

impl From<CounterError> for StoreError {
    fn from(e: CounterError) -> Self {
        StoreError(e.0)
    }
}

/// A conditional write that did not happen, and which of its conditions did
/// not hold. Each method says which of these it answers.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// The user (or the counter) changed since it was read: read again and
    /// decide again.
    #[error("changed concurrently")]
    Conflict,
    /// The set-password token is gone or expired: used, replaced or never issued.
    #[error("the token is not live")]
    TokenNotLive,
    /// The user no longer accepts a set-password token (has a password, or is gone).
    #[error("the user no longer accepts a set-password token")]
    NotEligible,
    /// The wrong-secret window is full.
    #[error("the wrong-secret limit is reached")]
    LimitReached,
    /// The reset code is used, replaced, expired or out of tries.
    #[error("the code is no longer live")]
    CodeNotLive,
    /// The OTP enrolment is activated, replaced or expired.
    #[error("no OTP enrolment is pending")]
    EnrolmentNotPending,
    #[error(transparent)]
    Store(#[from] StoreError),
}

//! The outcomes the flows share beside success; each family renders them in
//! its own shape (`http::jsonapi`, `http::grpc`, `http::admin`). Internal
//! errors keep their cause for the log and show the client nothing of it.

use crate::auth::{AuthError, Forbidden};
use crate::domain::{DecryptError, PolicyViolation, UnknownPepperKey};
use crate::hashing::HashError;
use crate::mail::MailError;
use crate::rate_limit::{CounterError, RateLimited, TakeError};
use crate::secrets::SecretError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Unauthenticated(#[from] AuthError),
    #[error("the user lacks the required linked identity")]
    MissingLinkedIdentity,
    #[error("the caller lacks scope {0}")]
    Forbidden(String),
    #[error("no such user")]
    UserNotFound,
    #[error("the user already has a password")]
    PasswordAlreadySet,
    #[error("the token is unknown, used or expired")]
    TokenInvalid,
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    #[error("wrong PIN")]
    PinInvalid { remaining_attempts: u32 },
    /// A wrong device OTP: at P5 under the PIN rule (with the attempts
    /// left); at P7's activation, not counted (`None`).
    #[error("wrong OTP")]
    OtpInvalid { remaining_attempts: Option<u32> },
    /// A device OTP right for a step already accepted (P5): refused, not
    /// counted; the attempts left are those before it.
    #[error("the OTP was used already")]
    OtpAlreadyUsed { remaining_attempts: u32 },
    #[error("the user has neither a PIN nor a device OTP")]
    NoProofDefined,
    #[error("too many wrong proofs: the critical data was deleted")]
    CriticalDataDeleted { retry_after_seconds: u64 },
    #[error("no OTP enrolment is pending")]
    OtpEnrolmentNotPending,
    #[error("the user has no device OTP")]
    OtpNotSet,
    #[error("the current password is required")]
    PasswordRequired,
    #[error("wrong current password")]
    WrongPassword,
    #[error("the verification code is wrong, used, replaced or expired")]
    InvalidVerificationCode,
    /// A field the request gave is not acceptable here (beyond its syntax).
    #[error("{field}: {description}")]
    InvalidField {
        /// The request's path to the field, e.g. `sendLink.urlTemplate`.
        field: &'static str,
        description: String,
    },
    #[error("too many requests; retry after {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<Forbidden> for ServiceError {
    fn from(e: Forbidden) -> Self {
        ServiceError::Forbidden(e.scope.to_string())
    }
}

impl From<RateLimited> for ServiceError {
    fn from(e: RateLimited) -> Self {
        ServiceError::RateLimited {
            retry_after_seconds: e.retry_after_seconds,
        }
    }
}

impl From<TakeError> for ServiceError {
    fn from(e: TakeError) -> Self {
        match e {
            TakeError::Limited(limited) => limited.into(),
            TakeError::Store(e) => e.into(),
        }
    }
}

/// A dependency's failure is the service's: its cause goes to the log only.
/// (The store's errors convert in `flows`, the layer that uses the store.)
macro_rules! internal_errors {
    ($($error:ty),*) => {$(
        impl From<$error> for ServiceError {
            fn from(e: $error) -> Self {
                ServiceError::Internal(e.to_string())
            }
        }
    )*};
}

// A missing secret, or a digest under a pepper key the ring lacks, is a
// configuration fault: never counted as the caller's wrong secret.
internal_errors!(
    CounterError,
    HashError,
    MailError,
    SecretError,
    UnknownPepperKey
);

/// A sealed OTP secret that does not open (a key missing from the ring, or
/// altered data) is the service's fault, not the caller's.
impl From<DecryptError> for ServiceError {
    fn from(e: DecryptError) -> Self {
        ServiceError::Internal(format!("the device OTP secret: {e}"))
    }
}

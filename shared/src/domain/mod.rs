//! The domain: types that parse at the boundary (past it, no code re-checks a
//! string), the password policy, and what is stored instead of a secret.
//! It depends on nothing of the crate but the clock's time type.

mod digests;
mod key_ring;
pub mod link;
mod otp_key_ring;
mod otp_secret;
pub mod policy;
mod random;
mod secret;
pub mod totp;
mod user;

pub use digests::{
    new_token, token_digest, DigestMatch, Pepper, Purpose, UnknownPepperKey, LEGACY_PEPPER_KEY_ID,
};
pub use key_ring::KeyRingError;
pub use otp_key_ring::{DecryptError, OtpKeyRing};
pub use otp_secret::{Enrolment, EnrolmentError, OtpIssuer, OtpIssuerError, OtpSecret};
pub use policy::{AcceptedPassword, PasswordPolicy, PolicyViolation, PASSWORD_MAX_LENGTH};
pub use random::{fill_random, random_hex, random_symbols};
pub use secret::{Pin, Secret, SecretBytes};
pub use totp::OtpCode;
pub use user::{AuditEvent, AuditEventType, ChangeDetails, Email, Locale, OtpDevice, User, UserId};

//! The domain: types that parse at the boundary (past it, no code re-checks a
//! string), the password policy, and what is stored instead of a secret.
//! It depends on nothing of the crate but the clock's time type.

mod digests;
pub mod policy;
mod random;
mod secret;
mod user;

pub use digests::{new_token, token_digest, Pepper, Purpose};
pub use policy::{AcceptedPassword, PasswordPolicy, PolicyViolation, PASSWORD_MAX_LENGTH};
pub use random::{fill_random, random_hex, random_symbols};
pub use secret::{Pin, Secret, SecretBytes};
pub use user::{AuditEvent, AuditEventType, ChangeDetails, Email, Locale, User, UserId};

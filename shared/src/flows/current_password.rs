//! Checking a user's current password where it is kept (P6 today): the one
//! place that verifies it and keeps its hash current. A successful
//! verification against a hash with older argon2 parameters stores the
//! password's hash with the current ones (SPEC section 3), on condition that
//! the stored hash did not change since it was read.
//!
//! A wrong password counts on the wrong-secret limit as in Z2: the window is
//! read with the user, a wrong password steps it in one conditional write,
//! and the change it proves is written on condition that the window is not
//! full. So a right password costs no extra round trip, the limit is exact,
//! and once it is reached every attempt, right or wrong, is 429 without the
//! password being checked.

use super::ports::{Passwords, ResetCodeStore, UserStore};
use crate::domain::{Secret, User};
use crate::error::ServiceError;
use crate::hashing::Verification;
use crate::store::WriteError;

use super::caller::WindowCount;
use super::Retry;

/// Proves a change of `user` with their current password, where they have
/// one: `PasswordRequired` without it, `RateLimited` once the window is full,
/// `WrongPassword` (counted) when wrong. The caller writes the change on
/// condition that `window` is still not full.
pub async fn prove(
    ports: &(impl Passwords + ResetCodeStore + UserStore),
    user: &User,
    window: &WindowCount,
    password: Option<&Secret>,
) -> Result<(), ServiceError> {
    if !user.has_password() {
        return Ok(());
    }
    let password = password.ok_or(ServiceError::PasswordRequired)?;
    if window.count >= window.window.quota {
        return Err(window.window.limited().into());
    }
    if verify(ports, user, password).await? {
        return Ok(());
    }
    match ports
        .reset_codes()
        .record_wrong_secret(&window.window, None, 0)
        .await
    {
        Ok(()) => Err(ServiceError::WrongPassword),
        Err(WriteError::LimitReached) => Err(window.window.limited().into()),
        Err(other) => Err(other.into()),
    }
}

/// Whether `password` is `user`'s current password (false for a user without one).
pub async fn verify(
    ports: &(impl Passwords + UserStore),
    user: &User,
    password: &Secret,
) -> Result<bool, ServiceError> {
    let verification = ports
        .hasher()
        .verify(password.clone(), user.password_hash.clone())
        .await?;
    match (verification, &user.password_hash) {
        (Verification::Valid { outdated: true }, Some(current)) => {
            let rehashed = ports.hasher().rehash(password.clone()).await?;
            match ports
                .users()
                .rehash_password(&user.id, current, &rehashed)
                .await
            {
                Ok(()) => tracing::info!(user_id = %user.id, "password rehashed"),
                // Changed since the read: the newer hash stands.
                Err(WriteError::Conflict) => {}
                // The password was right; a hash left outdated is retried next time.
                Err(error) => tracing::warn!(user_id = %user.id, %error, "rehash not stored"),
            }
            Ok(true)
        }
        (Verification::Valid { .. }, _) => Ok(true),
        (Verification::Invalid, _) => Ok(false),
    }
}

/// What a write proven by the current password came to: done, or, where its
/// window filled up meanwhile, 429 (`LimitReached`); a conflict is retried.
pub(crate) fn proven_write<T>(
    written: Result<u64, WriteError>,
    window: &WindowCount,
    done: T,
) -> Result<T, Retry> {
    match written {
        Ok(_) => Ok(done),
        Err(WriteError::LimitReached) => Err(Retry::Refused(window.window.limited().into())),
        Err(other) => Err(other.into()),
    }
}

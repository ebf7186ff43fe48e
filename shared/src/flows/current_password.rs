//! Checking a user's current password where it is kept (P6 today): the one
//! place that verifies it and keeps its hash current. A successful
//! verification against a hash with older argon2 parameters stores the
//! password's hash with the current ones (SPEC section 3), on condition that
//! the stored hash did not change since it was read.

use crate::domain::{Secret, User};
use crate::error::ServiceError;
use crate::hashing::Verification;
use crate::services::Services;
use crate::store::WriteError;

/// Whether `password` is `user`'s current password (false for a user without one).
pub async fn verify(
    services: &Services,
    user: &User,
    password: &Secret,
) -> Result<bool, ServiceError> {
    let verification = services
        .hasher
        .verify(password.clone(), user.password_hash.clone())
        .await?;
    match (verification, &user.password_hash) {
        (Verification::Valid { outdated: true }, Some(current)) => {
            let rehashed = services.hasher.rehash(password.clone()).await?;
            match services
                .store
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

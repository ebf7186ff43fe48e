//! The current password as the proof of a settings change (P6's PIN, P7's
//! device OTP): required when the user has one, and checked under the
//! wrong-secret limit.

use crate::domain::{Secret, User};
use crate::error::ServiceError;
use crate::hashing::Verification;
use crate::rate_limit::Limit;
use crate::services::Services;

/// A user with a password proves it; one without has nothing to prove.
/// Each attempt takes a unit of the wrong-secret limit first and gives it
/// back when right, so a wrong one counts, and once the limit is reached
/// every attempt, right or wrong, is refused.
pub async fn prove_current_password(
    services: &Services,
    user: &User,
    password: Option<&Secret>,
) -> Result<(), ServiceError> {
    if !user.has_password() {
        return Ok(());
    }
    let password = password.ok_or(ServiceError::PasswordRequired)?;
    let taken = services
        .limiter
        .take(Limit::WrongSecrets, user.id.as_str())
        .await?;
    match services
        .hasher
        .verify(password.clone(), user.password_hash.clone())
        .await?
    {
        Verification::Valid { .. } => {
            services.limiter.give_back(taken).await;
            Ok(())
        }
        Verification::Invalid => Err(ServiceError::WrongPassword),
    }
}

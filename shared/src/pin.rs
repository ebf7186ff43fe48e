//! PIN-protected recovery (SPEC sections 4 P4–P6 and 5).
//!
//! One failure counter per user, in a 24-hour window. Each step of the counter
//! is a write conditional on the value it was decided on, so under any
//! concurrency exactly one request takes each step: exactly three answer
//! "wrong", exactly one deletes the payment methods (in the same transaction
//! as its step), and every other answers 410 until the window ends.

use crate::domain::{AuditEventType, Pin, Secret, User};
use crate::hashing::Verification;
use crate::mail::Notice;
use crate::password_change::{accept_new_password, replace_password, Replacement};
use crate::rate_limit::Limit;
use crate::secrets::PIN_PURPOSE;
use crate::service::{ServiceError, Services};
use crate::store::{PinFailures, WriteError};

/// Wrong PINs answered as such; the next one deletes the critical data.
pub const MAX_PIN_FAILURES: u32 = 3;
/// How long failures count, from the first one (seconds).
pub const PIN_WINDOW_SECONDS: i64 = 24 * 3600;
/// A request that keeps losing races re-reads at most this often. Each loss
/// means another request took a step, and there are only four steps.
const MAX_ATTEMPTS: usize = 2 * (MAX_PIN_FAILURES as usize + 1) + 2;

/// The outcome of one PIN attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCheck {
    Correct,
    Wrong { remaining_attempts: u32 },
}

/// Checks `pin` under the PIN rule, starting from the user and counter as
/// the caller's authentication read them (so a call is one read and one
/// write). `PinInvalid`, `NoProofDefined` and `CriticalDataDeleted` are the
/// rule's refusals.
pub async fn check_pin(
    services: &Services,
    user: User,
    failures: PinFailures,
    pin: &Pin,
) -> Result<User, ServiceError> {
    let (mut user, mut failures) = (user, failures);
    for _ in 0..MAX_ATTEMPTS {
        let now = services.clock.now_seconds();
        if failures.count > MAX_PIN_FAILURES {
            // Locked for the rest of the window: no check at all.
            return Err(ServiceError::CriticalDataDeleted {
                retry_after_seconds: retry_after(failures, now),
            });
        }
        let Some(digest) = &user.pin_hmac else {
            return Err(ServiceError::NoProofDefined);
        };
        let outcome = if services
            .pepper
            .verify(PIN_PURPOSE, user.id.as_str(), pin.secret(), digest)
        {
            step_correct(services, &user, failures, now).await
        } else {
            step_wrong(services, &user, failures, now).await
        };
        match outcome {
            Ok(PinCheck::Correct) => return Ok(user),
            Ok(PinCheck::Wrong { remaining_attempts }) => {
                return Err(ServiceError::PinInvalid { remaining_attempts })
            }
            Err(StepError::Refused(error)) => return Err(error),
            Err(StepError::Lost) => {
                (user, failures) = services
                    .store
                    .user_with_pin_failures(&user.id, services.clock.now_seconds())
                    .await?
                    .ok_or(ServiceError::UserNotFound)?;
            }
        }
    }
    Err(ServiceError::Internal(
        "PIN counter contention did not settle".into(),
    ))
}

enum StepError {
    /// Another request moved the counter first: read again.
    Lost,
    Refused(ServiceError),
}

impl From<WriteError> for StepError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Conflict => StepError::Lost,
            WriteError::Store(e) => StepError::Refused(e.into()),
        }
    }
}

async fn step_correct(
    services: &Services,
    user: &User,
    failures: PinFailures,
    now: i64,
) -> Result<PinCheck, StepError> {
    if failures.count > 0 {
        services
            .store
            .clear_pin_failures(&user.id, failures, now)
            .await?;
    }
    Ok(PinCheck::Correct)
}

async fn step_wrong(
    services: &Services,
    user: &User,
    failures: PinFailures,
    now: i64,
) -> Result<PinCheck, StepError> {
    let window_ends_at = failures.window_ends_at.unwrap_or(now + PIN_WINDOW_SECONDS);
    services
        .store
        .record_pin_failure(
            user,
            failures,
            MAX_PIN_FAILURES,
            now,
            window_ends_at,
            services.clock.now_millis(),
        )
        .await?;
    let count = failures.count + 1;
    if count > MAX_PIN_FAILURES {
        tracing::warn!(user_id = %user.id, "too many wrong PINs: critical data deleted");
        services.notify(user, Notice::CriticalDataDeleted).await;
        return Err(StepError::Refused(ServiceError::CriticalDataDeleted {
            retry_after_seconds: (window_ends_at - now).max(1) as u64,
        }));
    }
    Ok(PinCheck::Wrong {
        remaining_attempts: MAX_PIN_FAILURES - count,
    })
}

fn retry_after(failures: PinFailures, now: i64) -> u64 {
    failures
        .window_ends_at
        .map_or(1, |end| (end - now).max(1) as u64)
}

/// P5 with `skip: true`: the user gives up the proof; the payment methods go.
pub async fn skip_proof(services: &Services, user: User) -> Result<(), ServiceError> {
    let mut user = user;
    for _ in 0..MAX_ATTEMPTS {
        if user.payment_methods.is_empty() {
            return Ok(()); // Nothing to delete: no change, no event.
        }
        match services
            .store
            .delete_critical_data(&user, user.id.as_str(), services.clock.now_millis())
            .await
        {
            Ok(_) => {
                tracing::info!(user_id = %user.id, "critical data deleted: proof skipped");
                services.notify(&user, Notice::CriticalDataDeleted).await;
                return Ok(());
            }
            Err(WriteError::Conflict) => {
                user = services.reload(&user).await?;
            }
            Err(WriteError::Store(e)) => return Err(e.into()),
        }
    }
    Err(ServiceError::Internal("the user kept changing".into()))
}

/// P4 (deprecated): resets the caller's password. With a PIN, under the PIN
/// rule, keeping the payment methods; without one, deleting them.
pub async fn reset_password(
    services: &Services,
    user: User,
    failures: PinFailures,
    password: &Secret,
    pin: Option<&Pin>,
) -> Result<(), ServiceError> {
    // Bad input is refused before a PIN attempt is spent on it.
    services.policy.check(password, &user.email)?;
    let user = match pin {
        Some(pin) => check_pin(services, user, failures, pin).await?,
        None => user,
    };
    let password_hash = accept_new_password(services, &user, password).await?;
    let replacement = Replacement {
        change_required: false,
        event: AuditEventType::PasswordReset,
        actor: user.id.to_string(),
        delete_critical_data: pin.is_none() && !user.payment_methods.is_empty(),
    };
    let deleting = replacement.delete_critical_data;
    let user = replace_password(services, user, password_hash, &replacement).await?;
    if deleting {
        services.notify(&user, Notice::CriticalDataDeleted).await;
    }
    Ok(())
}

/// P6: sets or replaces the PIN. A user with a password proves it; a wrong
/// one counts toward the wrong-secret limit.
pub async fn set_pin(
    services: &Services,
    user: User,
    pin: &Pin,
    password: Option<&Secret>,
) -> Result<(), ServiceError> {
    if user.has_password() {
        let password = password.ok_or(ServiceError::PasswordRequired)?;
        let taken = services.take(Limit::WrongSecrets, user.id.as_str()).await?;
        match services
            .hasher
            .verify(password.clone(), user.password_hash.clone())
            .await?
        {
            Verification::Valid { .. } => services.give_back(taken).await,
            Verification::Invalid => return Err(ServiceError::WrongPassword),
        }
    }
    let digest = services
        .pepper
        .digest(PIN_PURPOSE, user.id.as_str(), pin.secret());
    let mut user = user;
    for _ in 0..MAX_ATTEMPTS {
        match services
            .store
            .set_pin(
                &user,
                &digest,
                user.id.as_str(),
                services.clock.now_millis(),
            )
            .await
        {
            Ok(_) => {
                tracing::info!(user_id = %user.id, "PIN set");
                return Ok(());
            }
            Err(WriteError::Conflict) => {
                user = services.reload(&user).await?;
            }
            Err(WriteError::Store(e)) => return Err(e.into()),
        }
    }
    Err(ServiceError::Internal("the user kept changing".into()))
}

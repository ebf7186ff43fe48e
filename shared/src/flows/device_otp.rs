//! P7 `/user/otp`: enrol an authenticator (POST, then PUT with its first
//! code) and remove it (DELETE). Each is a change of the user: sequence,
//! audit event and notice. The secret leaves the service once, in POST's
//! answer; it is stored only sealed by the key ring, the user id as
//! associated data. Proving the device at P5 is `pin_proof`'s.

use super::ports::{Clocked, Notices, OtpKeys, OtpStore, Passwords, ResetCodeStore, UserStore};
use crate::domain::totp::{self, TotpMatch};
use crate::domain::{Enrolment, OtpCode, OtpSecret, Secret, User};
use crate::error::ServiceError;
use crate::mail::Notice;
use crate::store::{PendingEnrolment, WriteError};

use super::caller::WindowCount;
use super::current_password;
use super::{retry_on_conflict, retry_user_change, Retry};

/// How long a started enrolment waits for its first code (SPEC P7).
pub const ENROLMENT_SECONDS: i64 = 10 * 60;

/// What P7's POST answers: what the user's app needs, and until when.
#[derive(Debug)]
pub struct StartedEnrolment {
    pub enrolment: Enrolment,
    /// Unix seconds.
    pub expires_at: i64,
}

/// P7 POST: a fresh secret, pending until it is activated or expires; a
/// pending one it replaces is gone. A user with a password proves it first.
pub async fn start_enrolment(
    ports: &(impl Clocked + Notices + OtpKeys + OtpStore + Passwords + ResetCodeStore + UserStore),
    user: User,
    window: &WindowCount,
    password: Option<&Secret>,
) -> Result<StartedEnrolment, ServiceError> {
    current_password::prove(ports, &user, window, password).await?;
    let proven = user.has_password().then_some(&window.window);
    let otp = ports.otp()?;
    let secret = OtpSecret::generate();
    let enrolment = secret
        .enrolment(&otp.issuer, user.email.as_str())
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let sealed = &ports.otp_keys().await?.encrypt(&secret, user.id.as_str());
    let expires_at = ports.clock().now_seconds() + ENROLMENT_SECONDS;
    let user = retry_user_change(ports, user, |user| {
        Box::pin(async move {
            let at = ports.clock().now_millis();
            let written = ports
                .device_otps()
                .start_otp_enrolment(&user, sealed, expires_at, at, proven)
                .await;
            current_password::proven_write(written, window, user)
        })
    })
    .await?;
    tracing::info!(user_id = %user.id, "OTP enrolment started");
    ports.notify(&user, Notice::OtpEnrolmentStarted).await;
    Ok(StartedEnrolment {
        enrolment,
        expires_at,
    })
}

/// P7 PUT: the pending enrolment becomes the user's device with a first
/// valid code, replacing any previous device. The code's step is stored as
/// the last accepted one, so the same code cannot then be used at P5.
/// A wrong code is not counted: whoever can activate already holds the
/// secret that POST returned, so there is nothing to guess.
pub async fn activate(
    ports: &(impl Clocked + Notices + OtpKeys + OtpStore),
    user: User,
    pending: Option<PendingEnrolment>,
    code: &OtpCode,
) -> Result<(), ServiceError> {
    let keys = ports.otp_keys().await?;
    let keys = keys.as_ref();
    let user = retry_on_conflict(
        (user, pending),
        |(user, _)| {
            Box::pin(async move {
                ports
                    .device_otps()
                    .user_with_otp_enrolment(&user.id, ports.clock().now_seconds())
                    .await?
                    .ok_or(ServiceError::UserNotFound)
            })
        },
        |(user, pending)| {
            Box::pin(async move {
                let pending = pending.ok_or(ServiceError::OtpEnrolmentNotPending)?;
                let secret = keys.decrypt(&pending.sealed_secret, user.id.as_str())?;
                let now = ports.clock().now_seconds();
                // Nothing accepted yet: a code is fresh or wrong.
                let TotpMatch::Fresh(step) = totp::verify(
                    secret.expose_bytes(),
                    code,
                    u64::try_from(now).unwrap_or_default(),
                    None,
                ) else {
                    return Err(Retry::Refused(ServiceError::OtpInvalid {
                        remaining_attempts: None,
                    }));
                };
                let at = ports.clock().now_millis();
                match ports
                    .device_otps()
                    .activate_otp(&user, &pending, step, now, at)
                    .await
                {
                    Ok(_) => Ok(user),
                    // Activated or replaced by a concurrent request, or expired.
                    Err(WriteError::EnrolmentNotPending) => {
                        Err(Retry::Refused(ServiceError::OtpEnrolmentNotPending))
                    }
                    Err(other) => Err(other.into()),
                }
            })
        },
    )
    .await?;
    tracing::info!(user_id = %user.id, "OTP device activated");
    ports.notify(&user, Notice::OtpActivated).await;
    Ok(())
}

/// P7 DELETE: removes the device, and a pending enrolment with it. A user
/// with a password proves it; a user without a device learns so before any
/// password attempt is spent.
pub async fn remove(
    ports: &(impl Clocked + Notices + OtpStore + Passwords + ResetCodeStore + UserStore),
    user: User,
    window: &WindowCount,
    password: Option<&Secret>,
) -> Result<(), ServiceError> {
    if user.otp_device.is_none() {
        return Err(ServiceError::OtpNotSet);
    }
    current_password::prove(ports, &user, window, password).await?;
    let proven = user.has_password().then_some(&window.window);
    let user = retry_user_change(ports, user, |user| {
        Box::pin(async move {
            if user.otp_device.is_none() {
                // Removed by a concurrent request.
                return Err(Retry::Refused(ServiceError::OtpNotSet));
            }
            let written = ports
                .device_otps()
                .remove_otp(&user, ports.clock().now_millis(), proven)
                .await;
            current_password::proven_write(written, window, user)
        })
    })
    .await?;
    tracing::info!(user_id = %user.id, "OTP device removed");
    ports.notify(&user, Notice::OtpRemoved).await;
    Ok(())
}

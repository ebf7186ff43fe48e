//! P4 (deprecated): a PIN-gated password reset (SPEC section 4), the PIN
//! proven under the second factor's rule (`pin_proof`).

use super::pin_proof::{check_proof, SecondFactor};
use super::ports::{
    Clocked, Notices, OtpKeys, OtpStore, Passwords, PepperKeys, PinStore, Settings, UserStore,
};
use super::replacement::{hash_new_password, replace_password, Replacement};
use crate::domain::{AuditEventType, Pin, Secret, User};
use crate::error::ServiceError;
use crate::mail::Notice;
use crate::store::PinFailures;

/// P4 (deprecated): resets the caller's password. With a PIN, under the PIN
/// rule, keeping the payment methods; without one, deleting them.
pub async fn reset_password(
    ports: &(impl Clocked
          + Notices
          + OtpKeys
          + OtpStore
          + Passwords
          + PepperKeys
          + PinStore
          + Settings
          + UserStore),
    user: User,
    failures: PinFailures,
    password: &Secret,
    pin: Option<&Pin>,
) -> Result<(), ServiceError> {
    // Bad input is refused before a PIN attempt is spent on it.
    let accepted = ports.policy().accept(password, &user.email)?;
    let user = match pin {
        Some(pin) => check_proof(ports, user, failures, &SecondFactor::Pin(pin.clone())).await?,
        None => user,
    };
    let password_hash = hash_new_password(ports, &user, accepted).await?;
    let replacement = Replacement {
        change_required: false,
        event: AuditEventType::PasswordReset,
        actor: user.id.to_string(),
        delete_critical_data: pin.is_none() && !user.payment_methods.is_empty(),
    };
    let user = replace_password(ports, user, password_hash, &replacement).await?;
    if replacement.delete_critical_data {
        ports.notify(&user, Notice::CriticalDataDeleted).await;
    }
    Ok(())
}

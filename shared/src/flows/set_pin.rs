//! P6: setting or replacing the PIN that the second factor's rule
//! (`pin_proof`) checks.

use super::caller::WindowCount;
use super::current_password;
use super::ports::{Clocked, Passwords, PepperKeys, ResetCodeStore, UserStore};
use super::retry_user_change;
use crate::domain::{Pin, Purpose, Secret, User};
use crate::error::ServiceError;

/// P6: sets or replaces the PIN. A user with a password proves it, on the
/// wrong-secret limit (`window`, read with the user; see
/// [`current_password::prove`]): two round trips when right.
pub async fn set_pin(
    ports: &(impl Clocked + Passwords + PepperKeys + ResetCodeStore + UserStore),
    user: User,
    window: &WindowCount,
    pin: &Pin,
    password: Option<&Secret>,
) -> Result<(), ServiceError> {
    current_password::prove(ports, &user, window, password).await?;
    let proven = user.has_password().then_some(&window.window);
    let digest = ports
        .pepper()
        .await?
        .digest(Purpose::Pin, user.id.as_str(), pin.secret());
    let digest = &digest;
    let user = retry_user_change(ports, user, |user| {
        Box::pin(async move {
            let at = ports.clock().now_millis();
            let written = ports
                .users()
                .set_pin(&user, digest, user.id.as_str(), at, proven)
                .await;
            current_password::proven_write(written, window, user.id)
        })
    })
    .await?;
    tracing::info!(user_id = %user, "PIN set");
    Ok(())
}

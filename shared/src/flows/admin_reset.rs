//! O1: an admin (scope `users:resetPassword`) resets a user's password.

use super::ports::{Clocked, Limits, Notices, Passwords, Settings, UserStore};
use crate::auth::Caller;
use crate::domain::{AuditEventType, Secret, User, UserId};
use crate::error::ServiceError;
use crate::rate_limit::Limit;

use super::replacement::{hash_new_password, replace_password, Replacement};

/// Resets `user_id`'s password to `new_password` on behalf of `admin`, who
/// has been authorised. Counts toward the admin's resets per minute.
pub async fn reset_password(
    ports: &(impl Clocked + Limits + Notices + Passwords + Settings + UserStore),
    admin: &Caller,
    user_id: &UserId,
    new_password: &Secret,
) -> Result<User, ServiceError> {
    ports
        .limiter()
        .take(Limit::AdminResets, &admin.subject)
        .await?;
    let user = ports
        .users()
        .get_user(user_id)
        .await?
        .ok_or(ServiceError::UserNotFound)?;
    let accepted = ports.policy().accept(new_password, &user.email)?;
    let password_hash = hash_new_password(ports, &user, accepted).await?;
    let replacement = Replacement {
        change_required: ports.config().access.admin_reset_sets_change_required,
        event: AuditEventType::PasswordReset,
        actor: admin.subject.clone(),
        delete_critical_data: false,
    };
    replace_password(ports, user, password_hash, &replacement).await
}

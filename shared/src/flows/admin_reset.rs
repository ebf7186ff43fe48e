//! O1: an admin (scope `users:resetPassword`) resets a user's password.

use crate::auth::Caller;
use crate::domain::{AuditEventType, Secret, User, UserId};
use crate::error::ServiceError;
use crate::rate_limit::Limit;
use crate::services::Services;

use super::replacement::{hash_new_password, replace_password, Replacement};

/// Resets `user_id`'s password to `new_password` on behalf of `admin`, who
/// has been authorised. Counts toward the admin's resets per minute.
pub async fn reset_password(
    services: &Services,
    admin: &Caller,
    user_id: &UserId,
    new_password: &Secret,
) -> Result<User, ServiceError> {
    services
        .limiter
        .take(Limit::AdminResets, &admin.subject)
        .await?;
    let user = services
        .store
        .get_user(user_id)
        .await?
        .ok_or(ServiceError::UserNotFound)?;
    let accepted = services.policy.accept(new_password, &user.email)?;
    let password_hash = hash_new_password(services, &user, accepted).await?;
    let replacement = Replacement {
        change_required: services.config.access.admin_reset_sets_change_required,
        event: AuditEventType::PasswordReset,
        actor: admin.subject.clone(),
        delete_critical_data: false,
    };
    replace_password(services, user, password_hash, &replacement).await
}

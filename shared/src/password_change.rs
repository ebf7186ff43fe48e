//! Replacing an existing user's password (resets and changes): the policy
//! including "must differ from the current one", the write with its sequence
//! bump and audit event, session cut-off, and the notice.

use crate::clock::Millis;
use crate::domain::{AuditEventType, Secret, User};
use crate::hashing::Verification;
use crate::mail::Notice;
use crate::service::{ServiceError, Services};
use crate::store::{ChangePasswordError, PasswordWrite};

/// Re-reads after a concurrent change; more is contention, not progress.
const MAX_WRITE_ATTEMPTS: usize = 3;

/// Applies the whole policy to `candidate` for `user` and returns its hash.
pub async fn accept_new_password(
    services: &Services,
    user: &User,
    candidate: &Secret,
) -> Result<String, ServiceError> {
    let accepted = services.policy.check(candidate, &user.email)?;
    if user.has_password() {
        let current = services
            .hasher
            .verify(accepted.clone(), user.password_hash.clone())
            .await?;
        if matches!(current, Verification::Valid { .. }) {
            return Err(crate::policy::PolicyViolation::Unchanged.into());
        }
    }
    Ok(services.hasher.hash(accepted).await?)
}

/// What a replacement records beside the hash.
#[derive(Debug, Clone)]
pub struct Replacement {
    pub change_required: bool,
    pub event: AuditEventType,
    /// Who made the change: the user themself, or an admin's subject.
    pub actor: String,
    /// Also delete the payment methods, in the same transaction.
    pub delete_critical_data: bool,
}

impl Replacement {
    /// The write of `password_hash` for `user` as read, at `now`: a change or
    /// reset ends the sessions before it where so configured (SPEC section 1).
    pub fn write(
        &self,
        services: &Services,
        user: &User,
        password_hash: String,
        now: Millis,
    ) -> PasswordWrite {
        PasswordWrite {
            user_id: user.id.clone(),
            expected_sequence: user.sequence,
            password_hash,
            change_required: self.change_required,
            sessions_not_before: services
                .config
                .revoke_sessions_on_password_change
                .then(|| now.div_euclid(1000)),
            event: self.event,
            actor: self.actor.clone(),
            at: now,
            delete_critical_data: self.delete_critical_data,
        }
    }

    /// The notice the user gets for this replacement.
    pub fn notice(&self) -> Notice<'static> {
        match self.event {
            AuditEventType::PasswordReset => Notice::PasswordReset,
            _ => Notice::PasswordChanged,
        }
    }
}

/// Writes `password_hash` as `user`'s password. If the user changed since it
/// was read, reads again and retries; a user gone by then is `UserNotFound`.
/// Returns the user as written (new sequence, change time).
pub async fn replace_password(
    services: &Services,
    mut user: User,
    password_hash: String,
    replacement: &Replacement,
) -> Result<User, ServiceError> {
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let now = services.clock.now_millis();
        let write = replacement.write(services, &user, password_hash.clone(), now);
        match services.store.change_password(&write).await {
            Ok(sequence) => {
                tracing::info!(user_id = %user.id, event = replacement.event.as_str(), "password replaced");
                user.sequence = sequence;
                user.password_hash = Some(password_hash);
                user.change_required = replacement.change_required;
                user.password_changed_at = Some(now);
                user.sessions_not_before = write.sessions_not_before.or(user.sessions_not_before);
                if replacement.delete_critical_data {
                    user.payment_methods.clear();
                    user.critical_data_deleted_at = Some(now);
                }
                services.notify(&user, replacement.notice()).await;
                return Ok(user);
            }
            Err(ChangePasswordError::UserChanged) => {
                user = services.reload(&user).await?;
            }
            Err(ChangePasswordError::Store(e)) => return Err(e.into()),
        }
    }
    Err(ServiceError::Internal(
        "the user kept changing during the password write".into(),
    ))
}

//! Replacing an existing user's password (changes and resets): "must differ
//! from the current one", the write with its sequence bump and audit event,
//! the session cut-off, and the notice.

use super::ports::{Clocked, Notices, Passwords, Settings, UserStore};
use crate::clock::Millis;
use crate::domain::{AcceptedPassword, AuditEventType, PolicyViolation, User};
use crate::error::ServiceError;
use crate::hashing::Verification;
use crate::mail::Notice;
use crate::store::PasswordWrite;

use super::retry_user_change;

/// The hash of `accepted` as `user`'s new password, once it differs from the
/// current one (SPEC section 3).
pub async fn hash_new_password(
    ports: &impl Passwords,
    user: &User,
    accepted: AcceptedPassword,
) -> Result<String, ServiceError> {
    if user.has_password() {
        let current = ports
            .hasher()
            .verify(accepted.secret().clone(), user.password_hash.clone())
            .await?;
        if matches!(current, Verification::Valid { .. }) {
            return Err(PolicyViolation::Unchanged.into());
        }
    }
    Ok(ports.hasher().hash(accepted).await?)
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
        ports: &impl Settings,
        user: &User,
        password_hash: String,
        now: Millis,
    ) -> PasswordWrite {
        PasswordWrite {
            user_id: user.id.clone(),
            expected_sequence: user.sequence,
            password_hash,
            change_required: self.change_required,
            sessions_not_before: ports
                .config()
                .access
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

/// Writes `password_hash` as `user`'s password, re-reading the user when it
/// changed since it was read (a user gone by then is `UserNotFound`), and
/// mails the notice. Returns the user as written.
pub async fn replace_password(
    ports: &(impl Clocked + Notices + Settings + UserStore),
    user: User,
    password_hash: String,
    replacement: &Replacement,
) -> Result<User, ServiceError> {
    let password_hash = &password_hash;
    let written = retry_user_change(ports, user, |user| {
        Box::pin(async move {
            let now = ports.clock().now_millis();
            let write = replacement.write(ports, &user, password_hash.clone(), now);
            let sequence = ports.users().replace_password(&write).await?;
            let mut user = user;
            user.sequence = sequence;
            user.password_hash = Some(write.password_hash);
            user.change_required = write.change_required;
            user.password_changed_at = Some(now);
            user.sessions_not_before = write.sessions_not_before.or(user.sessions_not_before);
            if write.delete_critical_data {
                user.payment_methods.clear();
                user.critical_data_deleted_at = Some(now);
            }
            Ok(user)
        })
    })
    .await?;
    tracing::info!(user_id = %written.id, event = replacement.event.as_str(), "password replaced");
    ports.notify(&written, replacement.notice()).await;
    Ok(written)
}

//! Z2: replace a user's password with the current password or a reset code
//! as proof, or as an admin with neither.
//!
//! With a proof, one round trip reads the user, their code and their
//! wrong-secret count, and one transaction writes the password, consumes the
//! code and checks the wrong-secret window is not full; a wrong secret steps
//! the window (and the code's wrong tries) in one conditional transaction.

use super::ports::{
    Clocked, Limits, Notices, Passwords, PepperKeys, ResetCodeStore, Settings, UserStore,
};
use crate::auth::{Actor, Caller, SCOPE_RESET_PASSWORD};
use crate::domain::policy::normalise;
use crate::domain::{
    AcceptedPassword, AuditEventType, ChangeDetails, PolicyViolation, Purpose, Secret, User, UserId,
};
use crate::error::ServiceError;
use crate::hashing::Verification;
use crate::rate_limit::{Limit, Window};
use crate::store::{Proof, ResetState, WriteError};

use super::caller::check_caller_session;
use super::replacement::{hash_new_password, replace_password, Replacement};
use super::reset_code::{find_user, MAX_WRONG_CODE_TRIES};
use super::{retry_on_conflict, Retry};

/// What a Z2 request proves, besides the caller's token.
#[derive(Debug, Clone)]
pub enum ProofGiven {
    CurrentPassword(Secret),
    VerificationCode(Secret),
}

/// Z2: replaces the password of `user_id` on the authority of `actor` (see
/// [`Caller::authorise`]), with `proof`, or as an admin without one.
pub async fn change_password(
    ports: &(impl Clocked
          + Limits
          + Notices
          + Passwords
          + PepperKeys
          + ResetCodeStore
          + Settings
          + UserStore),
    caller: &Caller,
    actor: Actor,
    user_id: &str,
    new_password: &Secret,
    change_required: bool,
    proof: Option<ProofGiven>,
) -> Result<ChangeDetails, ServiceError> {
    match proof {
        Some(proof) => {
            let id = UserId::parse(user_id).ok_or(ServiceError::UserNotFound)?;
            change_with_proof(ports, caller, &id, new_password, change_required, &proof).await
        }
        None if actor == Actor::Admin => {
            ports
                .limiter()
                .take(Limit::AdminResets, &caller.subject)
                .await?;
            let user = find_user(ports, caller, user_id).await?;
            let accepted = ports.policy().accept(new_password, &user.email)?;
            let hash = hash_new_password(ports, &user, accepted).await?;
            let replacement = Replacement {
                change_required,
                event: AuditEventType::PasswordReset,
                actor: caller.subject.clone(),
                delete_critical_data: false,
            };
            let user = replace_password(ports, user, hash, &replacement).await?;
            Ok(details_of(&user))
        }
        None => Err(ServiceError::Forbidden(SCOPE_RESET_PASSWORD.into())),
    }
}

async fn change_with_proof(
    ports: &(impl Clocked
          + Limits
          + Notices
          + Passwords
          + PepperKeys
          + ResetCodeStore
          + Settings
          + UserStore),
    caller: &Caller,
    id: &UserId,
    new_password: &Secret,
    change_required: bool,
    proof: &ProofGiven,
) -> Result<ChangeDetails, ServiceError> {
    // Each attempt reads afresh: a concurrent change may have changed the
    // password or consumed the code the decision rests on.
    let (user, details) = retry_on_conflict(
        (),
        |_| Box::pin(async { Ok(()) }),
        |_| {
            Box::pin(async move {
                let window = ports.limiter().window(Limit::WrongSecrets, id.as_str());
                let state = ports
                    .reset_codes()
                    .reset_state(id, &window.counter)
                    .await?
                    .ok_or(ServiceError::UserNotFound)?;
                check_caller_session(ports, caller, &state.user).await?;
                if state.wrong_secrets >= window.quota {
                    return Err(ServiceError::from(window.limited()).into());
                }
                // Bad input is refused before the secret is tried.
                let accepted = ports.policy().accept(new_password, &state.user.email)?;
                let (hash, code_digest) = prove(ports, &state, &window, proof, accepted).await?;
                let now = ports.clock().now_millis();
                let replacement = Replacement {
                    change_required,
                    event: AuditEventType::PasswordChanged,
                    actor: caller.subject.clone(),
                    delete_critical_data: false,
                };
                let write = replacement.write(ports, &state.user, hash, now);
                let proof = match &code_digest {
                    Some(digest) => Proof::Code {
                        digest,
                        max_wrong_tries: MAX_WRONG_CODE_TRIES,
                        now: window.now,
                    },
                    None => Proof::CurrentPassword,
                };
                match ports
                    .reset_codes()
                    .replace_password_with_proof(&write, proof, &window)
                    .await
                {
                    Ok(sequence) => Ok((
                        state.user.clone(),
                        ChangeDetails {
                            sequence,
                            change_date: now,
                            resource_owner: state.user.resource_owner.clone(),
                        },
                    )),
                    Err(WriteError::LimitReached) => {
                        Err(ServiceError::from(window.limited()).into())
                    }
                    // Used or replaced since it was read (a concurrent change won).
                    Err(WriteError::CodeNotLive) => {
                        Err(Retry::Refused(ServiceError::InvalidVerificationCode))
                    }
                    Err(other) => Err(other.into()),
                }
            })
        },
    )
    .await?;
    tracing::info!(user_id = %user.id, "password changed");
    ports
        .notify(&user, crate::mail::Notice::PasswordChanged)
        .await;
    Ok(details)
}

/// Checks the proof against the state read; returns the new password's hash
/// and, for a code, the digest to consume. A wrong secret is counted.
async fn prove(
    ports: &(impl Passwords + PepperKeys + ResetCodeStore),
    state: &ResetState,
    window: &Window,
    proof: &ProofGiven,
    accepted: AcceptedPassword,
) -> Result<(String, Option<String>), Retry> {
    let user: &User = &state.user;
    match proof {
        ProofGiven::CurrentPassword(current) => {
            let verified = ports
                .hasher()
                .verify(current.clone(), user.password_hash.clone())
                .await?;
            if verified == Verification::Invalid {
                return Err(wrong_secret(ports, window, None, ServiceError::WrongPassword).await);
            }
            // The current password is known in clear here: no second argon2 run.
            if normalise(current) == *accepted.secret() {
                return Err(PolicyViolation::Unchanged.into());
            }
            Ok((ports.hasher().hash(accepted).await?, None))
        }
        ProofGiven::VerificationCode(code) => {
            let given = Secret::new(code.expose().to_ascii_uppercase());
            let pepper = ports.pepper().await?;
            let live = match state.code.as_ref() {
                Some(c) if c.expires_at > window.now && c.wrong_tries < MAX_WRONG_CODE_TRIES => {
                    pepper
                        .verify(Purpose::ResetCode, user.id.as_str(), &given, &c.digest)?
                        .is_right()
                        .then_some(c)
                }
                _ => None,
            };
            let Some(live) = live else {
                let wrong = ServiceError::InvalidVerificationCode;
                return Err(wrong_secret(ports, window, Some(&user.id), wrong).await);
            };
            let hash = hash_new_password(ports, user, accepted).await?;
            Ok((hash, Some(live.digest.clone())))
        }
    }
}

/// Counts a wrong secret; the answer is `wrong`, or 429 once the window is full.
async fn wrong_secret(
    ports: &impl ResetCodeStore,
    window: &Window,
    code_of: Option<&UserId>,
    wrong: ServiceError,
) -> Retry {
    let answer = match ports
        .reset_codes()
        .record_wrong_secret(window, code_of, MAX_WRONG_CODE_TRIES)
        .await
    {
        Ok(()) => wrong,
        Err(WriteError::LimitReached) => window.limited().into(),
        Err(other) => other.into(),
    };
    Retry::Refused(answer)
}

fn details_of(user: &User) -> ChangeDetails {
    ChangeDetails {
        sequence: user.sequence,
        change_date: user.password_changed_at.unwrap_or_default(),
        resource_owner: user.resource_owner.clone(),
    }
}

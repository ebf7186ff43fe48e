//! Family Z: password-reset codes (Z1) and changing a password with the
//! current password, a code, or as an admin (Z2).
//!
//! A user's code lives in the tokens table as an HMAC under the pepper, one
//! per user (a new one replaces the old), for an hour, dead after five wrong
//! tries. A Z2 with a proof reads the user, the code and the wrong-secret
//! count in one round trip and writes once: the password change consumes the
//! code and checks the wrong-secret window in the same transaction.

use crate::auth::{Caller, SCOPE_RESET_PASSWORD};
use crate::clock::Millis;
use crate::domain::{AuditEventType, Secret, User, UserId};
use crate::hashing::Verification;
use crate::mail::{render, Notice};
use crate::password_change::{accept_new_password, replace_password, Replacement};
use crate::policy::{normalise, PolicyViolation};
use crate::rate_limit::{Limit, Window};
use crate::secrets::fill_random;
use crate::service::{ServiceError, Services};
use crate::store::{Proof, ProofWriteError, WriteError};

pub const CODE_PURPOSE: &str = "reset-code";
pub const CODE_TTL_SECONDS: i64 = 3600;
pub const MAX_WRONG_CODE_TRIES: u32 = 5;
const CODE_ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const MAX_ATTEMPTS: usize = 3;

/// A code of `length` characters from `[A-Z0-9]`, uniformly.
pub fn new_code(length: usize) -> Secret {
    let mut code = String::with_capacity(length);
    let mut byte = [0u8; 1];
    while code.len() < length {
        fill_random(&mut byte);
        // 252 = 7 × 36: rejecting the rest keeps every symbol equally likely.
        if byte[0] < 252 {
            code.push(CODE_ALPHABET[usize::from(byte[0] % 36)] as char);
        }
    }
    Secret::new(code)
}

/// Family Z's `details`: the user's sequence after the change, its time and
/// the user's organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    pub sequence: u64,
    pub change_date: Millis,
    pub resource_owner: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Mail the code, with a link from this template (or the configured one).
    SendLink { url_template: Option<String> },
    /// Answer the code to the (admin) caller.
    ReturnCode,
}

/// Who may act on `user_id`: the user themself, or an admin. Decided from the
/// token alone, before any lookup, so a stranger learns nothing.
fn authorise(caller: &Caller, user_id: &str) -> Result<bool, ServiceError> {
    let is_admin = caller.has_scope(SCOPE_RESET_PASSWORD);
    if caller.subject != user_id && !is_admin {
        return Err(ServiceError::Forbidden(SCOPE_RESET_PASSWORD.into()));
    }
    Ok(is_admin)
}

async fn find_user(
    services: &Services,
    caller: &Caller,
    user_id: &str,
) -> Result<User, ServiceError> {
    let id = UserId::parse(user_id).ok_or(ServiceError::UserNotFound)?;
    let user = services
        .store
        .get_user(&id)
        .await?
        .ok_or(ServiceError::UserNotFound)?;
    check_caller_session(services, caller, &user)?;
    Ok(user)
}

/// Where the caller is the user, a password change since their token was
/// issued ends it.
fn check_caller_session(
    services: &Services,
    caller: &Caller,
    user: &User,
) -> Result<(), ServiceError> {
    if caller.subject == user.id.as_str() {
        caller.check_session(user, services.config.revoke_sessions_on_password_change)?;
    }
    Ok(())
}

/// Z1: issues a new code for `user_id`, mailing it or answering it.
pub async fn issue_code(
    services: &Services,
    caller: &Caller,
    user_id: &str,
    delivery: &Delivery,
) -> Result<(Details, Option<Secret>), ServiceError> {
    let is_admin = authorise(caller, user_id)?;
    if *delivery == Delivery::ReturnCode && !is_admin {
        return Err(ServiceError::Forbidden(SCOPE_RESET_PASSWORD.into()));
    }
    let mut user = find_user(services, caller, user_id).await?;
    let taken = match delivery {
        Delivery::SendLink { .. } => {
            services
                .take(
                    Limit::Emails {
                        kind: "password-reset-code",
                    },
                    user.id.as_str(),
                )
                .await?
        }
        Delivery::ReturnCode => services.take(Limit::AdminResets, &caller.subject).await?,
    };
    let code = new_code(services.config.reset_code_length);
    let digest = services
        .pepper
        .digest(CODE_PURPOSE, user.id.as_str(), &code);
    let mut issued = None;
    for _ in 0..MAX_ATTEMPTS {
        let at = services.clock.now_millis();
        let expires_at = at.div_euclid(1000) + CODE_TTL_SECONDS;
        match services
            .store
            .issue_reset_code(&user, &digest, expires_at, &caller.subject, at)
            .await
        {
            Ok(sequence) => {
                issued = Some(Details {
                    sequence,
                    change_date: at,
                    resource_owner: user.resource_owner.clone(),
                });
                break;
            }
            Err(WriteError::Conflict) => {
                user = services.reload(&user).await?;
            }
            Err(WriteError::Store(e)) => return Err(e.into()),
        }
    }
    let details = issued.ok_or_else(|| ServiceError::Internal("the user kept changing".into()))?;
    tracing::info!(user_id = %user.id, "reset code issued");
    match delivery {
        Delivery::ReturnCode => Ok((details, Some(code))),
        Delivery::SendLink { url_template } => {
            let template = url_template
                .as_deref()
                .or(services.config.reset_code_url_template.as_deref());
            let link = template.map(|t| fill_template(t, &user, &code));
            let mail = render(
                Notice::ResetCode {
                    code: code.expose(),
                    link: link.as_deref(),
                    valid_minutes: 60,
                },
                &user.email,
                user.locale,
            );
            if let Err(error) = services.mailer.send(&mail).await {
                services.give_back(taken).await;
                return Err(error.into());
            }
            Ok((details, None))
        }
    }
}

/// The link of a `urlTemplate`: `{{.UserID}}`, `{{.Code}}`, `{{.OrgID}}`
/// replaced by their values, percent-encoded for a URL.
pub fn fill_template(template: &str, user: &User, code: &Secret) -> String {
    template
        .replace("{{.UserID}}", &url_encode(user.id.as_str()))
        .replace("{{.Code}}", &url_encode(code.expose()))
        .replace("{{.OrgID}}", &url_encode(&user.resource_owner))
}

fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What a Z2 request proves, besides the caller's token.
#[derive(Debug, Clone)]
pub enum Authority {
    CurrentPassword(Secret),
    VerificationCode(Secret),
    /// An admin (`users:resetPassword`) giving no secret.
    Admin,
}

/// Z2: replaces the password of `user_id`.
pub async fn change_password(
    services: &Services,
    caller: &Caller,
    user_id: &str,
    new_password: &Secret,
    change_required: bool,
    authority: Authority,
) -> Result<Details, ServiceError> {
    let is_admin = authorise(caller, user_id)?;
    match authority {
        Authority::Admin if is_admin => {
            services.take(Limit::AdminResets, &caller.subject).await?;
            let user = find_user(services, caller, user_id).await?;
            let hash = accept_new_password(services, &user, new_password).await?;
            let replacement = Replacement {
                change_required,
                event: AuditEventType::PasswordReset,
                actor: caller.subject.clone(),
                delete_critical_data: false,
            };
            let user = replace_password(services, user, hash, &replacement).await?;
            Ok(details_of(&user))
        }
        Authority::Admin => Err(ServiceError::Forbidden(SCOPE_RESET_PASSWORD.into())),
        proof => {
            let id = UserId::parse(user_id).ok_or(ServiceError::UserNotFound)?;
            change_with_proof(services, caller, &id, new_password, change_required, &proof).await
        }
    }
}

async fn change_with_proof(
    services: &Services,
    caller: &Caller,
    id: &UserId,
    new_password: &Secret,
    change_required: bool,
    proof: &Authority,
) -> Result<Details, ServiceError> {
    for _ in 0..MAX_ATTEMPTS {
        let window = services.window(Limit::WrongSecrets, id.as_str());
        let state = services
            .store
            .reset_state(id, &window.counter)
            .await?
            .ok_or(ServiceError::UserNotFound)?;
        let user = state.user;
        check_caller_session(services, caller, &user)?;
        if state.wrong_secrets >= window.quota {
            return Err(window.limited());
        }
        // Bad input is refused before the secret is tried.
        let accepted = services.policy.check(new_password, &user.email)?;
        let (hash, code_digest) = match proof {
            Authority::CurrentPassword(current) => {
                let verified = services
                    .hasher
                    .verify(current.clone(), user.password_hash.clone())
                    .await?;
                if verified == Verification::Invalid {
                    return Err(
                        wrong_secret(services, &window, None, ServiceError::WrongPassword).await,
                    );
                }
                // The current password is known in clear here: no second argon2 run.
                if normalise(current) == accepted {
                    return Err(PolicyViolation::Unchanged.into());
                }
                (services.hasher.hash(accepted).await?, None)
            }
            Authority::VerificationCode(code) => {
                let given = Secret::new(code.expose().to_ascii_uppercase());
                let live = state.code.as_ref().filter(|c| {
                    c.expires_at > window.now
                        && c.wrong_tries < MAX_WRONG_CODE_TRIES
                        && services
                            .pepper
                            .verify(CODE_PURPOSE, id.as_str(), &given, &c.digest)
                });
                let Some(live) = live else {
                    return Err(wrong_secret(
                        services,
                        &window,
                        Some(id),
                        ServiceError::InvalidVerificationCode,
                    )
                    .await);
                };
                (
                    accept_new_password(services, &user, new_password).await?,
                    Some(live.digest.clone()),
                )
            }
            Authority::Admin => unreachable!("handled by change_password"),
        };
        let now = services.clock.now_millis();
        let replacement = Replacement {
            change_required,
            event: AuditEventType::PasswordChanged,
            actor: caller.subject.clone(),
            delete_critical_data: false,
        };
        let write = replacement.write(services, &user, hash, now);
        let proof = match &code_digest {
            Some(digest) => Proof::Code {
                digest,
                max_wrong_tries: MAX_WRONG_CODE_TRIES,
                now: window.now,
            },
            None => Proof::CurrentPassword,
        };
        match services
            .store
            .change_password_with_proof(&write, proof, &window)
            .await
        {
            Ok(sequence) => {
                tracing::info!(user_id = %user.id, "password changed");
                services.notify(&user, replacement.notice()).await;
                return Ok(Details {
                    sequence,
                    change_date: now,
                    resource_owner: user.resource_owner,
                });
            }
            Err(ProofWriteError::LimitReached) => return Err(window.limited()),
            // Used or replaced since it was read (a concurrent change won).
            Err(ProofWriteError::CodeNotLive) => return Err(ServiceError::InvalidVerificationCode),
            Err(ProofWriteError::UserChanged) => continue,
            Err(ProofWriteError::Store(e)) => return Err(e.into()),
        }
    }
    Err(ServiceError::Internal("the user kept changing".into()))
}

/// Counts a wrong secret; the answer is `wrong`, or 429 once the window is full.
async fn wrong_secret(
    services: &Services,
    window: &Window,
    code_of: Option<&UserId>,
    wrong: ServiceError,
) -> ServiceError {
    match services
        .store
        .record_wrong_secret(window, code_of, MAX_WRONG_CODE_TRIES)
        .await
    {
        Ok(()) => wrong,
        Err(ProofWriteError::LimitReached) => window.limited(),
        Err(ProofWriteError::Store(e)) => e.into(),
        Err(other) => ServiceError::Internal(other.to_string()),
    }
}

fn details_of(user: &User) -> Details {
    Details {
        sequence: user.sequence,
        change_date: user.password_changed_at.unwrap_or_default(),
        resource_owner: user.resource_owner.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, Locale};

    #[test]
    fn codes_have_the_length_asked_and_only_upper_case_letters_and_digits() {
        for length in [1, 6, 20] {
            let code = new_code(length);
            assert_eq!(code.expose().len(), length);
            assert!(code
                .expose()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        }
        assert_ne!(new_code(20).expose(), new_code(20).expose());
    }

    #[test]
    fn templates_get_their_values_percent_encoded() {
        let user = User::new(
            Email::parse("a@example.com").unwrap(),
            Locale::En,
            "org 1/x".into(),
        );
        let link = fill_template(
            "https://x.example/reset?user={{.UserID}}&code={{.Code}}&org={{.OrgID}}",
            &user,
            &Secret::new("AB12CD"),
        );
        assert_eq!(
            link,
            format!(
                "https://x.example/reset?user={}&code=AB12CD&org=org%201%2Fx",
                user.id
            )
        );
    }
}

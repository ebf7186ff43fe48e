//! PIN-protected recovery (SPEC sections 4 P4–P6 and 5): the proof of a
//! second factor, a PIN or the device OTP, under one rule; and the
//! operator's unlock of a failure window.
//!
//! One failure counter per user, in a 24-hour window, stepped alike by a
//! wrong PIN and a wrong OTP. Each step of the counter is a write
//! conditional on the value it was decided on, so under any concurrency
//! exactly one request takes each step: exactly three answer "wrong",
//! exactly one deletes the payment methods (in the same transaction as its
//! step), and every other answers 410 until the window ends.
//!
//! A right OTP is accepted by a write conditional on its step being after
//! the last accepted one and on the counter being as read, so a code is
//! accepted once and never after a deletion. A code right for a step already
//! accepted (a replay: a retried or doubled request) is refused and not
//! counted: it proves the device was there a moment ago.

use super::ports::{
    Clocked, Notices, OtpKeys, OtpStore, Passwords, PepperKeys, PinStore, ResetCodeStore, Settings,
    UserStore,
};
use crate::domain::totp::{self, TotpMatch};
use std::sync::Arc;

use crate::domain::{
    AuditEventType, DigestMatch, OtpCode, OtpKeyRing, Pepper, Pin, Purpose, Secret, User, UserId,
};
use crate::error::ServiceError;
use crate::mail::Notice;
use crate::metrics::{self, Outcome};
use crate::store::PinFailures;

use super::caller::WindowCount;
use super::current_password;
use super::replacement::{hash_new_password, replace_password, Replacement};
use super::{retry_on_conflict, retry_user_change, Retry};

/// Wrong proofs answered as such; the next one deletes the critical data.
pub const MAX_PIN_FAILURES: u32 = 3;
/// How long failures count, from the first one (seconds).
pub const PIN_WINDOW_SECONDS: i64 = 24 * 3600;

/// The second factor a request proves: what the user knows or what they have.
#[derive(Debug, Clone)]
pub enum SecondFactor {
    Pin(Pin),
    Otp(OtpCode),
}

/// What a proof is checked with: the pepper for a PIN, the OTP secrets' key
/// ring for a code (each read only by the requests that need it).
enum ProofKeys {
    Pin(Arc<Pepper>),
    Otp(Arc<OtpKeyRing>),
}

impl ProofKeys {
    async fn for_proof(
        ports: &(impl OtpKeys + PepperKeys),
        proof: &SecondFactor,
    ) -> Result<Self, ServiceError> {
        Ok(match proof {
            SecondFactor::Pin(_) => ProofKeys::Pin(ports.pepper().await?),
            SecondFactor::Otp(_) => ProofKeys::Otp(ports.otp_keys().await?),
        })
    }
}

/// What a proof showed, judged on the user as read.
enum Verdict {
    /// Right; for an OTP, with the time step its code belongs to.
    Right {
        otp_step: Option<u64>,
    },
    /// A right PIN whose digest was made under an older pepper key.
    RightUnderOlderKey,
    Wrong,
    /// An OTP right for a step already accepted: refused, not counted.
    Replayed,
    /// The user has neither a PIN nor a device OTP.
    NothingToProve,
}

/// Checks `proof` under the PIN rule, starting from the user and counter as
/// the caller's authentication read them (so a call is one read and one
/// write). `PinInvalid`, `OtpInvalid`, `OtpAlreadyUsed`, `NoProofDefined`
/// and `CriticalDataDeleted` are the rule's refusals. A proof of a kind the user
/// does not have is a wrong one: the answer does not tell which kinds they
/// have, and only a user with neither gets `NoProofDefined`.
pub async fn check_proof(
    ports: &(impl Clocked + Notices + OtpKeys + OtpStore + PepperKeys + PinStore),
    user: User,
    failures: PinFailures,
    proof: &SecondFactor,
) -> Result<User, ServiceError> {
    let keys = &ProofKeys::for_proof(ports, proof).await?;
    let (user, _) = retry_on_conflict(
        (user, failures),
        |(user, _)| Box::pin(async move { user_and_failures(ports, &user.id).await }),
        |(user, failures)| {
            Box::pin(async move {
                let now = ports.clock().now_seconds();
                if failures.count > MAX_PIN_FAILURES {
                    // Locked for the rest of the window: no check at all.
                    return Err(Retry::Refused(ServiceError::CriticalDataDeleted {
                        retry_after_seconds: seconds_left(failures.window_ends_at, now),
                    }));
                }
                match judge(keys, &user, proof, now)? {
                    Verdict::NothingToProve => Err(Retry::Refused(ServiceError::NoProofDefined)),
                    Verdict::Replayed => Err(Retry::Refused(ServiceError::OtpAlreadyUsed {
                        remaining_attempts: MAX_PIN_FAILURES - failures.count,
                    })),
                    Verdict::Right {
                        otp_step: Some(step),
                    } => {
                        // Accepting the step, on condition that the counter is
                        // as read (and clearing it): one idempotent write. A
                        // conflict reads again, where a concurrent request
                        // that took the step makes this one a replay.
                        ports
                            .device_otps()
                            .accept_otp_step(&user, step, failures, now)
                            .await?;
                        Ok((user, failures))
                    }
                    verdict @ (Verdict::Right { otp_step: None } | Verdict::RightUnderOlderKey) => {
                        if failures.count > 0 {
                            ports
                                .pin_proofs()
                                .clear_pin_failures(&user.id, failures, now)
                                .await?;
                        }
                        if let (
                            Verdict::RightUnderOlderKey,
                            ProofKeys::Pin(pepper),
                            SecondFactor::Pin(pin),
                        ) = (verdict, keys, proof)
                        {
                            digest_again(ports, pepper, &user, pin).await;
                        }
                        Ok((user, failures))
                    }
                    Verdict::Wrong => Err(step_wrong(ports, &user, failures, now, proof).await),
                }
            })
        },
    )
    .await?;
    Ok(user)
}

/// Checks `proof` against the user as read; each comparison is made in
/// constant time (the PIN's HMAC, every code of the TOTP window).
fn judge(
    keys: &ProofKeys,
    user: &User,
    proof: &SecondFactor,
    now: i64,
) -> Result<Verdict, ServiceError> {
    if user.pin_hmac.is_none() && user.otp_device.is_none() {
        return Ok(Verdict::NothingToProve);
    }
    Ok(match (proof, keys, &user.pin_hmac, &user.otp_device) {
        (SecondFactor::Pin(pin), ProofKeys::Pin(pepper), Some(digest), _) => {
            match pepper.verify(Purpose::Pin, user.id.as_str(), pin.secret(), digest)? {
                DigestMatch::Current => Verdict::Right { otp_step: None },
                DigestMatch::OlderKey => Verdict::RightUnderOlderKey,
                DigestMatch::Wrong => Verdict::Wrong,
            }
        }
        (SecondFactor::Otp(code), ProofKeys::Otp(ring), _, Some(device)) => {
            let secret = ring.decrypt(&device.sealed_secret, user.id.as_str())?;
            let now = u64::try_from(now).unwrap_or_default();
            match totp::verify(secret.expose_bytes(), code, now, device.last_accepted_step) {
                TotpMatch::Fresh(step) => Verdict::Right {
                    otp_step: Some(step),
                },
                TotpMatch::Replayed => Verdict::Replayed,
                TotpMatch::Wrong => Verdict::Wrong,
            }
        }
        // A proof of a kind the user does not have.
        _ => Verdict::Wrong,
    })
}

/// A right PIN whose digest names an older pepper key is stored again under
/// the current one, so the old key can leave the ring. The digest is of the
/// same PIN, so nothing the user sees changes: no sequence step, no audit
/// event, and a write lost (the PIN changed meanwhile, the store failed) is
/// only logged; the next right PIN tries again.
async fn digest_again(ports: &impl PinStore, pepper: &Pepper, user: &User, pin: &Pin) {
    let Some(old) = user.pin_hmac.as_deref() else {
        return;
    };
    let new = pepper.digest(Purpose::Pin, user.id.as_str(), pin.secret());
    match ports
        .pin_proofs()
        .replace_pin_digest(&user.id, old, &new)
        .await
    {
        Ok(()) => {
            tracing::info!(user_id = %user.id, key_id = pepper.current_key_id(), "PIN digested under the current pepper key")
        }
        Err(error) => tracing::warn!(user_id = %user.id, %error, "PIN not digested again"),
    }
}

/// Counts a wrong proof: the answer is "wrong" (in the proof's own words)
/// with the attempts left, or, for the failure past the limit, the deletion
/// (in the same write) and 410.
async fn step_wrong(
    ports: &(impl Clocked + Notices + PinStore),
    user: &User,
    failures: PinFailures,
    now: i64,
    proof: &SecondFactor,
) -> Retry {
    let window_ends_at = failures.window_ends_at.unwrap_or(now + PIN_WINDOW_SECONDS);
    if let Err(error) = ports
        .pin_proofs()
        .record_pin_failure(
            user,
            failures,
            MAX_PIN_FAILURES,
            now,
            window_ends_at,
            ports.clock().now_millis(),
        )
        .await
    {
        return error.into();
    }
    // Both kinds of proof step the one counter; operators see them apart.
    metrics::record(match proof {
        SecondFactor::Pin(_) => Outcome::PinWrong,
        SecondFactor::Otp(_) => Outcome::OtpWrong,
    });
    let count = failures.count + 1;
    if count > MAX_PIN_FAILURES {
        tracing::warn!(user_id = %user.id, "too many wrong proofs: critical data deleted");
        ports.notify(user, Notice::CriticalDataDeleted).await;
        return Retry::Refused(ServiceError::CriticalDataDeleted {
            retry_after_seconds: seconds_left(Some(window_ends_at), now),
        });
    }
    let remaining_attempts = MAX_PIN_FAILURES - count;
    Retry::Refused(match proof {
        SecondFactor::Pin(_) => ServiceError::PinInvalid { remaining_attempts },
        SecondFactor::Otp(_) => ServiceError::OtpInvalid {
            remaining_attempts: Some(remaining_attempts),
        },
    })
}

/// The user and their failure counter as stored now.
async fn user_and_failures(
    ports: &(impl Clocked + PinStore),
    id: &UserId,
) -> Result<(User, PinFailures), ServiceError> {
    ports
        .pin_proofs()
        .user_with_pin_failures(id, ports.clock().now_seconds())
        .await?
        .ok_or(ServiceError::UserNotFound)
}

/// What an operator's unlock did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unlocked {
    /// The failures the cleared window held; 0 when none was live.
    pub cleared_failures: u32,
    /// The user's sequence afterwards.
    pub sequence: u64,
}

/// An operator clears the user's PIN failure window (`pwctl user unlock`), so
/// the user may prove the PIN again before the 24 hours are up. An audited
/// change by `actor`; with no live window, nothing changes. Payment methods
/// already deleted stay deleted.
pub async fn unlock(
    ports: &(impl Clocked + PinStore),
    id: &UserId,
    actor: &str,
) -> Result<Unlocked, ServiceError> {
    let state = user_and_failures(ports, id).await?;
    retry_on_conflict(
        state,
        |(user, _)| Box::pin(async move { user_and_failures(ports, &user.id).await }),
        |(user, failures)| {
            Box::pin(async move {
                if failures.count == 0 {
                    return Ok(Unlocked {
                        cleared_failures: 0,
                        sequence: user.sequence,
                    });
                }
                let sequence = ports
                    .pin_proofs()
                    .unlock_pin_failures(
                        &user,
                        failures,
                        ports.clock().now_seconds(),
                        actor,
                        ports.clock().now_millis(),
                    )
                    .await?;
                tracing::info!(user_id = %user.id, actor, "PIN failure window cleared");
                Ok(Unlocked {
                    cleared_failures: failures.count,
                    sequence,
                })
            })
        },
    )
    .await
}

fn seconds_left(window_ends_at: Option<i64>, now: i64) -> u64 {
    window_ends_at.map_or(1, |end| (end - now).max(1) as u64)
}

/// P5 with `skip: true`: the user gives up the proof; the payment methods go.
pub async fn skip_proof(
    ports: &(impl Clocked + Notices + UserStore),
    user: User,
) -> Result<(), ServiceError> {
    let deleted = retry_user_change(ports, user, |user| {
        Box::pin(async move {
            if user.payment_methods.is_empty() {
                return Ok(None); // Nothing to delete: no change, no event.
            }
            ports
                .users()
                .delete_critical_data(&user, user.id.as_str(), ports.clock().now_millis())
                .await?;
            Ok(Some(user))
        })
    })
    .await?;
    if let Some(user) = deleted {
        tracing::info!(user_id = %user.id, "critical data deleted: proof skipped");
        ports.notify(&user, Notice::CriticalDataDeleted).await;
    }
    Ok(())
}

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

//! The proof of a second factor, a PIN or the device OTP, under one rule
//! (SPEC section 5), and P5's callback: the proof, or giving it up. P4 proves
//! a PIN by the same rule (`pin_reset`), P6 sets the PIN (`set_pin`), an
//! operator clears the failure window (`pin_unlock`).
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

use std::sync::Arc;

use super::ports::{Clocked, Notices, OtpKeys, OtpStore, PepperKeys, PinStore, UserStore};
use super::{retry_on_conflict, retry_user_change, Retry};
use crate::domain::totp::{self, TotpMatch};
use crate::domain::{DigestMatch, OtpCode, OtpKeyRing, Pepper, Pin, Purpose, User, UserId};
use crate::error::ServiceError;
use crate::mail::Notice;
use crate::metrics::{self, Outcome};
use crate::store::PinFailures;

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
pub(super) async fn user_and_failures(
    ports: &(impl Clocked + PinStore),
    id: &UserId,
) -> Result<(User, PinFailures), ServiceError> {
    ports
        .pin_proofs()
        .user_with_pin_failures(id, ports.clock().now_seconds())
        .await?
        .ok_or(ServiceError::UserNotFound)
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

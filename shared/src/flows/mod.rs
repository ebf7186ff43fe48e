//! The operations of the service, one file each: what happens, in which
//! order, and what each refusal means. Each takes the ports it uses
//! (`ports`), which the wiring provides. The function crates parse requests
//! into domain types, call these, and render the outcome in their family's
//! shape.
//!
//! | file | operations |
//! |---|---|
//! | `caller` | who is calling: token, user, session cut-off, linked identity, owner or admin |
//! | `password_link` | P1 request a set-password link, P2 confirm it |
//! | `pin_proof` | the second factor's rule (PIN or device OTP, SPEC section 5); P5 the callback's proof or skip |
//! | `pin_reset` | P4 PIN-gated reset (deprecated) |
//! | `set_pin` | P6 set the PIN |
//! | `pin_unlock` | the operator's unlock of a failure window |
//! | `device_otp` | P7 enrol, activate and remove the device OTP |
//! | `reset_code` | Z1 issue a reset code |
//! | `change_with_proof` | Z2 change with the current password, a code, or as admin |
//! | `admin_reset` | O1 |
//! | `replacement` | what every change or reset of an existing password shares |
//! | `current_password` | the current password as proof (P6, P7), verifying a kept password and rehashing it |

pub mod admin_reset;
pub mod caller;
pub mod change_with_proof;
pub mod current_password;
pub mod device_otp;
pub mod password_link;
pub mod pin_proof;
pub mod pin_reset;
pub mod pin_unlock;
pub mod ports;
pub mod replacement;
pub mod reset_code;
pub mod set_pin;

use ports::{Limits, Notices, UserStore};
use std::future::Future;
use std::pin::Pin;

use crate::domain::User;
use crate::error::ServiceError;
use crate::mail::Notice;
use crate::rate_limit::Taken;
use crate::store::{StoreError, WriteError};

/// Attempts of one write whose decision keeps being overtaken: each lost race
/// means another request's change went through (the PIN rule has only four
/// steps to take), so more is contention, not progress.
const MAX_ATTEMPTS: usize = 10;

/// The store's failures are the service's (their cause goes to the log
/// only); a refusal a flow did not expect at that point is one too: the
/// flows match the refusals they expect before this applies.
impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

impl From<WriteError> for ServiceError {
    fn from(e: WriteError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

/// Why an attempt did not finish.
#[derive(Debug)]
pub(crate) enum Retry {
    /// The state it was decided on changed: read again and decide again.
    Conflict,
    /// A final answer.
    Refused(ServiceError),
}

/// A write's refusal: a concurrent change is retried, anything else is final
/// (an attempt matches the refusals it expects before `?` gets here).
impl From<WriteError> for Retry {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Conflict => Retry::Conflict,
            other => Retry::Refused(other.into()),
        }
    }
}

/// Every other error is final.
macro_rules! final_errors {
    ($($error:ty),*) => {$(
        impl From<$error> for Retry {
            fn from(error: $error) -> Self {
                Retry::Refused(error.into())
            }
        }
    )*};
}

final_errors!(
    ServiceError,
    crate::domain::DecryptError,
    crate::domain::UnknownPepperKey,
    crate::store::StoreError,
    crate::hashing::HashError,
    crate::domain::PolicyViolation,
    crate::rate_limit::TakeError
);

/// A boxed step of [`retry_on_conflict`]. Boxed and `Send` by name: the
/// compiler cannot prove an async closure's future `Send` for every lifetime
/// of its argument, which a Lambda handler's future must be.
pub(crate) type Step<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs `attempt` on `state` (as the caller already read it) until it
/// finishes; after a conflict, `reread` gets the state afresh. Each step gets
/// its own copy of the state, so its future borrows nothing but what the
/// flow lends for `'env`.
pub(crate) async fn retry_on_conflict<'env, S: Clone, T>(
    mut state: S,
    reread: impl Fn(S) -> Step<'env, Result<S, ServiceError>>,
    mut attempt: impl FnMut(S) -> Step<'env, Result<T, Retry>>,
) -> Result<T, ServiceError> {
    for attempts in 1..=MAX_ATTEMPTS {
        match attempt(state.clone()).await {
            Ok(done) => return Ok(done),
            Err(Retry::Refused(error)) => return Err(error),
            Err(Retry::Conflict) if attempts < MAX_ATTEMPTS => state = reread(state).await?,
            Err(Retry::Conflict) => {}
        }
    }
    Err(ServiceError::Internal(
        "the state kept changing during the write".into(),
    ))
}

/// [`retry_on_conflict`] for a change to one user, who is read afresh after
/// a conflict.
pub(crate) async fn retry_user_change<'env, T>(
    ports: &'env impl UserStore,
    user: User,
    attempt: impl FnMut(User) -> Step<'env, Result<T, Retry>>,
) -> Result<T, ServiceError> {
    retry_on_conflict(
        user,
        |user| Box::pin(async move { reload(ports, &user).await }),
        attempt,
    )
    .await
}

/// The user as stored now, after a write found them changed; gone is
/// `UserNotFound`.
pub(crate) async fn reload(ports: &impl UserStore, user: &User) -> Result<User, ServiceError> {
    ports
        .users()
        .get_user(&user.id)
        .await?
        .ok_or(ServiceError::UserNotFound)
}

/// Mails `user` the secret a flow is about to store (a link, a code). When
/// the mail does not go out the user has nothing to use, so the attempt
/// `taken` from their limit is given back and the flow stops there.
pub(crate) async fn send_before_storing(
    ports: &(impl Limits + Notices),
    taken: Taken,
    notice: Notice<'_>,
    user: &User,
) -> Result<(), ServiceError> {
    let sent = ports.send(notice, &user.email, user.locale).await;
    if let Err(error) = sent {
        ports.limiter().give_back(taken).await;
        return Err(error.into());
    }
    Ok(())
}

//! Who is calling (SPEC section 1): the token verified, and where the caller
//! is a user of this service, the session cut-off and the required linked
//! identity. Every endpoint with a bearer starts here, with the bytes of the
//! request's `Authorization` header (`http::authorization`).

use super::ports::{Clocked, Limits, OtpStore, PinStore, Settings, TokenCheck, UserStore};
use crate::auth::Caller;
use crate::domain::User;
use crate::error::ServiceError;
use crate::rate_limit::{Limit, Window};
use crate::store::{PendingEnrolment, PinFailures};

/// The caller of a valid token, without reading anything: for endpoints
/// that decide access from the token alone before any lookup.
pub async fn authenticate_token(
    ports: &(impl Clocked + TokenCheck),
    authorization: Option<&[u8]>,
) -> Result<Caller, ServiceError> {
    Ok(ports
        .authenticator()
        .authenticate(authorization, ports.clock().now_seconds())
        .await?)
}

/// Any caller with a valid token. Where the caller is also a user of this
/// service, a password change since the token was issued ends it too.
pub async fn authenticate_caller(
    ports: &(impl Clocked + Settings + TokenCheck + UserStore),
    authorization: Option<&[u8]>,
) -> Result<Caller, ServiceError> {
    let caller = authenticate_token(ports, authorization).await?;
    if let Some(id) = caller.user_id() {
        if let Some(user) = ports.users().get_user(&id).await? {
            check_session(ports, &caller, &user)?;
        }
    }
    Ok(caller)
}

/// The caller of a user endpoint (caller = `sub`), with their record:
/// token verified, user known, session not ended by a password change,
/// and the required linked identity present where one is configured.
pub async fn authenticate_user(
    ports: &(impl Clocked + Settings + TokenCheck + UserStore),
    authorization: Option<&[u8]>,
) -> Result<(Caller, User), ServiceError> {
    let caller = authenticate_token(ports, authorization).await?;
    let user = match caller.user_id() {
        Some(id) => ports.users().get_user(&id).await?,
        None => None,
    };
    let user = admit(ports, &caller, user)?;
    Ok((caller, user))
}

/// As [`authenticate_user`], reading the user's PIN failure counter in the
/// same round trip, for the endpoints under the PIN rule.
pub async fn authenticate_user_with_pin_failures(
    ports: &(impl Clocked + PinStore + Settings + TokenCheck),
    authorization: Option<&[u8]>,
) -> Result<(Caller, User, PinFailures), ServiceError> {
    let now = ports.clock().now_seconds();
    let caller = authenticate_token(ports, authorization).await?;
    let found = match caller.user_id() {
        Some(id) => ports.pin_proofs().user_with_pin_failures(&id, now).await?,
        None => None,
    };
    let (user, failures) = found.map_or((None, PinFailures::default()), |(u, f)| (Some(u), f));
    let user = admit(ports, &caller, user)?;
    Ok((caller, user, failures))
}

/// The session cut-off for a caller acting on `target`, wherever the caller
/// is a user of this service (SPEC section 1): checked on `target` when the
/// caller is that user, else on the caller's own record (an admin's token
/// ends with the admin's own password change too).
pub async fn check_caller_session(
    ports: &(impl Settings + UserStore),
    caller: &Caller,
    target: &User,
) -> Result<(), ServiceError> {
    if caller.is(target.id.as_str()) {
        return check_session(ports, caller, target);
    }
    match caller.user_id() {
        Some(id) => match ports.users().get_user(&id).await? {
            Some(own) => check_session(ports, caller, &own),
            None => Ok(()),
        },
        None => Ok(()),
    }
}

/// As [`authenticate_user`], reading the count of the user's current window
/// of `limit` in the same round trip, for a change the user proves with a
/// secret (see `current_password::prove`).
pub async fn authenticate_user_with_window(
    ports: &(impl Clocked + Limits + Settings + TokenCheck + UserStore),
    authorization: Option<&[u8]>,
    limit: Limit,
) -> Result<(Caller, User, WindowCount), ServiceError> {
    let caller = authenticate_token(ports, authorization).await?;
    let (user, window) = match caller.user_id() {
        Some(id) => {
            let window = ports.limiter().window(limit, id.as_str());
            match ports.users().user_with_count(&id, &window.counter).await? {
                Some((user, count)) => (Some(user), Some(WindowCount { window, count })),
                None => (None, None),
            }
        }
        None => (None, None),
    };
    let user = admit(ports, &caller, user)?;
    let window = window.expect("a window is read with every user");
    Ok((caller, user, window))
}

/// A rate-limit window and its count as read.
#[derive(Debug, Clone)]
pub struct WindowCount {
    pub window: Window,
    pub count: u32,
}

/// As [`authenticate_user`], reading the user's pending OTP enrolment in the
/// same round trip, for P7's activation.
pub async fn authenticate_user_with_otp_enrolment(
    ports: &(impl Clocked + OtpStore + Settings + TokenCheck),
    authorization: Option<&[u8]>,
) -> Result<(Caller, User, Option<PendingEnrolment>), ServiceError> {
    let now = ports.clock().now_seconds();
    let caller = authenticate_token(ports, authorization).await?;
    let found = match caller.user_id() {
        Some(id) => {
            ports
                .device_otps()
                .user_with_otp_enrolment(&id, now)
                .await?
        }
        None => None,
    };
    let (user, pending) = found.map_or((None, None), |(u, p)| (Some(u), p));
    let user = admit(ports, &caller, user)?;
    Ok((caller, user, pending))
}

/// A password change or reset since the caller's token was issued ends it,
/// where so configured.
pub fn check_session(
    ports: &impl Settings,
    caller: &Caller,
    user: &User,
) -> Result<(), ServiceError> {
    Ok(caller.check_session(
        user,
        ports.config().access.revoke_sessions_on_password_change,
    )?)
}

/// The checks on a user caller once their record is read.
fn admit(ports: &impl Settings, caller: &Caller, user: Option<User>) -> Result<User, ServiceError> {
    let user = user.ok_or(ServiceError::UserNotFound)?;
    check_session(ports, caller, &user)?;
    if let Some(required) = &ports.config().access.required_linked_identity {
        if !user.linked_identities.iter().any(|i| i == required) {
            return Err(ServiceError::MissingLinkedIdentity);
        }
    }
    Ok(user)
}

//! What a flow may touch, one trait per port, so that a flow's signature
//! names what it uses: `ports: &(impl UserStore + Clocked)` reads the users
//! and the time, and nothing else. The wiring (`services.rs`) provides every
//! port once per cold start; the store's role traits are each a port of their
//! own.

use std::sync::Arc;

use async_trait::async_trait;

use crate::auth::Authenticator;
use crate::clock::Clock;
use crate::config::{Config, OtpSettings};
use crate::domain::{Email, Locale, OtpKeyRing, PasswordPolicy, Pepper, User, UserId};
use crate::error::ServiceError;
use crate::hashing::PasswordHasher;
use crate::mail::{MailError, Notice};
use crate::rate_limit::RateLimiter;
use crate::store::{DeviceOtps, PinProofs, ResetCodes, SetPasswordTokens, Users};

/// The time.
pub trait Clocked: Send + Sync {
    fn clock(&self) -> &dyn Clock;
}

/// The function's configuration (plain values read at its start).
pub trait Settings: Send + Sync {
    fn config(&self) -> &Config;
}

/// Who a token belongs to.
pub trait TokenCheck: Send + Sync {
    fn authenticator(&self) -> &Authenticator;
}

/// The users, their audit trail and their passwords' records.
pub trait UserStore: Send + Sync {
    fn users(&self) -> &dyn Users;
}

/// Set-password tokens.
pub trait TokenStore: Send + Sync {
    fn tokens(&self) -> &dyn SetPasswordTokens;
}

/// The PIN rule's failure counter.
pub trait PinStore: Send + Sync {
    fn pin_proofs(&self) -> &dyn PinProofs;
}

/// Reset codes and the wrong-secret windows.
pub trait ResetCodeStore: Send + Sync {
    fn reset_codes(&self) -> &dyn ResetCodes;
}

/// Device OTP enrolments and accepted steps.
pub trait OtpStore: Send + Sync {
    fn device_otps(&self) -> &dyn DeviceOtps;
}

/// Hashing and accepting passwords.
pub trait Passwords: Send + Sync {
    fn hasher(&self) -> &Arc<PasswordHasher>;
    fn policy(&self) -> &PasswordPolicy;
}

/// The rate limits (SPEC section 3).
pub trait Limits: Send + Sync {
    fn limiter(&self) -> &RateLimiter;
}

/// Mail to users: the notices after a change, and the messages a flow sends
/// itself (a link, a code) before it stores anything.
#[async_trait]
pub trait Notices: Send + Sync {
    /// Mails `notice` to the user after a change, and counts the change; the
    /// change stands whether or not the notice goes out.
    async fn notify(&self, user: &User, notice: Notice<'_>);

    /// As [`Notices::notify`], for a flow that has the address but not the
    /// whole user.
    async fn notify_address(
        &self,
        user_id: &UserId,
        email: &Email,
        locale: Locale,
        notice: Notice<'_>,
    );

    /// Renders `notice` for `email` and sends it, the failure the caller's.
    async fn send(
        &self,
        notice: Notice<'_>,
        email: &Email,
        locale: Locale,
    ) -> Result<(), MailError>;
}

/// The pepper (PIN digests and reset codes), read at run time.
#[async_trait]
pub trait PepperKeys: Send + Sync {
    async fn pepper(&self) -> Result<Arc<Pepper>, ServiceError>;
}

/// The device OTP's key ring (read at run time) and settings.
#[async_trait]
pub trait OtpKeys: Send + Sync {
    async fn otp_keys(&self) -> Result<Arc<OtpKeyRing>, ServiceError>;
    fn otp(&self) -> Result<&OtpSettings, ServiceError>;
}

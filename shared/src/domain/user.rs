//! The user and what is recorded of each change to them.

use std::fmt;

use super::random::random_hex;
use crate::clock::Millis;

/// 24 lowercase hex characters (96 random bits), SPEC section 1.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    pub const LENGTH: usize = 24;

    /// Accepts hex of either case (the admin family validates `^[0-9a-fA-F]{24}$`)
    /// and stores it lowercase.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == Self::LENGTH && raw.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(raw.to_ascii_lowercase()))
    }

    pub fn generate() -> Self {
        Self(random_hex(Self::LENGTH / 2))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    De,
}

impl Locale {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_lowercase().as_str() {
            "en" => Some(Locale::En),
            "de" => Some(Locale::De),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
        }
    }
}

/// An email address as far as this service needs one: something@domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let (local, domain) = raw.rsplit_once('@')?;
        let valid = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && raw.len() <= 254
            && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
        valid.then(|| Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(local, _)| local)
    }
}

/// A user as stored, without any secret in clear. Its `Debug` leaves out the
/// digests of the user's secrets.
#[derive(Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub locale: Locale,
    /// Argon2id PHC string, absent until a password is set.
    pub password_hash: Option<String>,
    pub change_required: bool,
    /// HMAC-SHA256 of the PIN under the server pepper.
    pub pin_hmac: Option<String>,
    pub linked_identities: Vec<String>,
    /// Tokenized payment-method references: the user's "critical data".
    pub payment_methods: Vec<String>,
    pub sequence: u64,
    pub resource_owner: String,
    pub password_changed_at: Option<Millis>,
    /// Tokens issued (`iat`) before this second are rejected.
    pub sessions_not_before: Option<i64>,
    pub critical_data_deleted_at: Option<Millis>,
    /// SHA-256 of the one live set-password token, if any.
    pub set_password_token_hash: Option<String>,
    /// The authenticator enrolled through P7, if any.
    pub otp_device: Option<OtpDevice>,
}

/// A user's device OTP as stored: the TOTP secret sealed by the OTP key ring
/// (`OtpKeyRing::encrypt`, the user id as associated data), and the last
/// time step a code was accepted for, at or before which no code is accepted
/// again (RFC 6238 section 5.2). Its `Debug` leaves the sealed secret out.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpDevice {
    pub sealed_secret: String,
    pub last_accepted_step: Option<u64>,
}

impl fmt::Debug for OtpDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtpDevice")
            .field("last_accepted_step", &self.last_accepted_step)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("locale", &self.locale)
            .field("has_password", &self.has_password())
            .field("change_required", &self.change_required)
            .field("pin_set", &self.pin_hmac.is_some())
            .field("otp_set", &self.otp_device.is_some())
            .field("payment_methods", &self.payment_methods.len())
            .field("sequence", &self.sequence)
            .field("resource_owner", &self.resource_owner)
            .finish_non_exhaustive()
    }
}

impl User {
    pub fn new(email: Email, locale: Locale, resource_owner: String) -> Self {
        Self {
            id: UserId::generate(),
            email,
            locale,
            password_hash: None,
            change_required: false,
            pin_hmac: None,
            linked_identities: Vec::new(),
            payment_methods: Vec::new(),
            sequence: 0,
            resource_owner,
            password_changed_at: None,
            sessions_not_before: None,
            critical_data_deleted_at: None,
            set_password_token_hash: None,
            otp_device: None,
        }
    }

    pub fn has_password(&self) -> bool {
        self.password_hash.is_some()
    }
}

/// What an audit event records; one per change, in the change's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEventType {
    UserCreated,
    PasswordSet,
    PasswordChanged,
    PasswordReset,
    PinSet,
    /// An operator cleared the PIN failure window (`pwctl user unlock`).
    PinUnlocked,
    CriticalDataDeleted,
    ResetCodeIssued,
    OtpEnrolmentStarted,
    OtpActivated,
    OtpRemoved,
}

impl AuditEventType {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditEventType::UserCreated => "user.created",
            AuditEventType::PasswordSet => "user.password.set",
            AuditEventType::PasswordChanged => "user.password.changed",
            AuditEventType::PasswordReset => "user.password.reset",
            AuditEventType::PinSet => "user.pin.set",
            AuditEventType::PinUnlocked => "user.pin.unlocked",
            AuditEventType::CriticalDataDeleted => "user.critical_data.deleted",
            AuditEventType::ResetCodeIssued => "user.password.code.issued",
            AuditEventType::OtpEnrolmentStarted => "user.otp.enrolment.started",
            AuditEventType::OtpActivated => "user.otp.activated",
            AuditEventType::OtpRemoved => "user.otp.removed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub user_id: UserId,
    pub sequence: u64,
    pub event_type: String,
    pub at: Millis,
    /// Who made the change: a user id, or `system`/`operator`.
    pub actor: String,
}

/// A change as family Z reports it (`details`): the user's sequence after
/// it, its time, and the user's organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeDetails {
    pub sequence: u64,
    pub change_date: Millis,
    pub resource_owner: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_accepts_24_hex_of_either_case_and_stores_lowercase() {
        let id = UserId::parse("0123456789ABCDEFabcdef01").unwrap();
        assert_eq!(id.as_str(), "0123456789abcdefabcdef01");
    }

    #[test]
    fn user_id_rejects_wrong_length_and_non_hex() {
        assert!(UserId::parse("0123456789abcdef0123456").is_none());
        assert!(UserId::parse("0123456789abcdef012345678").is_none());
        assert!(UserId::parse("0123456789abcdef0123456g").is_none());
        assert!(UserId::parse("").is_none());
    }

    #[test]
    fn generated_user_ids_parse_and_differ() {
        let a = UserId::generate();
        let b = UserId::generate();
        assert!(UserId::parse(a.as_str()).is_some());
        assert_ne!(a, b);
    }

    #[test]
    fn email_local_part_is_before_the_last_at() {
        let email = Email::parse("first.last@example.com").unwrap();
        assert_eq!(email.local_part(), "first.last");
        assert!(Email::parse("no-at-sign").is_none());
        assert!(Email::parse("a@nodot").is_none());
    }

    #[test]
    fn a_users_debug_shows_no_digest_and_no_address() {
        let mut user = User::new(
            Email::parse("secret.person@example.com").unwrap(),
            Locale::En,
            "org".into(),
        );
        user.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        user.pin_hmac = Some("deadbeef".into());
        user.set_password_token_hash = Some("cafebabe".into());
        user.otp_device = Some(OtpDevice {
            sealed_secret: "v1:k1:c2VhbGVk".into(),
            last_accepted_step: Some(7),
        });
        let shown = format!("{user:?}");
        for hidden in [
            "argon2id",
            "deadbeef",
            "cafebabe",
            "secret.person",
            "c2VhbGVk",
        ] {
            assert!(!shown.contains(hidden), "{shown}");
        }
        assert!(shown.contains("has_password: true"), "{shown}");
    }
}

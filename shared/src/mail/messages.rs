//! The emails this service sends, and the values each one's templates get.
//! Content is rendered in the service rather than by SES templates: testable
//! without AWS, and the emulator has no templates.

use minijinja::{context, Value};

use crate::domain::Locale;

/// The emails this service sends. None carries a secret except the
/// set-password link and the reset code, whose whole purpose is to carry one
/// to its owner.
#[derive(Clone, Copy)]
pub enum Notice<'a> {
    SetPasswordLink {
        link: &'a str,
        valid_hours: u64,
    },
    /// Z1: the code, and a link carrying it where a template was given.
    ResetCode {
        code: &'a str,
        link: Option<&'a str>,
        valid_minutes: u64,
    },
    PasswordSet,
    PasswordChanged,
    PasswordReset,
    CriticalDataDeleted,
    /// P7: an authenticator enrolment was started (not yet usable).
    OtpEnrolmentStarted,
    /// P7: an authenticator became the account's device OTP.
    OtpActivated,
    /// P7: the account's authenticator was removed.
    OtpRemoved,
}

impl std::fmt::Debug for Notice<'_> {
    // The link and the code are secrets: only the kind of notice is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Notice::SetPasswordLink { .. } => "SetPasswordLink",
            Notice::ResetCode { .. } => "ResetCode",
            Notice::PasswordSet => "PasswordSet",
            Notice::PasswordChanged => "PasswordChanged",
            Notice::PasswordReset => "PasswordReset",
            Notice::CriticalDataDeleted => "CriticalDataDeleted",
            Notice::OtpEnrolmentStarted => "OtpEnrolmentStarted",
            Notice::OtpActivated => "OtpActivated",
            Notice::OtpRemoved => "OtpRemoved",
        })
    }
}

impl Notice<'_> {
    /// Every message with sample values, the reset code both with and without
    /// its link: the start-up check renders each template with these, and
    /// `pwctl mail preview` shows them.
    pub const SAMPLES: &'static [Notice<'static>] = &[
        Notice::SetPasswordLink {
            link: "https://password.example.com/user/password/set?token=SAMPLE-abcdefghijklmnopqrstuvwxyz0123456",
            valid_hours: 24,
        },
        Notice::ResetCode {
            code: "K7Q2XZ",
            link: Some("https://app.example.com/reset?userID=0123456789abcdef01234567&code=K7Q2XZ&orgID=org"),
            valid_minutes: 60,
        },
        Notice::ResetCode {
            code: "K7Q2XZ",
            link: None,
            valid_minutes: 60,
        },
        Notice::PasswordSet,
        Notice::PasswordChanged,
        Notice::PasswordReset,
        Notice::CriticalDataDeleted,
        Notice::OtpEnrolmentStarted,
        Notice::OtpActivated,
        Notice::OtpRemoved,
    ];

    /// The message's name: its templates are `<locale>/<name>.html`,
    /// `<locale>/<name>.txt` and `<locale>/<name>.subject.txt`.
    pub fn name(&self) -> &'static str {
        match self {
            Notice::SetPasswordLink { .. } => "set-password-link",
            Notice::ResetCode { .. } => "reset-code",
            Notice::PasswordSet => "password-set",
            Notice::PasswordChanged => "password-changed",
            Notice::PasswordReset => "password-reset",
            Notice::CriticalDataDeleted => "critical-data-deleted",
            Notice::OtpEnrolmentStarted => "otp-enrolment-started",
            Notice::OtpActivated => "otp-activated",
            Notice::OtpRemoved => "otp-removed",
        }
    }

    /// The first sample of the message called `name`.
    pub fn sample(name: &str) -> Option<Notice<'static>> {
        Self::SAMPLES.iter().find(|n| n.name() == name).copied()
    }

    /// What the message's templates may use: `locale` in all of them, and
    /// the message's own values. A template naming anything else fails the
    /// start-up check (undefined values are errors).
    pub(super) fn variables(&self, locale: Locale) -> Value {
        let locale = locale.as_str();
        match *self {
            Notice::SetPasswordLink { link, valid_hours } => {
                context! { locale, link, valid_hours }
            }
            Notice::ResetCode {
                code,
                link,
                valid_minutes,
            } => context! { locale, code, link, valid_minutes },
            _ => context! { locale },
        }
    }
}

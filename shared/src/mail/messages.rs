//! The emails this service sends, in each locale. Content is rendered here
//! rather than in SES templates: one place for the wording, testable without
//! AWS, and the emulator has no templates.

use super::OutgoingMail;
use crate::domain::{Email, Locale, Secret};

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

pub fn render(notice: Notice<'_>, to: &Email, locale: Locale) -> OutgoingMail {
    let (subject, text) = match (notice, locale) {
        (Notice::SetPasswordLink { link, valid_hours }, Locale::En) => (
            "Set your password".to_string(),
            format!(
                "Hello,\n\nsomeone (hopefully you) asked to set a password for your account. \
                 Open this link to choose one:\n\n{link}\n\nThe link works once, for {valid_hours} hours. \
                 If you did not ask for it, ignore this email: nothing changes.\n"
            ),
        ),
        (Notice::SetPasswordLink { link, valid_hours }, Locale::De) => (
            "Passwort festlegen".to_string(),
            format!(
                "Hallo,\n\njemand (hoffentlich Sie) möchte ein Passwort für Ihr Konto festlegen. \
                 Öffnen Sie diesen Link, um eines zu wählen:\n\n{link}\n\nDer Link gilt einmal, \
                 {valid_hours} Stunden lang. Falls Sie das nicht angefordert haben, ignorieren Sie \
                 diese E-Mail: Es ändert sich nichts.\n"
            ),
        ),
        (Notice::ResetCode { code, link, valid_minutes }, Locale::En) => (
            "Your password reset code".to_string(),
            format!(
                "Hello,\n\nyour code to reset your password is:\n\n    {code}\n\n{}It works once, for \
                 {valid_minutes} minutes. If you did not ask for it, ignore this email: nothing changes.\n",
                link.map(|l| format!("Or open this link:\n\n{l}\n\n")).unwrap_or_default()
            ),
        ),
        (Notice::ResetCode { code, link, valid_minutes }, Locale::De) => (
            "Ihr Code zum Zurücksetzen des Passworts".to_string(),
            format!(
                "Hallo,\n\nIhr Code zum Zurücksetzen Ihres Passworts lautet:\n\n    {code}\n\n{}Er gilt \
                 einmal, {valid_minutes} Minuten lang. Falls Sie ihn nicht angefordert haben, ignorieren \
                 Sie diese E-Mail: Es ändert sich nichts.\n",
                link.map(|l| format!("Oder öffnen Sie diesen Link:\n\n{l}\n\n")).unwrap_or_default()
            ),
        ),
        (Notice::PasswordSet, Locale::En) => (
            "Your password was set".to_string(),
            "Hello,\n\na password has just been set for your account. If this was not you, \
             contact support right away.\n"
                .to_string(),
        ),
        (Notice::PasswordSet, Locale::De) => (
            "Ihr Passwort wurde festgelegt".to_string(),
            "Hallo,\n\nfür Ihr Konto wurde soeben ein Passwort festgelegt. Falls Sie das nicht \
             waren, wenden Sie sich bitte sofort an den Support.\n"
                .to_string(),
        ),
        (Notice::PasswordChanged, Locale::En) => (
            "Your password was changed".to_string(),
            "Hello,\n\nthe password of your account has just been changed, and other \
             sessions were signed out. If this was not you, reset your password and contact \
             support right away.\n"
                .to_string(),
        ),
        (Notice::PasswordChanged, Locale::De) => (
            "Ihr Passwort wurde geändert".to_string(),
            "Hallo,\n\ndas Passwort Ihres Kontos wurde soeben geändert, andere Sitzungen \
             wurden abgemeldet. Falls Sie das nicht waren, setzen Sie Ihr Passwort zurück und \
             wenden Sie sich bitte sofort an den Support.\n"
                .to_string(),
        ),
        (Notice::PasswordReset, Locale::En) => (
            "Your password was reset".to_string(),
            "Hello,\n\nthe password of your account has just been reset, and other sessions \
             were signed out. If you did not expect this, contact support right away.\n"
                .to_string(),
        ),
        (Notice::PasswordReset, Locale::De) => (
            "Ihr Passwort wurde zurückgesetzt".to_string(),
            "Hallo,\n\ndas Passwort Ihres Kontos wurde soeben zurückgesetzt, andere Sitzungen \
             wurden abgemeldet. Falls Sie das nicht erwartet haben, wenden Sie sich bitte sofort \
             an den Support.\n"
                .to_string(),
        ),
        (Notice::CriticalDataDeleted, Locale::En) => (
            "Your saved payment methods were removed".to_string(),
            "Hello,\n\nduring a password reset the second factor was not proven, so the \
             payment methods saved in your account have been removed to protect them. You can \
             add them again after signing in. If this was not you, contact support right away.\n"
                .to_string(),
        ),
        (Notice::CriticalDataDeleted, Locale::De) => (
            "Ihre gespeicherten Zahlungsmittel wurden entfernt".to_string(),
            "Hallo,\n\nbei einer Passwort-Zurücksetzung wurde der zweite Faktor nicht \
             nachgewiesen. Zum Schutz wurden die in Ihrem Konto gespeicherten Zahlungsmittel \
             entfernt; Sie können sie nach der Anmeldung erneut hinzufügen. Falls Sie das nicht \
             waren, wenden Sie sich bitte sofort an den Support.\n"
                .to_string(),
        ),
        (Notice::OtpEnrolmentStarted, Locale::En) => (
            "An authenticator app is being set up".to_string(),
            "Hello,\n\nsomeone (hopefully you) has just started setting up an authenticator app \
             for your account. It works only once a code from the app confirms it, within 10 \
             minutes. If this was not you, change your password and contact support right away.\n"
                .to_string(),
        ),
        (Notice::OtpEnrolmentStarted, Locale::De) => (
            "Eine Authenticator-App wird eingerichtet".to_string(),
            "Hallo,\n\njemand (hoffentlich Sie) hat soeben begonnen, eine Authenticator-App für \
             Ihr Konto einzurichten. Sie gilt erst, wenn ein Code aus der App sie innerhalb von 10 \
             Minuten bestätigt. Falls Sie das nicht waren, ändern Sie Ihr Passwort und wenden Sie \
             sich bitte sofort an den Support.\n"
                .to_string(),
        ),
        (Notice::OtpActivated, Locale::En) => (
            "Your authenticator app was set up".to_string(),
            "Hello,\n\nan authenticator app has just been confirmed for your account; it replaces \
             any app set up before. Its codes now protect your saved payment methods when your \
             password is reset. If this was not you, contact support right away.\n"
                .to_string(),
        ),
        (Notice::OtpActivated, Locale::De) => (
            "Ihre Authenticator-App wurde eingerichtet".to_string(),
            "Hallo,\n\nfür Ihr Konto wurde soeben eine Authenticator-App bestätigt; sie ersetzt \
             jede zuvor eingerichtete. Ihre Codes schützen nun Ihre gespeicherten Zahlungsmittel, \
             wenn Ihr Passwort zurückgesetzt wird. Falls Sie das nicht waren, wenden Sie sich \
             bitte sofort an den Support.\n"
                .to_string(),
        ),
        (Notice::OtpRemoved, Locale::En) => (
            "Your authenticator app was removed".to_string(),
            "Hello,\n\nthe authenticator app of your account has just been removed; its codes no \
             longer work. If this was not you, change your password and contact support right \
             away.\n"
                .to_string(),
        ),
        (Notice::OtpRemoved, Locale::De) => (
            "Ihre Authenticator-App wurde entfernt".to_string(),
            "Hallo,\n\ndie Authenticator-App Ihres Kontos wurde soeben entfernt; ihre Codes gelten \
             nicht mehr. Falls Sie das nicht waren, ändern Sie Ihr Passwort und wenden Sie sich \
             bitte sofort an den Support.\n"
                .to_string(),
        ),
    };
    OutgoingMail {
        to: to.clone(),
        subject,
        text: Secret::new(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to() -> Email {
        Email::parse("a@example.com").unwrap()
    }

    #[test]
    fn the_link_email_carries_the_link_in_both_locales() {
        for locale in [Locale::En, Locale::De] {
            let mail = render(
                Notice::SetPasswordLink {
                    link: "https://x.example/set?token=abc",
                    valid_hours: 24,
                },
                &to(),
                locale,
            );
            assert!(mail
                .text
                .expose()
                .contains("https://x.example/set?token=abc"));
            assert!(mail.text.expose().contains("24"));
        }
    }

    #[test]
    fn neither_a_notice_nor_a_mail_shows_its_secret_in_debug() {
        let notice = Notice::ResetCode {
            code: "K7Q2XZ",
            link: Some("https://x.example/r?code=K7Q2XZ"),
            valid_minutes: 60,
        };
        let mail = render(notice, &to(), Locale::En);
        for shown in [format!("{notice:?}"), format!("{mail:?}")] {
            assert!(!shown.contains("K7Q2XZ"), "{shown}");
        }
    }

    #[test]
    fn every_otp_notice_has_its_own_subject_in_each_locale() {
        let notices = [
            Notice::OtpEnrolmentStarted,
            Notice::OtpActivated,
            Notice::OtpRemoved,
        ];
        for locale in [Locale::En, Locale::De] {
            let subjects: std::collections::HashSet<String> = notices
                .iter()
                .map(|n| render(*n, &to(), locale).subject)
                .collect();
            assert_eq!(subjects.len(), notices.len(), "{subjects:?}");
        }
        let german = render(Notice::OtpRemoved, &to(), Locale::De);
        assert!(german.text.expose().starts_with("Hallo"));
    }

    #[test]
    fn german_users_get_german_mail() {
        let mail = render(Notice::PasswordSet, &to(), Locale::De);
        assert_eq!(mail.subject, "Ihr Passwort wurde festgelegt");
    }
}

//! The one password policy (SPEC section 3), used by every endpoint.
//!
//! Accepting a candidate yields an [`AcceptedPassword`]: the normalised form
//! that alone can be hashed, so no flow hashes an unchecked password and none
//! checks one twice.

use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

use super::secret::Secret;
use super::user::Email;

/// SPEC section 3: the maximum password length, in Unicode scalar values.
pub const PASSWORD_MAX_LENGTH: usize = 200;

/// The common/breached list, searched in place (see docs/testing.md for its source).
static COMMON_PASSWORDS: LazyLock<fst::Set<&'static [u8]>> = LazyLock::new(|| {
    fst::Set::new(include_bytes!("../../data/common-passwords.fst").as_slice())
        .expect("the shipped common-password list is a valid FST set")
});

/// The email's local part counts as user data only from this length on.
const MIN_LOCAL_PART_CHARS: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    #[error("The password must have at least {min} characters.")]
    TooShort { min: usize },
    #[error("The password must have at most {max} characters.")]
    TooLong { max: usize },
    #[error("The password is too common: it appears in lists of breached passwords.")]
    TooCommon,
    #[error("The password must not contain the email address's name.")]
    ContainsUserData,
    #[error("The new password must differ from the current one.")]
    Unchanged,
}

impl PolicyViolation {
    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyViolation::TooShort { .. } => "password-too-short",
            PolicyViolation::TooLong { .. } => "password-too-long",
            PolicyViolation::TooCommon => "password-too-common",
            PolicyViolation::ContainsUserData => "password-contains-user-data",
            PolicyViolation::Unchanged => "password-unchanged",
        }
    }
}

/// The form list entries and candidates are compared in: NFKC, lowercase.
pub fn comparable_form(password: &str) -> String {
    password.nfkc().collect::<String>().to_lowercase()
}

/// A password that passed every rule that needs no stored hash, in the
/// normalised form that is hashed. Only [`PasswordPolicy::accept`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedPassword(Secret);

impl AcceptedPassword {
    pub fn secret(&self) -> &Secret {
        &self.0
    }
}

#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    min_length: usize,
}

impl PasswordPolicy {
    pub fn new(min_length: usize) -> Self {
        Self { min_length }
    }

    pub fn min_length(&self) -> usize {
        self.min_length
    }

    /// NFKC-normalises the candidate and applies every rule that needs no
    /// stored hash ("must differ from the current one" needs it, and is the
    /// flows' to check). The result is what gets hashed, and what a later
    /// verification normalises its input to (see [`normalise`]).
    pub fn accept(
        &self,
        candidate: &Secret,
        email: &Email,
    ) -> Result<AcceptedPassword, PolicyViolation> {
        let normalised = normalise(candidate);
        let length = normalised.expose().chars().count();
        if length < self.min_length {
            return Err(PolicyViolation::TooShort {
                min: self.min_length,
            });
        }
        if length > PASSWORD_MAX_LENGTH {
            return Err(PolicyViolation::TooLong {
                max: PASSWORD_MAX_LENGTH,
            });
        }
        let local_part = caseless_form(email.local_part());
        if local_part.chars().count() >= MIN_LOCAL_PART_CHARS
            && caseless_form(normalised.expose()).contains(&local_part)
        {
            return Err(PolicyViolation::ContainsUserData);
        }
        let lowered = normalised.expose().to_lowercase();
        if COMMON_PASSWORDS.contains(&lowered) {
            return Err(PolicyViolation::TooCommon);
        }
        Ok(AcceptedPassword(normalised))
    }
}

/// The form in which a password and the email's local part are compared:
/// NFKC, full case folding, NFKC again (Unicode's NFKC_Casefold), so that
/// "STRASSE" is found in "straße" and full-width letters match ASCII ones.
fn caseless_form(text: &str) -> String {
    let folded = caseless::default_case_fold_str(&text.nfkc().collect::<String>());
    folded.nfkc().collect()
}

/// NFKC, so that the same password typed on different keyboards (full-width
/// digits, composed or decomposed accents) hashes and verifies the same.
pub fn normalise(password: &Secret) -> Secret {
    Secret::new(password.expose().nfkc().collect::<String>())
}

pub fn common_password_count() -> usize {
    COMMON_PASSWORDS.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy::new(8)
    }

    fn email() -> Email {
        Email::parse("maximilian@example.com").unwrap()
    }

    fn check(candidate: &str) -> Result<AcceptedPassword, PolicyViolation> {
        policy().accept(&Secret::new(candidate), &email())
    }

    #[test]
    fn the_shipped_list_has_at_least_100_000_entries() {
        assert!(
            common_password_count() >= 100_000,
            "{}",
            common_password_count()
        );
    }

    #[test]
    fn length_counts_unicode_scalar_values() {
        assert_eq!(check("ümlaut7"), Err(PolicyViolation::TooShort { min: 8 }));
        assert!(check("ümlaut7ß").is_ok());
    }

    #[test]
    fn length_is_counted_after_nfkc() {
        // U+FB01 (the "fi" ligature) is one scalar value that NFKC turns into two.
        let accepted = check("\u{FB01}xqzrwv7").unwrap();
        assert_eq!(accepted.secret().expose(), "fixqzrwv7");
    }

    #[test]
    fn two_hundred_characters_pass_and_two_hundred_one_do_not() {
        assert!(check(
            &"kq7"
                .repeat(66)
                .chars()
                .chain("zx".chars())
                .collect::<String>()
        )
        .is_ok());
        assert_eq!(
            check(&"k".repeat(201)),
            Err(PolicyViolation::TooLong { max: 200 })
        );
    }

    #[test]
    fn common_passwords_are_rejected_in_any_case() {
        assert_eq!(check("password1"), Err(PolicyViolation::TooCommon));
        assert_eq!(check("PassWord1"), Err(PolicyViolation::TooCommon));
        assert_eq!(check("iloveyou"), Err(PolicyViolation::TooCommon));
    }

    #[test]
    fn passwords_containing_the_email_name_are_rejected() {
        assert_eq!(
            check("xxMaximilian2024"),
            Err(PolicyViolation::ContainsUserData)
        );
    }

    #[test]
    fn user_data_is_compared_after_nfkc_and_case_folding() {
        let strasse = Email::parse("STRASSE@example.com").unwrap();
        assert_eq!(
            policy().accept(&Secret::new("meine-straße-12"), &strasse),
            Err(PolicyViolation::ContainsUserData)
        );
        let full_width = Email::parse("ｍａｘｉｍｉｌｉａｎ@example.com").unwrap();
        assert_eq!(
            policy().accept(&Secret::new("xxMaximilian2024"), &full_width),
            Err(PolicyViolation::ContainsUserData)
        );
    }

    #[test]
    fn short_local_parts_are_not_user_data() {
        let short = Email::parse("bob@example.com").unwrap();
        assert!(policy()
            .accept(&Secret::new("zq8bobwinterfjord"), &short)
            .is_ok());
    }

    #[test]
    fn no_composition_rules() {
        assert!(check("correct horse battery staple").is_ok());
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(
            PolicyViolation::TooShort { min: 8 }.code(),
            "password-too-short"
        );
        assert_eq!(
            PolicyViolation::TooLong { max: 200 }.code(),
            "password-too-long"
        );
        assert_eq!(PolicyViolation::TooCommon.code(), "password-too-common");
        assert_eq!(
            PolicyViolation::ContainsUserData.code(),
            "password-contains-user-data"
        );
        assert_eq!(PolicyViolation::Unchanged.code(), "password-unchanged");
    }
}

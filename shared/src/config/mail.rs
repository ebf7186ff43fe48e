//! The mail section: the sender, the set-password link's page and life, and
//! the templates' directory; and the rule for the links the emails carry.

use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigError, Vars};

#[derive(Debug, Clone)]
pub struct MailSettings {
    pub from: String,
    /// Where the set-password email links to; `None`: the stage's own page.
    pub set_password_url: Option<String>,
    pub set_password_ttl: Duration,
    /// A directory of templates that replace the built-in ones of the same
    /// name (`en/password-set.html`, …); `None`: the built-in ones only.
    pub templates_dir: Option<PathBuf>,
}

impl MailSettings {
    pub(super) fn read(vars: &Vars) -> Result<Self, ConfigError> {
        let set_password_url = vars.optional("SET_PASSWORD_URL");
        if let Some(url) = &set_password_url {
            mailed_link("SET_PASSWORD_URL", url)?;
        }
        Ok(Self {
            from: vars.required("MAIL_FROM")?,
            set_password_url,
            set_password_ttl: Duration::from_secs(vars.parsed("SET_PASSWORD_TTL", 24 * 3600)?),
            templates_dir: vars.optional("MAIL_TEMPLATES_DIR").map(PathBuf::from),
        })
    }
}

impl MailSettings {
    /// The templates' directory alone, for `pwctl mail preview`, which needs
    /// no other setting.
    pub fn templates_dir_from_env() -> Option<PathBuf> {
        Vars::environment()
            .optional("MAIL_TEMPLATES_DIR")
            .map(PathBuf::from)
    }
}

/// A link the emails carry: https, as a deployed stage's are; plain http
/// only to this machine, for the local stack (`domain::link`).
pub(super) fn mailed_link(name: &'static str, url: &str) -> Result<(), ConfigError> {
    if crate::domain::link::is_secure_text(url) {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            name,
            reason: "must be an https URL (plain http only to this machine)".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::config::Config;

    #[test]
    fn mailed_links_are_https_or_plain_http_to_this_machine_only() {
        for name in ["SET_PASSWORD_URL", "RESET_CODE_URL_TEMPLATE"] {
            let mut vars = crate::config::tests::complete();
            for good in [
                "https://example.com/set?user={{.UserID}}",
                "http://127.0.0.1:9000/user/password/set",
                "http://localhost:9000/reset?code={{.Code}}",
            ] {
                vars.insert(name.into(), good.into());
                assert!(Config::from_map(&vars).is_ok(), "{name}={good}");
            }
            for bad in [
                "http://example.com/set",
                "ftp://example.com/",
                "example.com/set",
            ] {
                vars.insert(name.into(), bad.into());
                let err = Config::from_map(&vars).unwrap_err();
                assert!(err.to_string().contains(name), "{name}={bad}: {err}");
            }
        }
    }

    #[test]
    fn a_templates_directory_is_read_from_mail_templates_dir() {
        let mut vars = crate::config::tests::complete();
        assert_eq!(Config::from_map(&vars).unwrap().mail.templates_dir, None);
        vars.insert("MAIL_TEMPLATES_DIR".into(), "/opt/mail-templates".into());
        assert_eq!(
            Config::from_map(&vars).unwrap().mail.templates_dir,
            Some(PathBuf::from("/opt/mail-templates"))
        );
    }
}

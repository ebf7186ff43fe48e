//! What the flows work with: the ports (store, mailer, clock) and the
//! components built once per cold start from the configuration.

use std::sync::{Arc, OnceLock};

use crate::auth::Authenticator;
use crate::clock::Clock;
use crate::config::{Config, ConfigError, OtpSettings};
use crate::domain::{Email, Locale, OtpKeyRing, PasswordPolicy, Pepper, User, UserId};
use crate::error::ServiceError;
use crate::hashing::PasswordHasher;
use crate::mail::{MailError, Mailer, Notice, OutgoingMail, Templates};
use crate::metrics::{self, Outcome};
use crate::rate_limit::RateLimiter;
use crate::secrets::{CachedSecret, SecretSource};
use crate::store::Store;

/// A secret a function cannot work without: checked configured at its start,
/// and read ahead of its first request (`lambda::serve_needing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The pepper's key ring: Z1, Z2, P4, P5, P6.
    Pepper,
    /// The OTP secrets' key ring (and the OTP settings): P5, P7.
    OtpKeyRing,
}

pub struct Services {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    /// The emails' templates. Overrides (`MAIL_TEMPLATES_DIR`) are loaded
    /// and checked at cold start, so a template that does not render stops
    /// the function; the built-in ones, which the tests render, are compiled
    /// on the first mail, so a cold start that sends none does not pay for
    /// them (0.4 ms).
    mail_templates: OnceLock<Templates>,
    pub clock: Arc<dyn Clock>,
    pub hasher: Arc<PasswordHasher>,
    pub authenticator: Authenticator,
    pub policy: PasswordPolicy,
    pub limiter: RateLimiter,
    secrets: Arc<dyn SecretSource>,
    pepper: CachedSecret<Pepper>,
    otp_keys: CachedSecret<OtpKeyRing>,
}

impl Services {
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        secrets: Arc<dyn SecretSource>,
    ) -> Result<Self, ConfigError> {
        // A template that does not render stops the function here, named,
        // as a misconfigured variable does.
        let mail_templates = OnceLock::new();
        if let Some(dir) = config.mail.templates_dir.as_deref() {
            let overridden = Templates::load(Some(dir)).map_err(|e| ConfigError::Invalid {
                name: "MAIL_TEMPLATES_DIR",
                reason: e.to_string(),
            })?;
            let _ = mail_templates.set(overridden);
        }
        Ok(Self {
            mail_templates,
            authenticator: Authenticator::new(&config.jwt)?,
            hasher: PasswordHasher::new(config.passwords.argon2.clone()),
            policy: PasswordPolicy::new(config.passwords.min_length),
            pepper: CachedSecret::new(
                "PEPPER_SECRET_ID",
                config.secrets.pepper_id.clone(),
                |text| Pepper::parse(text).map_err(|e| e.to_string()),
                config.secrets.keep_for,
            ),
            otp_keys: CachedSecret::new(
                "OTP_ENCRYPTION_KEY_SECRET_ID",
                config
                    .otp
                    .as_ref()
                    .map(|otp| otp.key_ring_secret_id.clone()),
                |text| OtpKeyRing::parse(text).map_err(|e| e.to_string()),
                config.secrets.keep_for,
            ),
            secrets,
            limiter: RateLimiter::new(store.clone(), clock.clone(), config.limits.clone()),
            config,
            store,
            mailer,
            clock,
        })
    }

    /// The device OTP's settings. P5 and P7 do not start without them, so
    /// their absence here is the service's fault.
    pub fn otp(&self) -> Result<&OtpSettings, ServiceError> {
        self.config
            .require_otp()
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// Where the secrets are read from, for wiring another set of services
    /// on the same source.
    pub fn secrets(&self) -> Arc<dyn SecretSource> {
        Arc::clone(&self.secrets)
    }

    /// The pepper, read where none is held or the one held is due.
    pub async fn pepper(&self) -> Result<Arc<Pepper>, ServiceError> {
        Ok(self.pepper.get(self.secrets.as_ref()).await?)
    }

    /// The OTP secrets' key ring, read as the pepper is.
    pub async fn otp_keys(&self) -> Result<Arc<OtpKeyRing>, ServiceError> {
        Ok(self.otp_keys.get(self.secrets.as_ref()).await?)
    }

    /// Whether the configuration names every secret in `needs`; the error
    /// names the variable missing.
    pub fn require(&self, needs: &[Need]) -> Result<(), ConfigError> {
        for need in needs {
            match need {
                Need::Pepper if !self.pepper.is_configured() => {
                    return Err(ConfigError::Missing("PEPPER_SECRET_ID"));
                }
                Need::OtpKeyRing => {
                    self.config.require_otp()?;
                }
                Need::Pepper => {}
            }
        }
        Ok(())
    }

    /// Reads the secrets in `needs`, so that the first request finds them
    /// held; a failure is logged, and that request reads again.
    pub async fn read_ahead(&self, needs: &[Need]) {
        let pepper = async {
            if needs.contains(&Need::Pepper) {
                self.pepper().await.map(drop)
            } else {
                Ok(())
            }
        };
        let otp_keys = async {
            if needs.contains(&Need::OtpKeyRing) {
                self.otp_keys().await.map(drop)
            } else {
                Ok(())
            }
        };
        let (pepper, otp_keys) = tokio::join!(pepper, otp_keys);
        for error in [pepper.err(), otp_keys.err()].into_iter().flatten() {
            tracing::warn!(%error, "a secret was not read ahead of the first request");
        }
    }

    /// Mails `notice` to the user after a change (SPEC section 3), and counts
    /// the change in the invocation's metrics. The change stands whether or
    /// not the notice goes out, so a failure is logged.
    pub async fn notify(&self, user: &User, notice: Notice<'_>) {
        self.notify_address(&user.id, &user.email, user.locale, notice)
            .await;
    }

    /// As [`Services::notify`], for a flow that has the address but not the
    /// whole user.
    pub async fn notify_address(
        &self,
        user_id: &UserId,
        email: &Email,
        locale: Locale,
        notice: Notice<'_>,
    ) {
        // Each such change sends its notice: the one place that sees them all.
        let changed = match notice {
            Notice::PasswordSet | Notice::PasswordChanged | Notice::PasswordReset => {
                Some(Outcome::PasswordSet)
            }
            Notice::CriticalDataDeleted => Some(Outcome::CriticalDataDeleted),
            Notice::SetPasswordLink { .. }
            | Notice::ResetCode { .. }
            | Notice::OtpEnrolmentStarted
            | Notice::OtpActivated
            | Notice::OtpRemoved => None,
        };
        if let Some(outcome) = changed {
            metrics::record(outcome);
        }
        let sent = match self.render_mail(notice, email, locale) {
            Ok(mail) => self.mailer.send(&mail).await,
            Err(error) => Err(error),
        };
        if let Err(error) = sent {
            tracing::error!(user_id = %user_id, %error, "notice not sent");
        }
    }

    /// The email of `notice` for `email`, in `locale`, from the templates.
    pub fn render_mail(
        &self,
        notice: Notice<'_>,
        email: &Email,
        locale: Locale,
    ) -> Result<OutgoingMail, MailError> {
        let templates = match self.mail_templates.get() {
            Some(templates) => templates,
            None => {
                let built_in = Templates::load(None).map_err(|e| MailError(e.to_string()))?;
                // Another request may have set them meanwhile: either will do.
                let _ = self.mail_templates.set(built_in);
                self.mail_templates
                    .get()
                    .ok_or_else(|| MailError("the mail templates".into()))?
            }
        };
        templates.render(notice, email, locale)
    }
}

//! What the flows work with: the ports (store, mailer, clock) and the
//! components built once per cold start from the configuration.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;

use crate::auth::Authenticator;
use crate::clock::Clock;
use crate::config::{Config, ConfigError, OtpSettings};
use crate::domain::{Email, Locale, OtpKeyRing, PasswordPolicy, Pepper, User, UserId};
use crate::error::ServiceError;
use crate::flows::ports::{
    Clocked, Limits, Notices, OtpKeys, OtpStore, Passwords, PepperKeys, PinStore, ResetCodeStore,
    Settings, TokenCheck, TokenStore, UserStore,
};
use crate::hashing::PasswordHasher;
use crate::mail::{MailError, Mailer, Notice, OutgoingMail, Templates};
use crate::metrics::{self, Outcome};
use crate::rate_limit::RateLimiter;
use crate::secrets::{CachedSecret, SecretSource};
use crate::store::{DeviceOtps, PinProofs, ResetCodes, SetPasswordTokens, Store, Users};

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

    /// Where the secrets are read from, for wiring another set of services
    /// on the same source.
    pub fn secrets(&self) -> Arc<dyn SecretSource> {
        Arc::clone(&self.secrets)
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
                PepperKeys::pepper(self).await.map(drop)
            } else {
                Ok(())
            }
        };
        let otp_keys = async {
            if needs.contains(&Need::OtpKeyRing) {
                OtpKeys::otp_keys(self).await.map(drop)
            } else {
                Ok(())
            }
        };
        let (pepper, otp_keys) = tokio::join!(pepper, otp_keys);
        for error in [pepper.err(), otp_keys.err()].into_iter().flatten() {
            tracing::warn!(%error, "a secret was not read ahead of the first request");
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

// The ports the flows are given (`flows::ports`), all from this one wiring.

impl Clocked for Services {
    fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
}

impl Settings for Services {
    fn config(&self) -> &Config {
        &self.config
    }
}

impl TokenCheck for Services {
    fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }
}

impl UserStore for Services {
    fn users(&self) -> &dyn Users {
        self.store.as_ref()
    }
}

impl TokenStore for Services {
    fn tokens(&self) -> &dyn SetPasswordTokens {
        self.store.as_ref()
    }
}

impl PinStore for Services {
    fn pin_proofs(&self) -> &dyn PinProofs {
        self.store.as_ref()
    }
}

impl ResetCodeStore for Services {
    fn reset_codes(&self) -> &dyn ResetCodes {
        self.store.as_ref()
    }
}

impl OtpStore for Services {
    fn device_otps(&self) -> &dyn DeviceOtps {
        self.store.as_ref()
    }
}

impl Passwords for Services {
    fn hasher(&self) -> &Arc<PasswordHasher> {
        &self.hasher
    }

    fn policy(&self) -> &PasswordPolicy {
        &self.policy
    }
}

impl Limits for Services {
    fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }
}

#[async_trait]
impl PepperKeys for Services {
    async fn pepper(&self) -> Result<Arc<Pepper>, ServiceError> {
        Ok(self.pepper.get(self.secrets.as_ref()).await?)
    }
}

#[async_trait]
impl OtpKeys for Services {
    async fn otp_keys(&self) -> Result<Arc<OtpKeyRing>, ServiceError> {
        Ok(self.otp_keys.get(self.secrets.as_ref()).await?)
    }

    /// The device OTP's settings. P5 and P7 do not start without them, so
    /// their absence here is the service's fault.
    fn otp(&self) -> Result<&OtpSettings, ServiceError> {
        self.config
            .require_otp()
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }
}

#[async_trait]
impl Notices for Services {
    async fn notify(&self, user: &User, notice: Notice<'_>) {
        self.notify_address(&user.id, &user.email, user.locale, notice)
            .await;
    }

    async fn notify_address(
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
        if let Err(error) = self.send(notice, email, locale).await {
            tracing::error!(user_id = %user_id, %error, "notice not sent");
        }
    }

    async fn send(
        &self,
        notice: Notice<'_>,
        email: &Email,
        locale: Locale,
    ) -> Result<(), MailError> {
        let mail = self.render_mail(notice, email, locale)?;
        self.mailer.send(&mail).await
    }
}

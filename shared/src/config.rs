//! Configuration, read once at cold start from the environment, one section
//! per component: each component is built from its own part, and a function
//! reads only the sections it uses (the page, P3, reads only `passwords`).
//!
//! Every variable is documented in the README's configuration table. A missing
//! or malformed variable is an error that names it, so a misconfigured stage
//! fails at start-up instead of on some later request. Key material is held
//! as [`SecretBytes`], so `Debug` can be derived everywhere.

use std::collections::HashMap;
use std::time::Duration;

use argon2::Params;

use crate::domain::PASSWORD_MAX_LENGTH;

mod jwt;
mod mail;
mod otp;
mod vars;

pub use jwt::JwtSettings;
pub use mail::MailSettings;
pub use otp::OtpSettings;
use vars::Vars;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration variable {0} is required but not set")]
    Missing(&'static str),
    #[error("configuration variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub tables: Tables,
    pub mail: MailSettings,
    pub passwords: PasswordSettings,
    /// Where the secrets are read from (their ids), and how long a value is kept.
    pub secrets: SecretSettings,
    pub jwt: JwtSettings,
    pub access: AccessSettings,
    pub limits: RateLimits,
    pub reset_codes: ResetCodeSettings,
    pub deprecation: DeprecationSettings,
    pub rpc: RpcSettings,
    pub tls_trust: TlsTrust,
    /// The device OTP's settings, where `OTP_ENCRYPTION_KEY_SECRET_ID` is set:
    /// P5 and P7 do not start without them ([`Config::require_otp`]); the
    /// other functions are never given the key ring's id.
    pub otp: Option<OtpSettings>,
}

/// The secrets a function reads at run time (`secrets.rs`), by the ids
/// its configuration gives: only the functions that use one are given its id.
#[derive(Debug, Clone)]
pub struct SecretSettings {
    /// The pepper's key ring (`PEPPER_SECRET_ID`): Z1, Z2, P4, P5, P6.
    pub pepper_id: Option<String>,
    /// How long a value read is kept before it is read again
    /// (`SECRETS_REFRESH_SECONDS`): the longest a rotation takes to reach a
    /// warm function.
    pub keep_for: Duration,
}

#[derive(Debug, Clone)]
pub struct Tables {
    pub users: String,
    pub tokens: String,
    pub counters: String,
    pub audit: String,
}

#[derive(Debug, Clone)]
pub struct PasswordSettings {
    pub min_length: usize,
    pub argon2: Params,
}

/// Who may do what beyond a valid token.
#[derive(Debug, Clone)]
pub struct AccessSettings {
    pub required_linked_identity: Option<String>,
    /// A password change or reset ends sessions whose token predates it.
    pub revoke_sessions_on_password_change: bool,
    /// An admin reset (O1) makes the user choose a new password at next sign-in.
    pub admin_reset_sets_change_required: bool,
    /// A scope the password-reset callback (P5) requires, where configured.
    pub callback_required_scope: Option<String>,
}

/// SPEC section 3's limits, all configurable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub emails_per_hour: u32,
    pub wrong_secrets_per_hour: u32,
    pub admin_resets_per_minute: u32,
    /// Not in the SPEC: invalid set-password links per client address.
    pub invalid_links_per_hour: u32,
}

#[derive(Debug, Clone)]
pub struct ResetCodeSettings {
    /// Characters in a Z1 reset code (1 to 20).
    pub length: usize,
    /// The link a Z1 email carries when the request names no `urlTemplate`.
    pub url_template: Option<String>,
    /// The hosts a request's `urlTemplate` may link to (lowercase, no port);
    /// none when unset, so a request can only use the configured template.
    pub url_hosts: Vec<String>,
}

/// When the PIN-gated reset (P4) was deprecated and when it goes away (Unix
/// seconds), for its `Deprecation` and `Sunset` headers.
#[derive(Debug, Clone)]
pub struct DeprecationSettings {
    pub p4_deprecated_at: i64,
    pub p4_sunset_at: i64,
}

/// Family Z's RPC routes: the browser origins (`https://app.example`) that
/// may call them from a page (CORS); none by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpcSettings {
    pub allowed_origins: Vec<String>,
}

impl RpcSettings {
    fn read(vars: &Vars) -> Result<Self, ConfigError> {
        let raw = vars.optional("RPC_ALLOWED_ORIGINS").unwrap_or_default();
        let origins = raw.split([',', ' ']).filter(|origin| !origin.is_empty());
        // scheme://host[:port], as a browser sends it in `Origin`.
        let origin = |origin: &str| match origin.split_once("://") {
            Some(("http" | "https", host)) if !host.is_empty() && !host.contains(['/', '*']) => {
                Ok(origin.to_ascii_lowercase())
            }
            _ => Err(ConfigError::Invalid {
                name: "RPC_ALLOWED_ORIGINS",
                reason: format!("{origin:?} is not an origin: scheme://host[:port]"),
            }),
        };
        Ok(Self {
            allowed_origins: origins.map(origin).collect::<Result<_, _>>()?,
        })
    }
}

/// Where each invocation's metrics line goes (`metrics`). Every function's
/// boundary reads it, whatever else the function reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    /// The CloudWatch namespace.
    pub namespace: String,
    /// The `Service` dimension: the deployment (one stage's stack), so stages
    /// that share an account keep their metrics apart.
    pub service: String,
}

/// Which certificate authorities the AWS SDK's HTTPS client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsTrust {
    /// Only the roots AWS documents for its endpoints: fast to load at cold
    /// start (5 certificates, not the system's ~140) and narrower trust.
    AwsRoots,
    /// The operating system's certificate store.
    System,
}

impl std::str::FromStr for TlsTrust {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw {
            "aws" => Ok(TlsTrust::AwsRoots),
            "system" => Ok(TlsTrust::System),
            _ => Err("must be aws or system".into()),
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Vars::environment())
    }

    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::read(&Vars::map(vars))
    }

    fn read(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Config {
            tables: Tables {
                users: vars.required("USERS_TABLE")?,
                tokens: vars.required("TOKENS_TABLE")?,
                counters: vars.required("COUNTERS_TABLE")?,
                audit: vars.required("AUDIT_TABLE")?,
            },
            mail: MailSettings::read(vars)?,
            passwords: PasswordSettings::read(vars)?,
            secrets: SecretSettings {
                pepper_id: vars.optional("PEPPER_SECRET_ID"),
                keep_for: Duration::from_secs(vars.bounded(
                    "SECRETS_REFRESH_SECONDS",
                    300,
                    0..=86_400,
                )?),
            },
            jwt: JwtSettings::read(vars)?,
            access: AccessSettings {
                required_linked_identity: vars.optional("REQUIRED_LINKED_IDENTITY"),
                revoke_sessions_on_password_change: vars
                    .parsed("REVOKE_SESSIONS_ON_PASSWORD_CHANGE", true)?,
                admin_reset_sets_change_required: vars
                    .parsed("ADMIN_RESET_SETS_CHANGE_REQUIRED", true)?,
                callback_required_scope: vars.optional("CALLBACK_REQUIRED_SCOPE"),
            },
            limits: RateLimits {
                emails_per_hour: vars.parsed("RATE_LIMIT_EMAILS_PER_HOUR", 5)?,
                wrong_secrets_per_hour: vars.parsed("RATE_LIMIT_WRONG_SECRETS_PER_HOUR", 10)?,
                admin_resets_per_minute: vars.parsed("RATE_LIMIT_ADMIN_RESETS_PER_MINUTE", 30)?,
                invalid_links_per_hour: vars.parsed("RATE_LIMIT_INVALID_LINKS_PER_HOUR", 20)?,
            },
            reset_codes: ResetCodeSettings {
                length: vars.bounded("RESET_CODE_LENGTH", 6, 1..=20)?,
                url_template: vars
                    .optional("RESET_CODE_URL_TEMPLATE")
                    .map(|template| {
                        let sample = template
                            .replace("{{.UserID}}", "000000000000000000000000")
                            .replace("{{.Code}}", "SAMPLE")
                            .replace("{{.OrgID}}", "org");
                        mail::mailed_link("RESET_CODE_URL_TEMPLATE", &sample).map(|()| template)
                    })
                    .transpose()?,
                url_hosts: vars
                    .optional("RESET_CODE_URL_HOSTS")
                    .map(|hosts| {
                        hosts
                            .split(',')
                            .map(|h| h.trim().to_ascii_lowercase())
                            .filter(|h| !h.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            deprecation: DeprecationSettings {
                // 2025-01-01 and 2027-07-01, 00:00 UTC.
                p4_deprecated_at: vars.parsed("P4_DEPRECATED_AT", 1_735_689_600)?,
                p4_sunset_at: vars.parsed("P4_SUNSET_AT", 1_814_400_000)?,
            },
            rpc: RpcSettings::read(vars)?,
            tls_trust: vars.parsed("TLS_TRUST", TlsTrust::AwsRoots)?,
            otp: OtpSettings::read(vars)?,
        })
    }

    /// The device OTP's settings, for the functions that cannot work without
    /// them; their absence names the variable.
    pub fn require_otp(&self) -> Result<&OtpSettings, ConfigError> {
        self.otp
            .as_ref()
            .ok_or(ConfigError::Missing("OTP_ENCRYPTION_KEY_SECRET_ID"))
    }
}

impl PasswordSettings {
    /// This section alone, for a function that needs nothing else (P3).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Vars::environment())
    }

    fn read(vars: &Vars) -> Result<Self, ConfigError> {
        let argon2 = Params::new(
            vars.parsed("ARGON2_MEMORY_KIB", Params::DEFAULT_M_COST)?,
            vars.parsed("ARGON2_ITERATIONS", Params::DEFAULT_T_COST)?,
            vars.parsed("ARGON2_PARALLELISM", Params::DEFAULT_P_COST)?,
            Some(Params::DEFAULT_OUTPUT_LEN),
        )
        .map_err(|e| ConfigError::Invalid {
            name: "ARGON2_MEMORY_KIB",
            reason: format!("argon2 parameters rejected: {e}"),
        })?;
        Ok(Self {
            min_length: vars.bounded("PASSWORD_MIN_LENGTH", 8, 1..=PASSWORD_MAX_LENGTH)?,
            argon2,
        })
    }
}

impl MetricsSettings {
    pub fn from_env() -> Self {
        Self::read(&Vars::environment())
    }

    fn read(vars: &Vars) -> Self {
        Self {
            namespace: vars
                .optional("METRICS_NAMESPACE")
                .unwrap_or_else(|| "PasswordService".into()),
            service: vars
                .optional("METRICS_SERVICE")
                .unwrap_or_else(|| "password-service".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Every required variable, none of the optional ones.
    pub(super) fn complete() -> HashMap<String, String> {
        [
            ("USERS_TABLE", "users"),
            ("TOKENS_TABLE", "tokens"),
            ("COUNTERS_TABLE", "counters"),
            ("AUDIT_TABLE", "audit"),
            ("MAIL_FROM", "no-reply@example.com"),
            ("SET_PASSWORD_URL", "https://example.com/user/password/set"),
            ("JWT_ISSUER", "https://issuer.example"),
            ("JWT_AUDIENCE", "password-service"),
            ("JWT_HS256_SECRET", "0123456789abcdef0123456789abcdef"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn complete_environment_uses_spec_defaults() {
        let config = Config::from_map(&complete()).unwrap();
        assert_eq!(config.passwords.min_length, 8);
        assert_eq!(config.mail.set_password_ttl, Duration::from_secs(86_400));
        assert_eq!(config.passwords.argon2.m_cost(), 19_456);
        assert_eq!(config.passwords.argon2.t_cost(), 2);
        assert_eq!(config.passwords.argon2.p_cost(), 1);
        assert!(config.access.revoke_sessions_on_password_change);
        assert_eq!(config.limits.emails_per_hour, 5);
        assert_eq!(config.limits.wrong_secrets_per_hour, 10);
        assert_eq!(config.limits.admin_resets_per_minute, 30);
    }

    #[test]
    fn metrics_go_to_the_service_namespace_unless_configured() {
        let unset = HashMap::new();
        assert_eq!(
            MetricsSettings::read(&Vars::map(&unset)),
            MetricsSettings {
                namespace: "PasswordService".into(),
                service: "password-service".into(),
            }
        );
        let stage = HashMap::from([("METRICS_SERVICE".to_string(), "pw-prod".to_string())]);
        assert_eq!(MetricsSettings::read(&Vars::map(&stage)).service, "pw-prod");
    }

    #[test]
    fn missing_variable_is_named() {
        let mut vars = complete();
        vars.remove("USERS_TABLE");
        let err = Config::from_map(&vars).unwrap_err();
        assert!(err.to_string().contains("USERS_TABLE"), "{err}");
    }

    #[test]
    fn malformed_variable_is_named() {
        let mut vars = complete();
        vars.insert("PASSWORD_MIN_LENGTH".into(), "eight".into());
        let err = Config::from_map(&vars).unwrap_err();
        assert!(err.to_string().contains("PASSWORD_MIN_LENGTH"), "{err}");
    }

    #[test]
    fn secrets_are_named_by_id_and_kept_five_minutes_unless_configured() {
        let mut vars = complete();
        let config = Config::from_map(&vars).unwrap();
        assert_eq!(config.secrets.pepper_id, None);
        assert_eq!(config.secrets.keep_for, Duration::from_secs(300));
        vars.insert(
            "PEPPER_SECRET_ID".into(),
            "password-service/dev/pepper".into(),
        );
        vars.insert("SECRETS_REFRESH_SECONDS".into(), "30".into());
        let config = Config::from_map(&vars).unwrap();
        assert_eq!(
            config.secrets.pepper_id.as_deref(),
            Some("password-service/dev/pepper")
        );
        assert_eq!(config.secrets.keep_for, Duration::from_secs(30));
        vars.insert("SECRETS_REFRESH_SECONDS".into(), "a day and a bit".into());
        let error = Config::from_map(&vars).unwrap_err().to_string();
        assert!(error.contains("SECRETS_REFRESH_SECONDS"), "{error}");
    }

    #[test]
    fn rpc_origins_are_none_by_default_and_checked_when_given() {
        let origins = |vars: &HashMap<_, _>| Config::from_map(vars).map(|c| c.rpc.allowed_origins);
        let mut vars = complete();
        assert!(origins(&vars).unwrap().is_empty());
        let two = "https://A.example, http://b:8080";
        vars.insert("RPC_ALLOWED_ORIGINS".into(), two.into());
        assert_eq!(
            origins(&vars).unwrap(),
            ["https://a.example", "http://b:8080"]
        );
        for wrong in ["https://a.example/", "*", "a.example", "ftp://a.example"] {
            vars.insert("RPC_ALLOWED_ORIGINS".into(), wrong.into());
            assert!(origins(&vars).is_err(), "{wrong}");
        }
    }

    #[test]
    fn debug_output_hides_secrets() {
        // The one secret configuration holds as a value (the local HS256
        // issuer's), looked for as text and as the bytes a derived Debug of
        // a Vec<u8> would print.
        let mut vars = complete();
        let hs256 = "jwt-secret-c41d8e2b97fa6053e8d1f9a4";
        vars.insert("JWT_HS256_SECRET".into(), hs256.into());
        let config = Config::from_map(&vars).unwrap();
        let shown = format!("{config:?}");
        let bytes = format!("{:?}", hs256.as_bytes());
        let inner = bytes.trim_start_matches('[').trim_end_matches(']');
        assert!(!shown.contains(hs256), "{shown}");
        assert!(!shown.contains(inner), "as bytes: {shown}");
    }
}

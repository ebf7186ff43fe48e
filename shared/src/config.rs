//! Configuration, read once at cold start from the environment.
//!
//! Every variable is documented in the README's configuration table. A missing
//! or malformed variable is an error that names it, so a misconfigured stage
//! fails at start-up instead of on some later request.

use std::collections::HashMap;
use std::time::Duration;

use argon2::Params;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration variable {0} is required but not set")]
    Missing(&'static str),
    #[error("configuration variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// How callers prove who they are: the JWT verification settings of SPEC section 1.
#[derive(Clone)]
pub struct JwtConfig {
    pub issuer: String,
    pub audience: String,
    /// Shared secret for HS256; only when explicitly configured (the local stack).
    pub hs256_secret: Option<Vec<u8>>,
    /// JSON Web Key Set holding the RS256/ES256 verification keys.
    pub jwks_json: Option<String>,
    pub leeway_seconds: u64,
}

impl std::fmt::Debug for JwtConfig {
    // The HS256 secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("hs256_secret", &self.hs256_secret.as_ref().map(|_| "[set]"))
            .field("jwks_json", &self.jwks_json.as_ref().map(|_| "[set]"))
            .field("leeway_seconds", &self.leeway_seconds)
            .finish()
    }
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
pub struct Tables {
    pub users: String,
    pub tokens: String,
    pub counters: String,
    pub audit: String,
}

#[derive(Clone)]
pub struct Config {
    pub tables: Tables,
    pub mail_from: String,
    /// Where the set-password email links to; `None`: the stage's own page.
    pub set_password_url: Option<String>,
    pub set_password_ttl: Duration,
    pub password_min_length: usize,
    pub argon2: Params,
    /// Server secret for HMAC over reset codes and PINs.
    pub pepper: Vec<u8>,
    pub jwt: JwtConfig,
    pub required_linked_identity: Option<String>,
    /// A password change or reset ends sessions whose token predates it.
    pub revoke_sessions_on_password_change: bool,
    pub tls_trust: TlsTrust,
    pub rate_limits: RateLimits,
    /// An admin reset (O1) makes the user choose a new password at next sign-in.
    pub admin_reset_sets_change_required: bool,
    /// A scope the password-reset callback (P5) requires, where configured.
    pub callback_required_scope: Option<String>,
    /// When the PIN-gated reset (P4) was deprecated and when it goes away
    /// (Unix seconds), for its `Deprecation` and `Sunset` headers.
    pub p4_deprecated_at: i64,
    pub p4_sunset_at: i64,
    /// Characters in a Z1 reset code (1 to 20).
    pub reset_code_length: usize,
    /// The link a Z1 email carries when the request names no `urlTemplate`.
    pub reset_code_url_template: Option<String>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("tables", &self.tables)
            .field("mail_from", &self.mail_from)
            .field("set_password_url", &self.set_password_url)
            .field("set_password_ttl", &self.set_password_ttl)
            .field("password_min_length", &self.password_min_length)
            .field("argon2", &self.argon2)
            .field("pepper", &"[set]")
            .field("jwt", &self.jwt)
            .field("required_linked_identity", &self.required_linked_identity)
            .field(
                "revoke_sessions_on_password_change",
                &self.revoke_sessions_on_password_change,
            )
            .field("tls_trust", &self.tls_trust)
            .field("rate_limits", &self.rate_limits)
            .field(
                "admin_reset_sets_change_required",
                &self.admin_reset_sets_change_required,
            )
            .field("callback_required_scope", &self.callback_required_scope)
            .field("p4_deprecated_at", &self.p4_deprecated_at)
            .field("p4_sunset_at", &self.p4_sunset_at)
            .field("reset_code_length", &self.reset_code_length)
            .field("reset_code_url_template", &self.reset_code_url_template)
            .finish()
    }
}

/// The shortest pepper accepted: 256 bits, as for any HMAC key.
const MIN_PEPPER_BYTES: usize = 32;
/// SPEC section 3: the maximum password length.
pub const PASSWORD_MAX_LENGTH: usize = 200;
/// SPEC section 1: clock leeway for `exp`/`nbf` is at most 60 s.
const MAX_LEEWAY_SECONDS: u64 = 60;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&lookup);
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

        let pepper = vars.required("PEPPER")?.into_bytes();
        if pepper.len() < MIN_PEPPER_BYTES {
            return Err(ConfigError::Invalid {
                name: "PEPPER",
                reason: format!("must be at least {MIN_PEPPER_BYTES} bytes"),
            });
        }

        let password_min_length: usize = vars.parsed("PASSWORD_MIN_LENGTH", 8)?;
        if !(1..=PASSWORD_MAX_LENGTH).contains(&password_min_length) {
            return Err(ConfigError::Invalid {
                name: "PASSWORD_MIN_LENGTH",
                reason: format!("must be between 1 and {PASSWORD_MAX_LENGTH}"),
            });
        }

        let reset_code_length: usize = vars.parsed("RESET_CODE_LENGTH", 6)?;
        if !(1..=20).contains(&reset_code_length) {
            return Err(ConfigError::Invalid {
                name: "RESET_CODE_LENGTH",
                reason: "must be between 1 and 20".into(),
            });
        }

        let set_password_url = vars.optional("SET_PASSWORD_URL");
        if set_password_url
            .as_deref()
            .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")))
        {
            return Err(ConfigError::Invalid {
                name: "SET_PASSWORD_URL",
                reason: "must be an absolute http(s) URL".into(),
            });
        }

        let jwt = JwtConfig {
            issuer: vars.required("JWT_ISSUER")?,
            audience: vars.required("JWT_AUDIENCE")?,
            hs256_secret: vars.optional("JWT_HS256_SECRET").map(String::into_bytes),
            jwks_json: vars.optional("JWT_JWKS"),
            leeway_seconds: vars.parsed("JWT_LEEWAY_SECONDS", 30)?,
        };
        if jwt.leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(ConfigError::Invalid {
                name: "JWT_LEEWAY_SECONDS",
                reason: format!("must be at most {MAX_LEEWAY_SECONDS}"),
            });
        }
        if jwt.hs256_secret.is_none() && jwt.jwks_json.is_none() {
            return Err(ConfigError::Missing("JWT_JWKS"));
        }
        if jwt
            .hs256_secret
            .as_ref()
            .is_some_and(|s| s.len() < MIN_PEPPER_BYTES)
        {
            return Err(ConfigError::Invalid {
                name: "JWT_HS256_SECRET",
                reason: format!("must be at least {MIN_PEPPER_BYTES} bytes"),
            });
        }

        Ok(Config {
            tables: Tables {
                users: vars.required("USERS_TABLE")?,
                tokens: vars.required("TOKENS_TABLE")?,
                counters: vars.required("COUNTERS_TABLE")?,
                audit: vars.required("AUDIT_TABLE")?,
            },
            mail_from: vars.required("MAIL_FROM")?,
            set_password_url,
            set_password_ttl: Duration::from_secs(vars.parsed("SET_PASSWORD_TTL", 24 * 3600)?),
            password_min_length,
            argon2,
            pepper,
            jwt,
            required_linked_identity: vars.optional("REQUIRED_LINKED_IDENTITY"),
            revoke_sessions_on_password_change: vars
                .parsed("REVOKE_SESSIONS_ON_PASSWORD_CHANGE", true)?,
            tls_trust: vars.parsed("TLS_TRUST", TlsTrust::AwsRoots)?,
            rate_limits: RateLimits {
                emails_per_hour: vars.parsed("RATE_LIMIT_EMAILS_PER_HOUR", 5)?,
                wrong_secrets_per_hour: vars.parsed("RATE_LIMIT_WRONG_SECRETS_PER_HOUR", 10)?,
                admin_resets_per_minute: vars.parsed("RATE_LIMIT_ADMIN_RESETS_PER_MINUTE", 30)?,
                invalid_links_per_hour: vars.parsed("RATE_LIMIT_INVALID_LINKS_PER_HOUR", 20)?,
            },
            admin_reset_sets_change_required: vars
                .parsed("ADMIN_RESET_SETS_CHANGE_REQUIRED", true)?,
            callback_required_scope: vars.optional("CALLBACK_REQUIRED_SCOPE"),
            // 2025-01-01 and 2027-07-01, 00:00 UTC.
            p4_deprecated_at: vars.parsed("P4_DEPRECATED_AT", 1_735_689_600)?,
            p4_sunset_at: vars.parsed("P4_SUNSET_AT", 1_814_400_000)?,
            reset_code_length,
            reset_code_url_template: vars.optional("RESET_CODE_URL_TEMPLATE"),
        })
    }
}

struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    /// A set, non-blank value; blank counts as unset.
    fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    fn parsed<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    reason: e.to_string(),
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> HashMap<String, String> {
        [
            ("USERS_TABLE", "users"),
            ("TOKENS_TABLE", "tokens"),
            ("COUNTERS_TABLE", "counters"),
            ("AUDIT_TABLE", "audit"),
            ("MAIL_FROM", "no-reply@example.com"),
            ("SET_PASSWORD_URL", "https://example.com/user/password/set"),
            ("PEPPER", "0123456789abcdef0123456789abcdef"),
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
        assert_eq!(config.password_min_length, 8);
        assert_eq!(config.set_password_ttl, Duration::from_secs(86_400));
        assert_eq!(config.argon2.m_cost(), 19_456);
        assert_eq!(config.argon2.t_cost(), 2);
        assert_eq!(config.argon2.p_cost(), 1);
        assert!(config.revoke_sessions_on_password_change);
        assert_eq!(config.rate_limits.emails_per_hour, 5);
        assert_eq!(config.rate_limits.wrong_secrets_per_hour, 10);
        assert_eq!(config.rate_limits.admin_resets_per_minute, 30);
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
    fn short_pepper_is_rejected() {
        let mut vars = complete();
        vars.insert("PEPPER".into(), "short".into());
        assert!(Config::from_map(&vars).is_err());
    }

    #[test]
    fn leeway_over_sixty_seconds_is_rejected() {
        let mut vars = complete();
        vars.insert("JWT_LEEWAY_SECONDS".into(), "61".into());
        assert!(Config::from_map(&vars).is_err());
    }

    #[test]
    fn some_verification_key_is_required() {
        let mut vars = complete();
        vars.remove("JWT_HS256_SECRET");
        let err = Config::from_map(&vars).unwrap_err();
        assert!(err.to_string().contains("JWT_JWKS"), "{err}");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let config = Config::from_map(&complete()).unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
    }
}

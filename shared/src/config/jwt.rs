//! How callers prove who they are (SPEC section 1): the issuer and audience a
//! token must name, and where the keys that verify it come from (the
//! issuer's `jwks_uri`, a seed set, or an HS256 secret for the local stack).

use super::{ConfigError, Vars};
use crate::domain::SecretBytes;

/// SPEC section 1: clock leeway for `exp`/`nbf` is at most 60 s.
const MAX_LEEWAY_SECONDS: u64 = 60;

/// How callers prove who they are: the JWT verification settings of SPEC section 1.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub issuer: String,
    pub audience: String,
    /// Shared secret for HS256; only when explicitly configured (the local stack).
    pub hs256_secret: Option<SecretBytes>,
    /// JSON Web Key Set holding RS256/ES256 verification keys: the cache's
    /// seed, so that a cold start needs no fetch.
    pub jwks_json: Option<String>,
    /// The issuer's `jwks_uri`; unset, it is found by OpenID Connect
    /// discovery where the issuer is an https URL.
    pub jwks_url: Option<String>,
    /// A token naming a key not cached refreshes the set at most once per
    /// this many seconds.
    pub jwks_refresh_seconds: i64,
    pub leeway_seconds: u64,
}

impl JwtSettings {
    pub(super) fn read(vars: &Vars) -> Result<Self, ConfigError> {
        let jwt = Self {
            issuer: vars.required("JWT_ISSUER")?,
            audience: vars.required("JWT_AUDIENCE")?,
            hs256_secret: vars.key("JWT_HS256_SECRET")?,
            jwks_json: vars.optional("JWT_JWKS"),
            jwks_url: vars.optional("JWT_JWKS_URL"),
            jwks_refresh_seconds: vars.bounded("JWT_JWKS_REFRESH_SECONDS", 60, 1..=86_400)?,
            leeway_seconds: vars.bounded("JWT_LEEWAY_SECONDS", 30, 0..=MAX_LEEWAY_SECONDS)?,
        };
        if let Some(url) = jwt
            .jwks_url
            .as_deref()
            .filter(|u| !crate::domain::link::is_secure_text(u))
        {
            return Err(ConfigError::Invalid {
                name: "JWT_JWKS_URL",
                reason: format!("{url} is not https (plain http only to this machine)"),
            });
        }
        if jwt.hs256_secret.is_none() && jwt.jwks_json.is_none() && jwt.key_source().is_none() {
            return Err(ConfigError::Missing("JWT_JWKS_URL"));
        }
        Ok(jwt)
    }

    /// Where the issuer publishes its keys: the configured `jwks_uri`, or
    /// discovery of an https issuer; `None` when keys come from
    /// configuration only.
    pub fn key_source(&self) -> Option<crate::jwks::IssuerKeys> {
        use crate::jwks::IssuerKeys;
        match &self.jwks_url {
            Some(url) => Some(IssuerKeys::from_jwks_uri(url.clone())),
            None if self.issuer.starts_with("https://") => {
                Some(IssuerKeys::by_discovery(self.issuer.clone()))
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::complete;
    use crate::config::Config;

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
        vars.insert("JWT_ISSUER".into(), "http://127.0.0.1:4000/issuer".into());
        let err = Config::from_map(&vars).unwrap_err();
        assert!(err.to_string().contains("JWT_JWKS"), "{err}");
    }

    #[test]
    fn keys_come_from_the_jwks_url_or_the_discovery_of_an_https_issuer() {
        let mut vars = complete();
        vars.remove("JWT_HS256_SECRET");
        let discovered = Config::from_map(&vars).unwrap();
        assert!(discovered.jwt.key_source().is_some(), "https issuer");
        vars.insert("JWT_JWKS_URL".into(), "http://issuer.example/jwks".into());
        let err = Config::from_map(&vars).unwrap_err();
        assert!(err.to_string().contains("JWT_JWKS_URL"), "{err}");
        vars.insert("JWT_JWKS_URL".into(), "http://127.0.0.1:4000/jwks".into());
        assert!(Config::from_map(&vars).is_ok(), "loopback http");
    }
}

//! Bearer-token authentication (SPEC section 1).
//!
//! Algorithms are pinned by configuration: HS256 only with a configured shared
//! secret, RS256/ES256 only with keys from the issuer's key set (`jwks`: fetched
//! from its `jwks_uri`, cached, seeded by configuration). Keys are never taken
//! from the token (`jku`, `x5u`, `jwk` headers are refused), `alg: none` does
//! not parse, and a token's `alg` must match the family of the key it selects.
//! Expiry and `nbf` are checked against the injected clock.

use std::collections::HashSet;

use jsonwebtoken::jwk::{JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::jwks::{KeyCache, KeySource, PublicKey};
use serde::Deserialize;

use crate::config::{ConfigError, JwtSettings};
use crate::domain::{User, UserId};

/// Scope that may set or reset another user's password.
pub const SCOPE_RESET_PASSWORD: &str = "users:resetPassword";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header: the challenge carries no error code.
    #[error("authentication required")]
    Missing,
    /// A token was sent but is not acceptable (RFC 6750 `invalid_token`).
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
}

impl AuthError {
    /// The `WWW-Authenticate` challenge (RFC 6750, section 3).
    pub fn challenge(&self) -> String {
        match self {
            AuthError::Missing => r#"Bearer realm="password-service""#.to_string(),
            AuthError::InvalidToken(why) => format!(
                r#"Bearer realm="password-service", error="invalid_token", error_description="{why}""#
            ),
        }
    }
}

/// The challenge for a valid token that lacks a scope (RFC 6750, section 3.1).
pub fn insufficient_scope_challenge(scope: &str) -> String {
    format!(r#"Bearer realm="password-service", error="insufficient_scope", scope="{scope}""#)
}

/// Who is calling, from a verified token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The `sub` claim, as given: it may name no user of this service.
    pub subject: String,
    pub scopes: HashSet<String>,
    pub issued_at: Option<i64>,
}

impl Caller {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    pub fn user_id(&self) -> Option<UserId> {
        UserId::parse(&self.subject)
    }

    /// Whether the caller is the user `user_id` names (ids compare in either case).
    pub fn is(&self, user_id: &str) -> bool {
        self.user_id()
            .is_some_and(|me| UserId::parse(user_id) == Some(me))
    }

    /// On whose authority the caller may act on the user `target`: their own,
    /// or an admin's (`users:resetPassword`). Decided from the token alone,
    /// before any lookup, so a stranger learns nothing of the user.
    pub fn authorise(&self, target: &str) -> Result<Actor, Forbidden> {
        if self.has_scope(SCOPE_RESET_PASSWORD) {
            Ok(Actor::Admin)
        } else if self.is(target) {
            Ok(Actor::Owner)
        } else {
            Err(Forbidden {
                scope: SCOPE_RESET_PASSWORD,
            })
        }
    }

    /// A password change or reset ends sessions older than it: a token issued
    /// before the user's `sessionsNotBefore` second is refused. A token without
    /// `iat` cannot show it is newer, so it is refused too once a cut-off exists.
    pub fn check_session(&self, user: &User, enforce: bool) -> Result<(), AuthError> {
        match (enforce, user.sessions_not_before) {
            (true, Some(not_before)) if self.issued_at.is_none_or(|iat| iat < not_before) => Err(
                AuthError::InvalidToken("the token was issued before the last password change"),
            ),
            _ => Ok(()),
        }
    }
}

/// On whose authority a caller acts on a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The user themself, without the admin scope.
    Owner,
    /// A caller with `users:resetPassword`, the user themself included.
    Admin,
}

/// The caller may not do this: it lacks `scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the caller lacks scope {scope}")]
pub struct Forbidden {
    pub scope: &'static str,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    scp: Option<Vec<String>>,
}

pub struct Authenticator {
    issuer: String,
    audience: String,
    leeway: i64,
    hs256: Option<DecodingKey>,
    public_keys: KeyCache,
}

impl Authenticator {
    pub fn new(config: &JwtSettings) -> Result<Self, ConfigError> {
        let source = config
            .key_source()
            .map(|source| Box::new(source) as Box<dyn KeySource>);
        Self::with_key_source(config, source)
    }

    /// As [`Authenticator::new`], with the issuer's keys from `source`
    /// (tests give their own).
    pub fn with_key_source(
        config: &JwtSettings,
        source: Option<Box<dyn KeySource>>,
    ) -> Result<Self, ConfigError> {
        let mut public_keys = Vec::new();
        if let Some(json) = &config.jwks_json {
            let invalid = |reason: String| ConfigError::Invalid {
                name: "JWT_JWKS",
                reason,
            };
            let set: JwkSet = serde_json::from_str(json).map_err(|e| invalid(e.to_string()))?;
            for jwk in &set.keys {
                let algorithm = match jwk.common.key_algorithm {
                    Some(KeyAlgorithm::RS256) => Algorithm::RS256,
                    Some(KeyAlgorithm::ES256) => Algorithm::ES256,
                    other => {
                        return Err(invalid(format!(
                            "every key needs \"alg\" RS256 or ES256, found {other:?}"
                        )))
                    }
                };
                let key = DecodingKey::from_jwk(jwk).map_err(|e| invalid(e.to_string()))?;
                public_keys.push(PublicKey {
                    kid: jwk.common.key_id.clone(),
                    algorithm,
                    key,
                });
            }
        }
        Ok(Self {
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway: config.leeway_seconds as i64,
            hs256: config
                .hs256_secret
                .as_ref()
                .map(|secret| DecodingKey::from_secret(secret.expose())),
            public_keys: KeyCache::new(public_keys, source, config.jwks_refresh_seconds),
        })
    }

    /// Verifies the bearer token of a request's `Authorization` header (its
    /// bytes, where it has one) at `now` (Unix seconds).
    pub async fn authenticate(
        &self,
        authorization: Option<&[u8]>,
        now: i64,
    ) -> Result<Caller, AuthError> {
        let token = bearer_token(authorization)?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::InvalidToken("malformed token"))?;
        if header.jku.is_some() || header.x5u.is_some() || header.jwk.is_some() {
            return Err(AuthError::InvalidToken(
                "key references in the header are not accepted",
            ));
        }
        if header.crit.is_some() {
            return Err(AuthError::InvalidToken(
                "critical header extensions are not supported",
            ));
        }
        let key = self.key_for(header.alg, header.kid.as_deref(), now).await?;

        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Time is checked below against the service's clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            AuthError::InvalidToken(match e.kind() {
                ErrorKind::InvalidIssuer => "wrong issuer",
                ErrorKind::InvalidAudience => "wrong audience",
                ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
                ErrorKind::InvalidSignature => "bad signature",
                _ => "the token could not be verified",
            })
        })?;
        let claims = data.claims;
        // Saturating: a claim near i64's ends must not wrap (release) or
        // panic (debug).
        if claims.exp.saturating_add(self.leeway) <= now {
            return Err(AuthError::InvalidToken("the token has expired"));
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf.saturating_sub(self.leeway) > now)
        {
            return Err(AuthError::InvalidToken("the token is not valid yet"));
        }
        // A token from the future would outlive every later session cut-off.
        if claims
            .iat
            .is_some_and(|iat| iat.saturating_sub(self.leeway) > now)
        {
            return Err(AuthError::InvalidToken(
                "the token was issued in the future",
            ));
        }
        if claims.sub.is_empty() {
            return Err(AuthError::InvalidToken("the token names no subject"));
        }
        let scopes = claims
            .scope
            .iter()
            .flat_map(|s| s.split_whitespace().map(str::to_string))
            .chain(claims.scp.into_iter().flatten())
            .collect();
        Ok(Caller {
            subject: claims.sub,
            scopes,
            issued_at: claims.iat,
        })
    }

    async fn key_for(
        &self,
        algorithm: Algorithm,
        kid: Option<&str>,
        now: i64,
    ) -> Result<DecodingKey, AuthError> {
        match algorithm {
            Algorithm::HS256 => self
                .hs256
                .clone()
                .ok_or(AuthError::InvalidToken("algorithm not accepted")),
            Algorithm::RS256 | Algorithm::ES256 => self
                .public_keys
                .key_for(algorithm, kid, now)
                .await
                .ok_or(AuthError::InvalidToken("unknown signing key")),
            _ => Err(AuthError::InvalidToken("algorithm not accepted")),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header; the scheme name is
/// case-insensitive (RFC 7235).
fn bearer_token(authorization: Option<&[u8]>) -> Result<&str, AuthError> {
    let value = std::str::from_utf8(authorization.ok_or(AuthError::Missing)?)
        .ok()
        .filter(|value| value.is_ascii())
        .ok_or(AuthError::InvalidToken("malformed authorization header"))?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::InvalidToken("empty token"));
    }
    Ok(token)
}

/// The claims of a token this service accepts, for [`mint_hs256`].
pub fn token_claims(
    issuer: &str,
    audience: &str,
    subject: &str,
    scope: Option<&str>,
    issued_at: i64,
    ttl_seconds: i64,
) -> serde_json::Value {
    let mut claims = serde_json::json!({
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": issued_at,
        "exp": issued_at.saturating_add(ttl_seconds),
    });
    if let Some(scope) = scope {
        claims["scope"] = serde_json::Value::from(scope);
    }
    claims
}

/// Mints an HS256 token over `claims`: for the operator CLI and tests, never
/// used by a function.
pub fn mint_hs256(
    secret: &[u8],
    claims: &serde_json::Value,
) -> Result<String, jsonwebtoken::errors::Error> {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
}

//! The application: dependencies built once per cold start, the errors its
//! flows share, and the caller check every user-facing endpoint starts with.

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};

use crate::auth::{AuthError, Authenticator, Caller};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError, TlsTrust};
use crate::domain::User;
use crate::hashing::{HashError, PasswordHasher};
use crate::mail::{render, MailError, Mailer, Notice, SesMailer};
use crate::policy::{PasswordPolicy, PolicyViolation};
use crate::secrets::Pepper;
use crate::store::{DynamoStore, PinFailures, Store, StoreError};
use lambda_http::http::HeaderMap;

pub struct Services {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub hasher: Arc<PasswordHasher>,
    pub authenticator: Authenticator,
    pub policy: PasswordPolicy,
    pub pepper: Pepper,
}

impl Services {
    /// Production wiring: configuration from the environment, AWS clients from
    /// the default provider chain (which honours `AWS_ENDPOINT_URL_DYNAMODB`
    /// and `AWS_ENDPOINT_URL_SESV2`, how the local stack points at the emulator).
    pub async fn from_env() -> Result<Arc<Self>, ConfigError> {
        let config = Config::from_env()?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if config.tls_trust == TlsTrust::AwsRoots {
            loader = loader.http_client(aws_roots_https_client());
        }
        let aws = loader.load().await;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), config.tables.clone());
        let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&aws), config.mail_from.clone());
        Self::new(
            config,
            Arc::new(store),
            Arc::new(mailer),
            Arc::new(SystemClock),
        )
        .map(Arc::new)
    }

    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            authenticator: Authenticator::new(&config.jwt)?,
            hasher: PasswordHasher::new(config.argon2.clone()),
            policy: PasswordPolicy::new(config.password_min_length),
            pepper: Pepper::new(config.pepper.clone()),
            config,
            store,
            mailer,
            clock,
        })
    }

    /// The caller of a valid token, without reading anything: for endpoints
    /// that decide access from the token alone before any lookup.
    pub fn authenticate_token(&self, headers: &HeaderMap) -> Result<Caller, ServiceError> {
        Ok(self
            .authenticator
            .authenticate(headers, self.clock.now_seconds())?)
    }

    /// Any caller with a valid token. Where the caller is also a user of this
    /// service, a password change since the token was issued ends it too.
    pub async fn authenticate_caller(&self, headers: &HeaderMap) -> Result<Caller, ServiceError> {
        let caller = self
            .authenticator
            .authenticate(headers, self.clock.now_seconds())?;
        if let Some(id) = caller.user_id() {
            if let Some(user) = self.store.get_user(&id).await? {
                caller.check_session(&user, self.config.revoke_sessions_on_password_change)?;
            }
        }
        Ok(caller)
    }

    /// The caller of a user endpoint (caller = `sub`), with their record:
    /// token verified, user known, session not ended by a password change,
    /// and the required linked identity present where one is configured.
    pub async fn authenticate_user(
        &self,
        headers: &HeaderMap,
    ) -> Result<(Caller, User), ServiceError> {
        let caller = self
            .authenticator
            .authenticate(headers, self.clock.now_seconds())?;
        let user = match caller.user_id() {
            Some(id) => self.store.get_user(&id).await?,
            None => None,
        };
        let user = self.admit(&caller, user)?;
        Ok((caller, user))
    }

    /// As [`Services::authenticate_user`], reading the user's PIN failure
    /// counter in the same round trip, for the endpoints under the PIN rule.
    pub async fn authenticate_user_with_pin_failures(
        &self,
        headers: &HeaderMap,
    ) -> Result<(Caller, User, PinFailures), ServiceError> {
        let now = self.clock.now_seconds();
        let caller = self.authenticator.authenticate(headers, now)?;
        let found = match caller.user_id() {
            Some(id) => self.store.user_with_pin_failures(&id, now).await?,
            None => None,
        };
        let (user, failures) = found.map_or((None, PinFailures::default()), |(u, f)| (Some(u), f));
        let user = self.admit(&caller, user)?;
        Ok((caller, user, failures))
    }

    /// Mails `notice` to the user after a change (SPEC section 3). The change
    /// stands whether or not the notice goes out, so a failure is logged.
    pub async fn notify(&self, user: &User, notice: Notice<'_>) {
        let mail = render(notice, &user.email, user.locale);
        if let Err(error) = self.mailer.send(&mail).await {
            tracing::error!(user_id = %user.id, %error, "notice not sent");
        }
    }

    /// The user as stored now, after a write found them changed; gone is
    /// `UserNotFound`.
    pub async fn reload(&self, user: &User) -> Result<User, ServiceError> {
        self.store
            .get_user(&user.id)
            .await?
            .ok_or(ServiceError::UserNotFound)
    }

    /// The checks on a user caller once their record is read.
    fn admit(&self, caller: &Caller, user: Option<User>) -> Result<User, ServiceError> {
        let user = user.ok_or(ServiceError::UserNotFound)?;
        caller.check_session(&user, self.config.revoke_sessions_on_password_change)?;
        if let Some(required) = &self.config.required_linked_identity {
            if !user.linked_identities.iter().any(|i| i == required) {
                return Err(ServiceError::MissingLinkedIdentity);
            }
        }
        Ok(user)
    }
}

/// The roots AWS documents for its service endpoints (DynamoDB and SES
/// included): Amazon Root CA 1–4 and Starfield Services Root G2.
const AWS_TRUST_ANCHORS: &[u8] = include_bytes!("../data/aws-trust-anchors.crt");

/// The SDK's own HTTPS client (rustls on aws-lc), trusting only those roots.
/// Parsing the system store's ~140 certificates was most of a cold start.
pub fn aws_roots_https_client() -> SharedHttpClient {
    let trust = TrustStore::empty().with_pem_certificate(AWS_TRUST_ANCHORS);
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a TLS context from a trust store");
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// Outcomes the flows share; each family renders them in its own shape.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Unauthenticated(#[from] AuthError),
    #[error("the user lacks the required linked identity")]
    MissingLinkedIdentity,
    #[error("the caller lacks scope {0}")]
    Forbidden(String),
    #[error("no such user")]
    UserNotFound,
    #[error("the user already has a password")]
    PasswordAlreadySet,
    #[error("the token is unknown, used or expired")]
    TokenInvalid,
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    #[error("wrong PIN")]
    PinInvalid { remaining_attempts: u32 },
    #[error("the user has no PIN")]
    NoProofDefined,
    #[error("too many wrong PINs: the critical data was deleted")]
    CriticalDataDeleted { retry_after_seconds: u64 },
    #[error("the current password is required")]
    PasswordRequired,
    #[error("wrong current password")]
    WrongPassword,
    #[error("the verification code is wrong, used, replaced or expired")]
    InvalidVerificationCode,
    #[error("too many requests; retry after {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

impl From<HashError> for ServiceError {
    fn from(e: HashError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

impl From<MailError> for ServiceError {
    fn from(e: MailError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aws_trust_anchors_are_the_five_documented_roots() {
        let text = std::str::from_utf8(AWS_TRUST_ANCHORS).unwrap();
        assert_eq!(text.matches("BEGIN CERTIFICATE").count(), 5);
        for name in [
            "Amazon_Root_CA_1",
            "Amazon_Root_CA_2",
            "Amazon_Root_CA_3",
            "Amazon_Root_CA_4",
            "Starfield_Services_Root_Certificate_Authority_-_G2",
        ] {
            assert!(text.contains(name), "{name}");
        }
    }

    #[tokio::test]
    async fn a_client_builds_on_the_aws_roots() {
        // The certificates are parsed when the client's connector is built;
        // an unparsable bundle would panic here rather than on a first call.
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-central-1"))
            .http_client(aws_roots_https_client())
            .build();
        let _client = aws_sdk_dynamodb::Client::new(&sdk);
    }
}

//! The application: dependencies built once per cold start, the errors its
//! flows share, and the caller check every user-facing endpoint starts with.

use std::sync::Arc;

use aws_config::BehaviorVersion;

use crate::auth::{AuthError, Authenticator, Caller};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::domain::User;
use crate::hashing::{HashError, PasswordHasher};
use crate::mail::{MailError, Mailer, SesMailer};
use crate::policy::{PasswordPolicy, PolicyViolation};
use crate::secrets::Pepper;
use crate::store::{DynamoStore, Store, StoreError};
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
        let aws = aws_config::defaults(BehaviorVersion::latest()).load().await;
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
        }
        .ok_or(ServiceError::UserNotFound)?;
        caller.check_session(&user, self.config.revoke_sessions_on_password_change)?;
        if let Some(required) = &self.config.required_linked_identity {
            if !user.linked_identities.iter().any(|i| i == required) {
                return Err(ServiceError::MissingLinkedIdentity);
            }
        }
        Ok((caller, user))
    }
}

/// Outcomes the flows share; each family renders them in its own shape.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Unauthenticated(#[from] AuthError),
    #[error("the user lacks the required linked identity")]
    MissingLinkedIdentity,
    #[error("no such user")]
    UserNotFound,
    #[error("the user already has a password")]
    PasswordAlreadySet,
    #[error("the token is unknown, used or expired")]
    TokenInvalid,
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
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

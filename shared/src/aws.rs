//! The AWS side of the wiring: the SDK's HTTPS client and the store and
//! mailer adapters, built once per cold start.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_runtime::env_config::EnvConfigValue;
use aws_sdk_dynamodb::config::SharedCredentialsProvider;
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_types::os_shim_internal::Env;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use crate::clock::SystemClock;
use crate::config::{Config, ConfigError, TlsTrust};
use crate::mail::SesMailer;
use crate::secrets::{SecretError, SecretSource};
use crate::services::Services;
use crate::store::DynamoStore;

/// How long a caller can wait on AWS: the limits the SDK clients get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// A function within its 10 s Lambda timeout, on AWS.
    Lambda,
    /// A function of the local stack (`make dev`, `sam local`): the
    /// emulator serves one request at a time, so a call waits behind the
    /// others (four functions at once kept a Z2 past the Lambda budget's 2 s);
    /// longer waits, still within the 10 s function timeout.
    Local,
    /// The operator's CLI: nothing cuts it off, and an attempt given up on
    /// while the service still applies it (then tried again) can fail its own
    /// condition, so it waits rather than retries early.
    Operator,
}

/// The variable that gives a function the local budget (`local`, in
/// local.env); deployed functions do not have it.
pub const BUDGET_VARIABLE: &str = "AWS_TIMEOUT_BUDGET";

impl Budget {
    /// A function's budget: [`Budget::Local`] where its settings say
    /// `AWS_TIMEOUT_BUDGET=local` (the local stack), else [`Budget::Lambda`].
    pub fn for_function(value: Option<&str>) -> Budget {
        match value {
            Some("local") => Budget::Local,
            _ => Budget::Lambda,
        }
    }

    /// [`Budget::for_function`] of this process's environment.
    pub fn for_function_from_env() -> Budget {
        Budget::for_function(std::env::var(BUDGET_VARIABLE).ok().as_deref())
    }

    /// (attempt, operation) timeouts of the DynamoDB client.
    fn dynamodb(self) -> (Duration, Duration) {
        match self {
            Budget::Lambda => (Duration::from_millis(800), Duration::from_secs(2)),
            Budget::Local => (Duration::from_secs(3), Duration::from_secs(8)),
            Budget::Operator => (Duration::from_secs(10), Duration::from_secs(30)),
        }
    }

    /// (attempt, operation) timeouts of the Secrets Manager client: a read
    /// answers in tens of milliseconds, and is on a request's path only once
    /// per refresh.
    fn secrets(self) -> (Duration, Duration) {
        match self {
            Budget::Lambda => (Duration::from_secs(1), Duration::from_secs(2)),
            Budget::Local => (Duration::from_secs(3), Duration::from_secs(8)),
            Budget::Operator => (Duration::from_secs(10), Duration::from_secs(30)),
        }
    }

    /// (attempt, operation) timeouts of the SES client.
    fn ses(self) -> (Duration, Duration) {
        match self {
            Budget::Lambda => (Duration::from_secs(2), Duration::from_secs(3)),
            Budget::Local => (Duration::from_secs(5), Duration::from_secs(8)),
            Budget::Operator => (Duration::from_secs(10), Duration::from_secs(30)),
        }
    }
}

/// A function's wiring: configuration from the environment, then the AWS
/// clients on an SDK configuration from the environment alone
/// ([`sdk_config_from_lambda_environment`]): on AWS its Lambda environment;
/// in the local stack local.env, which gives the same variables (region,
/// keys, the emulator's endpoints). The SES client is built on the first
/// mail, the Secrets Manager client on the first secret read: a start-up pays
/// for neither.
pub async fn services_from_env(budget: Budget) -> Result<Services, ConfigError> {
    let config = Config::from_env()?;
    let https = (config.tls_trust == TlsTrust::AwsRoots).then(aws_roots_https_client);
    services_on(config, sdk_config_from_lambda_environment(https), budget)
}

/// The operator's CLI's wiring: as [`services_from_env`], on the SDK's
/// default chain, where profiles and SSO matter. No function calls it, so
/// the chain (and the STS client it brings) stays out of their binaries.
pub async fn operator_services_from_env() -> Result<Services, ConfigError> {
    let config = Config::from_env()?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if config.tls_trust == TlsTrust::AwsRoots {
        loader = loader.http_client(aws_roots_https_client());
    }
    let sdk = loader.load().await;
    services_on(config, sdk, Budget::Operator)
}

/// The store, the mailer and the secrets on `sdk`, within `budget`.
fn services_on(config: Config, sdk: SdkConfig, budget: Budget) -> Result<Services, ConfigError> {
    let store = DynamoStore::new(dynamodb_client(&sdk, budget), config.tables.clone());
    let ses_sdk = sdk.clone();
    let mailer = SesMailer::new(
        move || ses_client(&ses_sdk, budget),
        config.mail.from.clone(),
    );
    let secrets = SecretsManager::new(sdk, budget);
    Services::new(
        config,
        Arc::new(store),
        Arc::new(mailer),
        Arc::new(SystemClock),
        Arc::new(secrets),
    )
}

/// What a Lambda function's environment holds for the SDK: the region
/// (`AWS_REGION`) and the execution role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). Built from them directly,
/// none of the default chain's other sources is looked up (profile files,
/// SSO, web identity, container and instance metadata: 0.4 ms of a cold
/// start). A service's `AWS_ENDPOINT_URL_<SERVICE>`, where set (the fault
/// runs' proxy), is honoured as the default chain honours it.
pub fn sdk_config_from_lambda_environment(https: Option<SharedHttpClient>) -> SdkConfig {
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .service_config(EndpointsFromEnvironment { env: Env::real() });
    builder.set_region(std::env::var("AWS_REGION").ok().map(Region::new));
    builder.set_http_client(https);
    builder.build()
}

/// A service's settings from the environment alone, looked up by the SDK's
/// own rule (`AWS_ENDPOINT_URL_<SERVICE ID>`, then `AWS_ENDPOINT_URL`), with
/// no profile files.
#[derive(Debug)]
struct EndpointsFromEnvironment {
    env: Env,
}

impl LoadServiceConfig for EndpointsFromEnvironment {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        EnvConfigValue::new()
            .env(key.env())
            .service_id(key.service_id())
            .load(&self.env, None)
            .map(|(value, _)| value.into_owned())
    }
}

/// Secrets Manager's `GetSecretValue`, its client built on the first read.
pub struct SecretsManager {
    client: LazyLock<aws_sdk_secretsmanager::Client, BuildClient<aws_sdk_secretsmanager::Client>>,
}

/// How a client is built when it is first needed.
pub type BuildClient<C> = Box<dyn FnOnce() -> C + Send>;

impl SecretsManager {
    pub fn new(sdk: SdkConfig, budget: Budget) -> Self {
        Self {
            client: LazyLock::new(Box::new(move || secrets_manager_client(&sdk, budget))),
        }
    }
}

#[async_trait]
impl SecretSource for SecretsManager {
    async fn secret_string(&self, id: &str) -> Result<String, SecretError> {
        let client = &*self.client;
        let unavailable = |reason: String| SecretError::Unavailable {
            id: id.to_owned(),
            reason,
        };
        let output = client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| {
                unavailable(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
            })?;
        output
            .secret_string
            .ok_or_else(|| unavailable("it holds no string value".into()))
    }
}

/// DynamoDB within a 10 s Lambda: an answer takes single-digit milliseconds,
/// so an attempt that has not answered in 800 ms is lost (a dropped
/// connection, an overloaded partition) and is better tried again than
/// waited on; three attempts with 50 ms–1 s of jittered backoff ride out a
/// throttle, a 500 or a reset, and 2 s bounds one operation whatever
/// happens, so a request that makes several round trips and an argon2 hash
/// still answers (a 501/500 in its family's shape) well before the Lambda's
/// timeout would cut it off without one. The operator's CLI waits 10 s an
/// attempt and 30 s in all.
pub fn dynamodb_client(sdk: &SdkConfig, budget: Budget) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .timeout_config(timeouts(budget.dynamodb()))
        .retry_config(three_attempts())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// SES v2 sends each notice once, after its change is committed: no retries.
/// `SendEmail` has no idempotency key, and a retry after an attempt whose
/// answer was lost (a reset connection, an attempt timeout after SES
/// accepted it) would mail the user twice; a lost notice is logged and
/// counted (`EmailFailed`), the change stands. One attempt of at most 2 s
/// (SES answers in well under one), 3 s for the whole operation including
/// the connection; for the operator's CLI 10 s and 30 s.
pub fn ses_client(sdk: &SdkConfig, budget: Budget) -> aws_sdk_sesv2::Client {
    let config = aws_sdk_sesv2::config::Builder::from(sdk)
        .timeout_config(timeouts(budget.ses()))
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_sesv2::Client::from_conf(config)
}

/// Three attempts with 50 ms–1 s of jittered backoff (see [`dynamodb_client`]).
fn three_attempts() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(1))
}

/// Secrets Manager reads, retried as DynamoDB's are (a read is idempotent).
pub fn secrets_manager_client(sdk: &SdkConfig, budget: Budget) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::config::Builder::from(sdk)
        .timeout_config(timeouts(budget.secrets()))
        .retry_config(three_attempts())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// A connection within 1 s (an endpoint in the same region answers in
/// milliseconds), each attempt within `attempt`, all of them within `operation`.
fn timeouts((attempt, operation): (Duration, Duration)) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(attempt)
        .operation_timeout(operation)
        .build()
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

    /// The service ids and key are the SDK's own (each client asks with
    /// `service_config_key("<id>", "AWS_ENDPOINT_URL", "endpoint_url")`).
    #[test]
    fn a_lambda_environment_gives_each_service_its_own_endpoint_then_the_common_one() {
        let endpoints = EndpointsFromEnvironment {
            env: Env::from_slice(&[
                ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1"),
                ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:2"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:3"),
            ]),
        };
        let endpoint = |service_id| {
            let key = ServiceConfigKey::builder()
                .service_id(service_id)
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .unwrap();
            endpoints.load_config(key)
        };
        assert_eq!(endpoint("DynamoDB").as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(
            endpoint("Secrets Manager").as_deref(),
            Some("http://127.0.0.1:2")
        );
        assert_eq!(endpoint("SESv2").as_deref(), Some("http://127.0.0.1:3"));
        let nothing_set = EndpointsFromEnvironment {
            env: Env::from_slice(&[]),
        };
        let key = ServiceConfigKey::builder()
            .service_id("DynamoDB")
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .unwrap();
        assert_eq!(nothing_set.load_config(key), None);
    }

    #[test]
    fn dynamodb_retries_within_two_seconds_and_ses_sends_once() {
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-central-1"))
            .build();
        let dynamodb = dynamodb_client(&sdk, Budget::Lambda);
        let config = dynamodb.config();
        assert_eq!(config.retry_config().unwrap().max_attempts(), 3);
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_millis(800))
        );
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(2)));
        let ses = ses_client(&sdk, Budget::Lambda);
        assert_eq!(ses.config().retry_config().unwrap().max_attempts(), 1);
        assert_eq!(
            ses.config().timeout_config().unwrap().operation_timeout(),
            Some(Duration::from_secs(3))
        );
        let operator = dynamodb_client(&sdk, Budget::Operator);
        assert_eq!(
            operator
                .config()
                .timeout_config()
                .unwrap()
                .operation_timeout(),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            ses_client(&sdk, Budget::Operator)
                .config()
                .retry_config()
                .unwrap()
                .max_attempts(),
            1
        );
    }

    #[test]
    fn only_the_local_stacks_setting_lengthens_a_functions_budget() {
        assert_eq!(Budget::for_function(Some("local")), Budget::Local);
        assert_eq!(Budget::for_function(None), Budget::Lambda);
        assert_eq!(Budget::for_function(Some("lambda")), Budget::Lambda);
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-central-1"))
            .build();
        let local = dynamodb_client(&sdk, Budget::Local);
        let timeouts = local.config().timeout_config().unwrap();
        // Longer than the Lambda's, within the function's 10 s timeout.
        assert!(timeouts.operation_timeout().unwrap() > Duration::from_secs(2));
        assert!(timeouts.operation_timeout().unwrap() < Duration::from_secs(10));
        let settings = crate::env_file::read(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../local.env"),
        )
        .unwrap();
        let value = settings
            .iter()
            .find(|(key, _)| key == BUDGET_VARIABLE)
            .map(|(_, value)| value.as_str());
        assert_eq!(Budget::for_function(value), Budget::Local, "local.env");
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

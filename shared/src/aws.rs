//! The AWS side of the wiring: the SDK's HTTPS client and the store and
//! mailer adapters, built once per cold start.

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};

use crate::clock::SystemClock;
use crate::config::{Config, ConfigError, TlsTrust};
use crate::mail::SesMailer;
use crate::services::Services;
use crate::store::DynamoStore;

/// Production wiring: configuration from the environment, AWS clients from
/// the default provider chain (which honours `AWS_ENDPOINT_URL_DYNAMODB`
/// and `AWS_ENDPOINT_URL_SESV2`, how the local stack points at the emulator).
pub async fn services_from_env() -> Result<Services, ConfigError> {
    let config = Config::from_env()?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if config.tls_trust == TlsTrust::AwsRoots {
        loader = loader.http_client(aws_roots_https_client());
    }
    let sdk = loader.load().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.tables.clone());
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&sdk), config.mail.from.clone());
    Services::new(
        config,
        Arc::new(store),
        Arc::new(mailer),
        Arc::new(SystemClock),
    )
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

//! The issuer's key set over HTTPS (the adapter of [`KeySource`]).

use async_trait::async_trait;
use jsonwebtoken::jwk::JwkSet;

use super::{FetchError, KeySource};

/// The largest key set read: a set is a few KiB; more is not a key set.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// The issuer's key set over HTTPS, from a configured `jwks_uri` or the one
/// its OpenID Connect discovery document names (looked up on each refresh,
/// so a moved `jwks_uri` is followed too). The client, on the same rustls
/// stack the AWS SDK uses, is built on the first fetch: a cold start that
/// needs none pays nothing for it.
pub struct IssuerKeys {
    location: Location,
    client: tokio::sync::OnceCell<HttpClient>,
}

enum Location {
    JwksUri(String),
    Discovery { issuer: String },
}

type HttpClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Empty<bytes::Bytes>,
>;

impl IssuerKeys {
    pub fn from_jwks_uri(uri: String) -> Self {
        Self {
            location: Location::JwksUri(uri),
            client: tokio::sync::OnceCell::new(),
        }
    }

    pub fn by_discovery(issuer: String) -> Self {
        Self {
            location: Location::Discovery { issuer },
            client: tokio::sync::OnceCell::new(),
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, FetchError> {
        use http_body_util::BodyExt;
        if !crate::domain::link::is_secure_text(url) {
            return Err(FetchError(format!("not an https URL: {url}")));
        }
        let uri: hyper::Uri = url
            .parse()
            .map_err(|_| FetchError(format!("not a URL: {url}")))?;
        let client = self.client.get_or_try_init(http_client).await?;
        let response = client
            .get(uri)
            .await
            .map_err(|e| FetchError(format!("{url}: {e}")))?;
        if response.status() != hyper::StatusCode::OK {
            return Err(FetchError(format!("{url} answered {}", response.status())));
        }
        let body = http_body_util::Limited::new(response.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|e| FetchError(format!("{url}: {e}")))?
            .to_bytes();
        serde_json::from_slice(&body).map_err(|e| FetchError(format!("{url}: {e}")))
    }
}

async fn http_client() -> Result<HttpClient, FetchError> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| FetchError(format!("no trust roots: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    // No idle connections kept: fetches are a minute apart at least, and a
    // connection kept across a frozen execution environment may be dead when
    // it thaws, which would cost a failed refresh and a minute's floor.
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector),
    )
}

#[derive(serde::Deserialize)]
struct Discovery {
    jwks_uri: String,
}

#[async_trait]
impl KeySource for IssuerKeys {
    async fn fetch(&self) -> Result<JwkSet, FetchError> {
        match &self.location {
            Location::JwksUri(uri) => self.get_json(uri).await,
            Location::Discovery { issuer } => {
                let document = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                let discovered: Discovery = self.get_json(&document).await?;
                self.get_json(&discovered.jwks_uri).await
            }
        }
    }
}

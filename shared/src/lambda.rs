//! What every function's `main` does: logs, then its state once per cold
//! start, then one handler call per request.

use std::future::Future;
use std::sync::Arc;

use lambda_http::{service_fn, Body, Error, Request, Response};

use crate::config::ConfigError;
use crate::services::Services;

/// Serves `handler` with the whole of [`Services`] (store, mailer, tokens).
pub async fn serve<H, F>(handler: H) -> Result<(), Error>
where
    H: Fn(Arc<Services>, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    serve_with(crate::aws::services_from_env(), handler).await
}

/// As [`serve`], for a function that cannot work without the device OTP's
/// settings (P5, P7): without them it does not start, and says why.
pub async fn serve_with_otp<H, F>(handler: H) -> Result<(), Error>
where
    H: Fn(Arc<Services>, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    let build = async {
        let services = crate::aws::services_from_env().await?;
        services.config.require_otp()?;
        Ok(services)
    };
    serve_with(build, handler).await
}

/// Serves `handler` with a state of the function's own choosing, for a
/// function that needs less than [`Services`] (the page, P3).
pub async fn serve_with<S, B, H, F>(build: B, handler: H) -> Result<(), Error>
where
    B: Future<Output = Result<S, ConfigError>>,
    H: Fn(Arc<S>, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    crate::telemetry::init();
    let state = Arc::new(build.await.inspect_err(|error| {
        tracing::error!(%error, "configuration rejected");
    })?);
    lambda_http::run(service_fn(|request| {
        let response = handler(Arc::clone(&state), request);
        async move { Ok::<_, Error>(response.await) }
    }))
    .await
}

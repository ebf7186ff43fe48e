//! What every function's `main` does: logs, then its state once per cold
//! start, then one handler call per request, each measured and closed by its
//! metrics line.

use std::future::Future;
use std::sync::Arc;

use lambda_http::{service_fn, Body, Error, Request, RequestExt, Response};

use crate::aws::Budget;
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, MetricsSettings};
use crate::metrics::{self, Names};
use crate::services::{Need, Services};

/// Serves `handler` with the whole of [`Services`] (store, mailer, tokens),
/// for a function that reads no secret.
pub async fn serve<H, F>(handler: H) -> Result<(), Error>
where
    H: Fn(Arc<Services>, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    serve_needing(&[], handler).await
}

/// As [`serve`], for a function that cannot work without the secrets in
/// `needs`: without their ids it does not start, and says which is missing;
/// with them, it reads them ahead of the first request, concurrently with
/// that request's own work (its token, its first store read).
pub async fn serve_needing<H, F>(needs: &'static [Need], handler: H) -> Result<(), Error>
where
    H: Fn(Arc<Services>, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    let build = async {
        let services = crate::aws::services_from_env(Budget::for_function_from_env()).await?;
        services.require(needs)?;
        Ok(services)
    };
    serve_built(build, handler, |services| {
        if !needs.is_empty() {
            tokio::spawn(async move { services.read_ahead(needs).await });
        }
    })
    .await
}

/// Serves `handler` with a state of the function's own choosing, for a
/// function that needs less than [`Services`] (the page, P3).
pub async fn serve_with<S, B, H, F>(build: B, handler: H) -> Result<(), Error>
where
    B: Future<Output = Result<S, ConfigError>>,
    H: Fn(Arc<S>, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    serve_built(build, handler, drop).await
}

/// The state built, `started` given it, then the requests served.
async fn serve_built<S, B, H, F>(
    build: B,
    handler: H,
    started: impl FnOnce(Arc<S>),
) -> Result<(), Error>
where
    B: Future<Output = Result<S, ConfigError>>,
    H: Fn(Arc<S>, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    crate::telemetry::init();
    let settings = Arc::new(MetricsSettings::from_env());
    let state = Arc::new(build.await.inspect_err(|error| {
        tracing::error!(%error, "configuration rejected");
    })?);
    started(Arc::clone(&state));
    lambda_http::run(service_fn(|request: Request| {
        let (function, request_id) = request
            .lambda_context_ref()
            .map(|context| {
                let function = context.env_config.function_name.clone();
                (function, Some(context.request_id.clone()))
            })
            .unwrap_or_default();
        let settings = Arc::clone(&settings);
        let response = handler(Arc::clone(&state), request);
        async move {
            let response = measured(&settings, &function, request_id.as_deref(), response).await;
            Ok::<_, Error>(response)
        }
    }))
    .await
}

/// One invocation: `answer` measured, its status recorded, and its metrics
/// line written to the log (see [`crate::metrics`]).
pub async fn measured(
    settings: &MetricsSettings,
    function: &str,
    request_id: Option<&str>,
    answer: impl Future<Output = Response<Body>>,
) -> Response<Body> {
    let (response, mut record) = metrics::measure(answer).await;
    record.set_status(response.status().as_u16());
    let names = Names {
        namespace: &settings.namespace,
        service: &settings.service,
        function,
    };
    let line = record.to_emf(&names, SystemClock.now_millis(), request_id);
    crate::telemetry::write_line(&line.to_string());
    response
}

//! What every function's `main` does: logs, configuration and clients once per
//! cold start, then one handler call per request.

use std::future::Future;
use std::sync::Arc;

use lambda_http::{service_fn, Body, Error, Request, Response};

use crate::service::Services;

pub async fn serve<H, F>(handler: H) -> Result<(), Error>
where
    H: Fn(Arc<Services>, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    crate::telemetry::init();
    let services = Services::from_env().await.inspect_err(|error| {
        tracing::error!(%error, "configuration rejected");
    })?;
    lambda_http::run(service_fn(|request| {
        let response = handler(Arc::clone(&services), request);
        async move { Ok::<_, Error>(response.await) }
    }))
    .await
}

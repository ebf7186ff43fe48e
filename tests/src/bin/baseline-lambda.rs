//! The floor for cold-start comparisons: a lambda_http function that does
//! nothing but answer 200. `scripts/cold_start.py` times the service's
//! functions against it in the same run.

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async {
        Ok::<_, Error>(Response::new(Body::from("ok")))
    }))
    .await
}

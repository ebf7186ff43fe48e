//! Structured JSON logs. Each line carries the Lambda request id through the
//! runtime's invocation span. Secrets are never passed to a log macro: request
//! secrets travel as `Secret`, whose Debug hides them.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests) is harmless, so its error is ignored.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .try_init();
}

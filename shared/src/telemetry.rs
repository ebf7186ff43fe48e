//! Structured JSON logs. Each line carries the Lambda request id through the
//! runtime's invocation span. Secrets are never passed to a log macro: request
//! secrets travel as `Secret`, whose Debug hides them.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

pub fn init() {
    init_with_writer(std::io::stdout);
}

/// The same format to another writer: tests read what would be logged.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init is harmless, so its error is ignored.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_writer(writer)
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .try_init();
}

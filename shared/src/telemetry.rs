//! Structured JSON logs. Each line carries the Lambda request id through the
//! runtime's invocation span. Secrets are never passed to a log macro: request
//! secrets travel as `Secret`, whose Debug hides them.
//!
//! Every dependency is held at INFO at most, whatever `RUST_LOG` asks: below
//! it they log what must never be logged (lambda_runtime the raw event, with
//! the JWT and the password in the body, at TRACE; the AWS SDK and its HTTP
//! stack the requests, mail text included, at DEBUG and TRACE; an HTTP client
//! the bodies it reads). More verbosity reaches only the service's own code.
//!
//! Beside the log events, [`write_line`] writes a JSON document of its own
//! (the metrics line) as one line of the same stream.

use std::io::Write;
use std::sync::OnceLock;

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{filter_fn, FilterExt, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The service's own code: the only target more verbose than INFO reaches.
const OWN_CODE: &str = "password_service";

type LineWriter = Box<dyn Fn(&str) + Send + Sync>;

/// Where [`write_line`] writes: the log's own writer, once one is installed.
static LINES: OnceLock<LineWriter> = OnceLock::new();

pub fn init() {
    init_with_writer(std::io::stdout);
}

/// The same format to another writer: tests read what would be logged.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    init_with(writer, &directives);
}

/// As [`init_with_writer`], with `directives` in `RUST_LOG`'s syntax: a
/// default level and `target=level` pairs, comma-separated (no span or field
/// filters); what does not parse logs at INFO.
pub fn init_with<W>(writer: W, directives: &str)
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(writer.clone())
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false);
    let filter = targets(directives).and(filter_fn(dependencies_at_info));
    // A second init is harmless, so its error is ignored.
    let installed = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
    if installed.is_ok() {
        let _ = LINES.set(Box::new(move |line| {
            // One write, so the line cannot interleave with a log event.
            let _ = writer
                .make_writer()
                .write_all(format!("{line}\n").as_bytes());
        }));
    }
}

/// `directives` as a filter; INFO for all where they do not parse.
fn targets(directives: &str) -> Targets {
    directives
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(Level::INFO))
}

/// Writes `line` (one JSON document, no newline in it) to the log's stream;
/// standard output before any log is installed.
pub fn write_line(line: &str) {
    match LINES.get() {
        Some(write) => write(line),
        // println! rather than a raw write: a test harness captures it.
        None => println!("{line}"),
    }
}

/// Whether an event or span may pass on account of where it comes from: the
/// service's own at any level, every dependency's at INFO or above.
fn dependencies_at_info(metadata: &Metadata<'_>) -> bool {
    metadata.target().starts_with(OWN_CODE) || *metadata.level() <= Level::INFO
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which of a TRACE event of a dependency's and of the service's pass
    /// `directives`, and whether a dependency's INFO does.
    fn passes(directives: &str) -> (bool, bool, bool) {
        let filter = targets(directives).and(filter_fn(dependencies_at_info));
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_filter(filter));
        tracing::subscriber::with_default(subscriber, || {
            (
                tracing::enabled!(target: "lambda_runtime::layers", Level::TRACE),
                tracing::enabled!(target: "password_service::flows", Level::TRACE),
                tracing::enabled!(target: "aws_smithy_runtime", Level::INFO),
            )
        })
    }

    #[test]
    fn trace_reaches_the_service_but_never_the_dependencies() {
        assert_eq!(passes("trace"), (false, true, true));
        assert_eq!(
            passes("info,lambda_runtime=trace,aws_smithy_runtime=trace"),
            (false, false, true)
        );
        assert_eq!(
            passes("ureq=trace,password_service=trace"),
            (false, true, false)
        );
    }

    #[test]
    fn a_quieter_setting_is_not_made_louder() {
        assert_eq!(passes("warn"), (false, false, false));
    }

    #[test]
    fn a_setting_that_does_not_parse_logs_at_info() {
        assert_eq!(passes("password_service=loud"), (false, false, true));
    }
}

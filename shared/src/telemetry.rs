//! Structured JSON logs. Each line carries the Lambda request id through the
//! runtime's invocation span. Secrets are never passed to a log macro: request
//! secrets travel as `Secret`, whose Debug hides them.
//!
//! The dependencies are held at INFO at most, whatever `RUST_LOG` asks: below
//! it they log what must never be logged (lambda_runtime the raw event, with
//! the JWT and the password in the body, at TRACE; the AWS SDK and its HTTP
//! stack the requests, mail text included, at DEBUG and TRACE). More
//! verbosity reaches only the service's own code.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The crates held at INFO at most (see the module comment).
const DEPENDENCIES: &[&str] = &[
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "aws_config",
    "aws_runtime",
    "aws_sigv4",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_json",
    "aws_smithy_types",
    "aws_sdk_dynamodb",
    "aws_sdk_sesv2",
    "aws_sdk_sts",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "tower",
];

pub fn init() {
    init_with_writer(std::io::stdout);
}

/// The same format to another writer: tests read what would be logged.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    init_with(writer, &directives);
}

/// As [`init_with_writer`], with `directives` in `RUST_LOG`'s syntax.
pub fn init_with<W>(writer: W, directives: &str)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // A second init is harmless, so its error is ignored.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_writer(writer)
        .with_env_filter(filter(directives))
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .try_init();
}

/// `directives`, with every dependency held at INFO (or less, where the
/// directives ask for less overall).
pub fn filter(directives: &str) -> EnvFilter {
    let filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let cap = filter
        .max_level_hint()
        .map_or(LevelFilter::INFO, |hint| hint.min(LevelFilter::INFO));
    DEPENDENCIES.iter().fold(filter, |filter, target| {
        filter.add_directive(
            format!("{target}={cap}")
                .parse()
                .expect("a target and a level make a directive"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    /// Which of a TRACE event of `target`'s and of the service's pass `directives`.
    fn passes(directives: &str) -> (bool, bool) {
        let subscriber = tracing_subscriber::registry().with(filter(directives));
        tracing::subscriber::with_default(subscriber, || {
            (
                tracing::enabled!(target: "lambda_runtime::layers", tracing::Level::TRACE),
                tracing::enabled!(target: "password_service::flows", tracing::Level::TRACE),
            )
        })
    }

    #[test]
    fn trace_reaches_the_service_but_never_the_dependencies() {
        assert_eq!(passes("trace"), (false, true));
        assert_eq!(
            passes("info,lambda_runtime=trace,aws_smithy_runtime=trace"),
            (false, false)
        );
        assert_eq!(passes("lambda_runtime=trace"), (false, false));
    }

    #[test]
    fn a_quieter_setting_is_not_made_louder() {
        let subscriber = tracing_subscriber::registry().with(filter("warn"));
        let info_passes = tracing::subscriber::with_default(
            subscriber,
            || tracing::enabled!(target: "lambda_runtime", tracing::Level::INFO),
        );
        assert!(!info_passes);
    }
}

//! Structured JSON logs. Each line carries the Lambda request id through the
//! runtime's invocation span. Secrets are never passed to a log macro: request
//! secrets travel as `Secret`, whose Debug hides them.
//!
//! Beside the log events, [`write_line`] writes a JSON document of its own
//! (the metrics line) as one line of the same stream.

use std::io::Write;
use std::sync::OnceLock;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

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
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init is harmless, so its error is ignored.
    let installed = tracing_subscriber::fmt()
        .json()
        .with_writer(writer.clone())
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
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

/// Writes `line` (one JSON document, no newline in it) to the log's stream;
/// standard output before any log is installed.
pub fn write_line(line: &str) {
    match LINES.get() {
        Some(write) => write(line),
        // println! rather than a raw write: a test harness captures it.
        None => println!("{line}"),
    }
}

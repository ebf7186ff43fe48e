//! The process's log, captured: installed once by the first test that asks,
//! so every test that reads the log reads the same one (beside what the
//! other tests running in parallel log).

use std::io::Write;
use std::sync::{Arc, LazyLock, Mutex};

use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything logged since the capture was installed.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("the log is UTF-8")
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

static CAPTURE: LazyLock<CapturedLogs> = LazyLock::new(|| {
    let capture = CapturedLogs::default();
    // As RUST_LOG=trace would: the most a misconfigured stage could log.
    password_service::telemetry::init_with(capture.clone(), "trace");
    capture
});

/// The log as the functions write it (JSON events and metrics lines).
pub fn captured_logs() -> &'static CapturedLogs {
    &CAPTURE
}

/// The metrics line the invocation with `request_id` wrote (exactly one).
pub fn metrics_line(request_id: &str) -> serde_json::Value {
    let found: Vec<serde_json::Value> = CAPTURE
        .text()
        .lines()
        .filter(|line| line.contains(request_id))
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|document| document["requestId"] == request_id)
        .collect();
    assert_eq!(found.len(), 1, "one metrics line for {request_id}");
    found.into_iter().next().unwrap()
}

/// Whether `needle` stands in `text` as a token of its own: not inside a
/// longer run of letters, digits, `_` or `-` (a hex digest, an id, a UUID's
/// group, a timestamp), so a 4-digit PIN is found where it was logged — in a
/// JSON string, a query string, free text — and not by chance inside an id.
pub fn contains_standalone(text: &str, needle: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices(needle).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + needle.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

#[cfg(test)]
mod tests {
    use super::contains_standalone;

    #[test]
    fn a_pin_is_found_where_it_was_logged_and_not_inside_ids() {
        for logged in [
            r#"{"body":"{\"pin\":\"2468\"}"}"#,
            "PUT /user/password/reset?pin=2468&x=1",
            "wrong PIN 2468 for user",
            r#"{"pin":2468}"#,
        ] {
            assert!(contains_standalone(logged, "2468"), "{logged}");
        }
        for chance in [
            r#"{"userId":"5f2468ab0c"}"#,
            r#"{"_aws":{"Timestamp":1796612468123}}"#,
            r#"{"requestId":"metrics-a2468b-wrong"}"#,
            "9b61c734-2468-48ad-b011-97867ff3d683",
        ] {
            assert!(!contains_standalone(chance, "2468"), "{chance}");
        }
    }
}

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

//! Metrics per invocation, as one CloudWatch embedded-metric-format (EMF)
//! line in the function's JSON log: CloudWatch Logs extracts the metrics from
//! it, so they cost no call and no latency.
//!
//! An invocation runs inside [`measure`]; the few places that see an outcome
//! add to its [`Record`] through the free functions below, which do nothing
//! outside an invocation (the operator CLI, unit tests):
//!
//! | what | recorded in |
//! |---|---|
//! | status family, `rate_limited` (a 429) | the boundary, `lambda::measured` |
//! | `password_set`, `critical_data_deleted` | `Services::notify` (every such change sends its notice) |
//! | `pin_wrong`, `otp_wrong` | the PIN rule's failure step, `flows::pin_proof` |
//! | `email_sent`, `email_failed` | the SES adapter |
//! | argon2 time | the hasher |
//! | DynamoDB round trips | an interceptor on the store's DynamoDB client (every HTTP attempt, SDK retries included) |
//!
//! Beside the metrics, the line carries properties CloudWatch does not turn
//! into metrics (free, searchable in Logs Insights): `status`, `requestId`,
//! `handlerMs` (the handler's time, argon2 included) and `argon2Runs` (with
//! `argon2_ms`, when a hash ran). `make bench` reads them per outcome.
//!
//! The line holds counts, durations, the function's name and the request id:
//! nothing a caller sent, so no secret can reach it.

use std::cell::RefCell;
use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

tokio::task_local! {
    static CURRENT: RefCell<Record>;
}

/// A domain outcome an operator counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A password was set, changed or reset.
    PasswordSet,
    /// A wrong PIN was counted on the user's failure counter.
    PinWrong,
    /// A wrong device OTP was counted on the same counter (SPEC section 5).
    OtpWrong,
    /// A user's payment methods were deleted (the PIN rule, or a skipped proof).
    CriticalDataDeleted,
    /// A request was refused by a rate limit (429).
    RateLimited,
    EmailSent,
    EmailFailed,
    /// The issuer's signing keys were fetched (a token named a key not cached).
    JwksRefreshed,
    /// A fetch of the issuer's keys failed; the cached keys stayed.
    JwksRefreshFailed,
}

impl Outcome {
    pub const ALL: [Outcome; 9] = [
        Outcome::PasswordSet,
        Outcome::PinWrong,
        Outcome::OtpWrong,
        Outcome::CriticalDataDeleted,
        Outcome::RateLimited,
        Outcome::EmailSent,
        Outcome::EmailFailed,
        Outcome::JwksRefreshed,
        Outcome::JwksRefreshFailed,
    ];

    /// The metric's name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::PasswordSet => "password_set",
            Outcome::PinWrong => "pin_wrong",
            Outcome::OtpWrong => "otp_wrong",
            Outcome::CriticalDataDeleted => "critical_data_deleted",
            Outcome::RateLimited => "rate_limited",
            Outcome::EmailSent => "email_sent",
            Outcome::EmailFailed => "email_failed",
            Outcome::JwksRefreshed => "jwks_refreshed",
            Outcome::JwksRefreshFailed => "jwks_refresh_failed",
        }
    }
}

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    status: Option<u16>,
    outcomes: [u32; Outcome::ALL.len()],
    argon2: Duration,
    argon2_runs: u32,
    dynamodb_round_trips: u32,
    /// The handler's time, from its first poll to its answer.
    handler: Duration,
}

/// Counts `outcome` for the current invocation.
pub fn record(outcome: Outcome) {
    with_current(|r| r.outcomes[outcome as usize] += 1);
}

/// Adds one argon2 hash or verification that took `elapsed`.
pub fn record_argon2(elapsed: Duration) {
    with_current(|r| {
        r.argon2 += elapsed;
        r.argon2_runs += 1;
    });
}

/// Counts one HTTP request to DynamoDB.
pub fn record_dynamodb_round_trip() {
    with_current(|r| r.dynamodb_round_trips += 1);
}

fn with_current(change: impl FnOnce(&mut Record)) {
    // Outside an invocation there is nothing to add to.
    let _ = CURRENT.try_with(|record| change(&mut record.borrow_mut()));
}

/// Runs `work` as one invocation, and returns what it recorded with its result.
pub async fn measure<T>(work: impl Future<Output = T>) -> (T, Record) {
    CURRENT
        .scope(RefCell::new(Record::default()), async {
            let started = Instant::now();
            let output = work.await;
            let handler = started.elapsed();
            let mut record = CURRENT.with(|record| record.take());
            record.handler = handler;
            (output, record)
        })
        .await
}

/// Where the metrics go: the CloudWatch namespace, and the values of the
/// two dimensions (every metric is published per service and per function).
#[derive(Debug, Clone)]
pub struct Names<'a> {
    pub namespace: &'a str,
    /// The deployment (the stack): one stage's metrics apart from another's.
    pub service: &'a str,
    pub function: &'a str,
}

/// The status families counted; the service answers no other.
const STATUS_FAMILIES: [(u16, &str); 3] = [(2, "status_2xx"), (4, "status_4xx"), (5, "status_5xx")];

/// Every metric a line can carry, for what reads them (alarms, dashboard).
pub fn metric_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = STATUS_FAMILIES.iter().map(|(_, name)| *name).collect();
    names.extend(Outcome::ALL.iter().map(|outcome| outcome.name()));
    names.extend(["dynamodb_round_trips", "argon2_ms"]);
    names
}

impl Record {
    /// The status the invocation answered.
    pub fn set_status(&mut self, status: u16) {
        self.status = Some(status);
        if status == 429 {
            self.outcomes[Outcome::RateLimited as usize] += 1;
        }
    }

    pub fn count(&self, outcome: Outcome) -> u32 {
        self.outcomes[outcome as usize]
    }

    pub fn dynamodb_round_trips(&self) -> u32 {
        self.dynamodb_round_trips
    }

    /// The EMF document: the `_aws` metadata naming each metric, and each
    /// metric and dimension as a top-level member. Status families and round
    /// trips are always present; a domain outcome only when it happened, and
    /// argon2 time only when a hash ran (as AWS's own EMF libraries do), so a
    /// function publishes only the metrics it produces.
    pub fn to_emf(&self, names: &Names, timestamp_millis: i64, request_id: Option<&str>) -> Value {
        let mut members = Map::new();
        let mut definitions = Vec::new();
        let mut metric = |name: &str, unit: &str, value: Value| {
            definitions.push(json!({ "Name": name, "Unit": unit }));
            members.insert(name.to_string(), value);
        };
        let family = self.status.map(|s| s / 100);
        for (digit, name) in STATUS_FAMILIES {
            metric(name, "Count", json!(u32::from(family == Some(digit))));
        }
        for outcome in Outcome::ALL {
            let count = self.count(outcome);
            if count > 0 {
                metric(outcome.name(), "Count", json!(count));
            }
        }
        metric(
            "dynamodb_round_trips",
            "Count",
            json!(self.dynamodb_round_trips),
        );
        if self.argon2_runs > 0 {
            metric("argon2_ms", "Milliseconds", json!(millis(self.argon2)));
        }
        members.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_millis,
                "CloudWatchMetrics": [{
                    "Namespace": names.namespace,
                    "Dimensions": [["Service"], ["Service", "Function"]],
                    "Metrics": definitions,
                }],
            }),
        );
        members.insert("Service".into(), json!(names.service));
        members.insert("Function".into(), json!(names.function));
        // Properties: searchable in Logs Insights, not metrics.
        if let Some(status) = self.status {
            members.insert("status".into(), json!(status));
        }
        if let Some(id) = request_id {
            members.insert("requestId".into(), json!(id));
        }
        members.insert("handlerMs".into(), json!(millis(self.handler)));
        if self.argon2_runs > 0 {
            members.insert("argon2Runs".into(), json!(self.argon2_runs));
        }
        Value::Object(members)
    }
}

/// Milliseconds to two decimals.
fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: Names<'static> = Names {
        namespace: "PasswordService",
        service: "password-service",
        function: "set-pin",
    };

    #[tokio::test]
    async fn what_an_invocation_records_comes_back_with_its_result() {
        let (answer, recorded) = measure(async {
            record(Outcome::PinWrong);
            record(Outcome::EmailSent);
            record(Outcome::EmailSent);
            record_dynamodb_round_trip();
            record_argon2(Duration::from_millis(40));
            "done"
        })
        .await;
        assert_eq!(answer, "done");
        assert_eq!(recorded.count(Outcome::PinWrong), 1);
        assert_eq!(recorded.count(Outcome::EmailSent), 2);
        assert_eq!(recorded.count(Outcome::PasswordSet), 0);
        assert_eq!(recorded.dynamodb_round_trips(), 1);
    }

    #[tokio::test]
    async fn invocations_do_not_share_a_record() {
        let (_, first) = measure(async { record(Outcome::PasswordSet) }).await;
        let (_, second) = measure(async {}).await;
        assert_eq!(first.count(Outcome::PasswordSet), 1);
        assert_eq!(
            Record {
                handler: Duration::ZERO,
                ..second
            },
            Record::default()
        );
    }

    #[tokio::test]
    async fn the_handler_time_is_measured_around_the_work() {
        let (_, recorded) = measure(tokio::time::sleep(Duration::from_millis(5))).await;
        assert!(recorded.handler >= Duration::from_millis(5));
    }

    #[test]
    fn outside_an_invocation_nothing_is_recorded_and_nothing_fails() {
        record(Outcome::EmailFailed);
        record_dynamodb_round_trip();
    }

    #[test]
    fn the_document_names_every_metric_it_carries_and_only_those() {
        let mut record = Record::default();
        record.set_status(429);
        record.dynamodb_round_trips = 1;
        let document = record.to_emf(&NAMES, 1_700_000_000_000, Some("req-1"));
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "status_2xx",
                "status_4xx",
                "status_5xx",
                "rate_limited",
                "dynamodb_round_trips"
            ]
        );
        assert_eq!(document["status_4xx"], 1);
        assert_eq!(document["status_2xx"], 0);
        assert_eq!(document["rate_limited"], 1);
        assert_eq!(document["Function"], "set-pin");
        assert_eq!(document["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        assert!(document.get("argon2_ms").is_none());
        assert!(document.get("pin_wrong").is_none());
    }

    #[test]
    fn argon2_time_is_in_milliseconds() {
        let record = Record {
            argon2: Duration::from_micros(45_678),
            argon2_runs: 1,
            ..Record::default()
        };
        let document = record.to_emf(&NAMES, 0, None);
        assert_eq!(document["argon2_ms"], 45.68);
        assert!(document.get("requestId").is_none());
    }

    #[test]
    fn handler_time_and_argon2_runs_are_properties_not_metrics() {
        let record = Record {
            argon2: Duration::from_millis(44),
            argon2_runs: 2,
            handler: Duration::from_micros(51_234),
            ..Record::default()
        };
        let document = record.to_emf(&NAMES, 0, None);
        assert_eq!(document["handlerMs"], 51.23);
        assert_eq!(document["argon2Runs"], 2);
        let metrics = document["_aws"]["CloudWatchMetrics"][0]["Metrics"].to_string();
        assert!(!metrics.contains("handlerMs") && !metrics.contains("argon2Runs"));
        let without_hash = Record::default().to_emf(&NAMES, 0, None);
        assert_eq!(without_hash["handlerMs"], 0.0);
        assert!(without_hash.get("argon2Runs").is_none());
    }
}

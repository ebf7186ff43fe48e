//! The metrics lines: every invocation writes one CloudWatch embedded metric
//! format (EMF) document to the log, valid by the EMF specification, counting
//! what the invocation did, and holding no secret. Read from the process's
//! captured log, as CloudWatch Logs would read it.

use std::collections::{BTreeSet, HashMap};

use integration_tests::{
    captured_logs, contains_standalone, local_secret_key, spawn_app, spawn_app_unreachable,
    unique_email, Endpoint, TestApp,
};
use password_service::clock::{Clock, SystemClock};
use password_service::domain::random_hex;
use serde_json::{json, Value};

const PIN: &str = "2468";
const WRONG_PIN: &str = "1357";
const PASSWORD: &str = "amber-harbor-lighthouse-7";
const NEW_PASSWORD: &str = "quiet-meadow-tractor-51";

/// CloudWatch's units (`MetricDatum`'s `Unit`).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// The violations of the EMF specification in `line` (one log event).
fn emf_violations(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(Value::Object(root)) = serde_json::from_str::<Value>(line) else {
        return vec!["the event is not a JSON object".into()];
    };
    if line.len() > 256 * 1024 {
        found.push("over the 256 KB of a log event".into());
    }
    let metadata = &root["_aws"];
    let now = SystemClock.now_millis();
    match metadata["Timestamp"].as_i64() {
        Some(at) if (at - now).abs() < 3_600_000 => {}
        _ => found.push("_aws.Timestamp is not the current time in epoch milliseconds".into()),
    }
    let Some(directives) = metadata["CloudWatchMetrics"].as_array() else {
        found.push("_aws.CloudWatchMetrics is not an array".into());
        return found;
    };
    if directives.is_empty() {
        found.push("_aws.CloudWatchMetrics is empty".into());
    }
    for directive in directives {
        let members: BTreeSet<&str> = directive
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        if !members.is_subset(&BTreeSet::from(["Namespace", "Dimensions", "Metrics"])) {
            found.push(format!(
                "a MetricDirective has unknown members: {members:?}"
            ));
        }
        match directive["Namespace"].as_str() {
            Some(namespace) if !namespace.is_empty() && namespace.len() <= 255 => {}
            _ => found.push("Namespace is not a string of 1 to 255 characters".into()),
        }
        for set in directive["Dimensions"].as_array().into_iter().flatten() {
            let Some(keys) = set.as_array() else {
                found.push("a DimensionSet is not an array".into());
                continue;
            };
            if keys.is_empty() || keys.len() > 30 {
                found.push("a DimensionSet has not 1 to 30 keys".into());
            }
            for key in keys {
                let value = key.as_str().and_then(|k| root.get(k));
                if value.and_then(Value::as_str).is_none_or(str::is_empty) {
                    found.push(format!("dimension {key} is not a top-level string member"));
                }
            }
        }
        if !directive["Dimensions"].is_array() {
            found.push("Dimensions is not an array".into());
        }
        let Some(metrics) = directive["Metrics"].as_array() else {
            found.push("Metrics is not an array".into());
            continue;
        };
        if metrics.is_empty() || metrics.len() > 100 {
            found.push("Metrics has not 1 to 100 definitions".into());
        }
        for definition in metrics {
            let name = definition["Name"].as_str().unwrap_or_default();
            if name.is_empty() || name.len() > 1024 {
                found.push("a MetricDefinition's Name is not 1 to 1024 characters".into());
            }
            match root.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(values))
                    if values.len() <= 100 && values.iter().all(Value::is_number) => {}
                _ => found.push(format!("metric {name} is not a top-level number")),
            }
            if let Some(unit) = definition.get("Unit") {
                if !unit.as_str().is_some_and(|u| UNITS.contains(&u)) {
                    found.push(format!("metric {name}: {unit} is not a CloudWatch unit"));
                }
            }
            let members: BTreeSet<&str> = definition
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            if !members.is_subset(&BTreeSet::from(["Name", "Unit", "StorageResolution"])) {
                found.push(format!("metric {name} has unknown members: {members:?}"));
            }
        }
    }
    found
}

/// The metrics line of each request id that starts with `prefix`, checking
/// that each request wrote exactly one.
fn lines_of(prefix: &str) -> HashMap<String, (String, Value)> {
    let mut lines = HashMap::new();
    for line in captured_logs().text().lines() {
        let Ok(document) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(id) = document["requestId"].as_str() else {
            continue;
        };
        if id.starts_with(prefix) {
            let earlier = lines.insert(id.to_string(), (line.to_string(), document.clone()));
            assert!(earlier.is_none(), "two metrics lines for {id}");
        }
    }
    lines
}

fn metric(document: &Value, name: &str) -> u64 {
    document.get(name).and_then(Value::as_u64).unwrap_or(0)
}

async fn send(app: &TestApp, endpoint: Endpoint, id: &str, bearer: &str, body: Value) -> u16 {
    app.call(endpoint)
        .request_id(id)
        .bearer(bearer)
        .json(&body)
        .send()
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn every_call_writes_one_valid_emf_line_counting_its_outcomes_and_no_secret() {
    captured_logs();
    let app = spawn_app().await;
    let hash = app.hash_of(PASSWORD).await;
    let user = app
        .create_user_with_pin(&unique_email("metrics"), PIN, |u| {
            u.password_hash = Some(hash);
            u.payment_methods = vec!["pm_card_visa_4242".into()];
        })
        .await;
    let jwt = app.token_for(user.id.as_str());
    let run = format!("metrics-{}", random_hex(6));
    let id = |step: &str| format!("{run}-{step}");

    let wrong = json!({ "pin": WRONG_PIN });
    assert_eq!(
        send(&app, Endpoint::P5, &id("wrong"), &jwt, wrong.clone()).await,
        422
    );
    let reset = json!({ "password": NEW_PASSWORD, "pin": PIN });
    assert_eq!(
        send(&app, Endpoint::P4, &id("reset"), &jwt, reset).await,
        204
    );
    // The reset ended older sessions.
    let jwt = app.token_for(user.id.as_str());
    for step in ["w1", "w2", "w3"] {
        assert_eq!(
            send(&app, Endpoint::P5, &id(step), &jwt, wrong.clone()).await,
            422
        );
    }
    assert_eq!(
        send(&app, Endpoint::P5, &id("deleted"), &jwt, wrong).await,
        410
    );
    let no_password = app.create_user(&unique_email("metrics.limit")).await;
    let link_jwt = app.token_for(no_password.id.as_str());
    for attempt in 1..=5 {
        let step = format!("link{attempt}");
        assert_eq!(
            send(&app, Endpoint::P1, &id(&step), &link_jwt, json!({})).await,
            202
        );
    }
    assert_eq!(
        send(&app, Endpoint::P1, &id("limited"), &link_jwt, json!({})).await,
        429
    );
    let unauthenticated = send(&app, Endpoint::P6, &id("anonymous"), "not-a-jwt", json!({})).await;
    assert_eq!(unauthenticated, 401);

    let lines = lines_of(&run);
    assert_eq!(lines.len(), 13, "one line per call: {:?}", lines.keys());
    let pepper = local_secret_key("PEPPER");
    let secrets = [
        PASSWORD,
        NEW_PASSWORD,
        jwt.as_str(),
        jwt.rsplit('.').next().unwrap(),
        link_jwt.as_str(),
        pepper.as_str(),
    ];
    let carried: BTreeSet<&str> = BTreeSet::from([
        "_aws",
        "Service",
        "Function",
        "status",
        "requestId",
        "handlerMs",
        "argon2Runs",
        "status_2xx",
        "status_4xx",
        "status_5xx",
        "dynamodb_round_trips",
        "argon2_ms",
        "password_set",
        "pin_wrong",
        "critical_data_deleted",
        "rate_limited",
        "email_sent",
        "email_failed",
    ]);
    for (id, (line, document)) in &lines {
        assert_eq!(emf_violations(line), Vec::<String>::new(), "{id}: {line}");
        for secret in secrets {
            assert!(!line.contains(secret), "{id} carries a secret: {line}");
        }
        // A PIN's 4 digits can stand inside a timestamp or a request id by
        // chance: looked for as a value of their own.
        for pin in [PIN, WRONG_PIN] {
            assert!(
                !contains_standalone(line, pin),
                "{id} carries a PIN: {line}"
            );
        }
        let members: BTreeSet<&str> = document
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(members.is_subset(&carried), "{id}: {members:?}");
        let families = metric(document, "status_2xx")
            + metric(document, "status_4xx")
            + metric(document, "status_5xx");
        assert_eq!(families, 1, "{id}: one status family");
    }

    let line = |step: &str| &lines[&id(step)].1;
    let first_wrong = line("wrong");
    assert_eq!(first_wrong["Function"], "password-reset-callback");
    assert_eq!(first_wrong["status"], 422);
    assert_eq!(metric(first_wrong, "status_4xx"), 1);
    assert_eq!(metric(first_wrong, "pin_wrong"), 1);
    // The caller and the counter in one BatchGetItem, the failure in one write.
    assert_eq!(metric(first_wrong, "dynamodb_round_trips"), 2);
    assert!(first_wrong.get("argon2_ms").is_none());

    let reset = line("reset");
    assert_eq!(reset["Function"], "password-reset-with-pin");
    assert_eq!(metric(reset, "status_2xx"), 1);
    assert_eq!(metric(reset, "password_set"), 1);
    assert_eq!(metric(reset, "email_sent"), 1, "the notice");
    assert!(reset["argon2_ms"].as_f64().unwrap() > 0.0);
    // The PIN's verification and the new password's hash.
    assert_eq!(reset["argon2Runs"], 2);
    assert!(reset["handlerMs"].as_f64().unwrap() >= reset["argon2_ms"].as_f64().unwrap());
    assert_eq!(metric(reset, "pin_wrong"), 0);

    let deleted = line("deleted");
    assert_eq!(deleted["status"], 410);
    assert_eq!(metric(deleted, "pin_wrong"), 1);
    assert_eq!(metric(deleted, "critical_data_deleted"), 1);
    assert_eq!(metric(deleted, "email_sent"), 1, "the notice");
    assert_eq!(metric(line("w3"), "critical_data_deleted"), 0);

    assert_eq!(metric(line("link1"), "email_sent"), 1, "the link");
    let limited = line("limited");
    assert_eq!(limited["Function"], "set-password-request");
    assert_eq!(metric(limited, "rate_limited"), 1);
    assert_eq!(metric(limited, "email_sent"), 0);
    assert_eq!(metric(line("anonymous"), "dynamodb_round_trips"), 0);
    assert_eq!(metric(line("anonymous"), "rate_limited"), 0);
}

#[tokio::test]
async fn an_email_that_cannot_be_sent_counts_as_failed() {
    captured_logs();
    let app = spawn_app().await;
    let user = app.create_user(&unique_email("metrics.mailless")).await;
    let unreachable = spawn_app_unreachable("AWS_ENDPOINT_URL_SESV2").await;
    let run = format!("metrics-{}", random_hex(6));
    let bearer = unreachable.token_for(user.id.as_str());
    let status = unreachable
        .call(Endpoint::P1)
        .request_id(&run)
        .bearer(&bearer)
        .send()
        .await
        .status();
    assert_eq!(status, 501, "P1's link email is the point of the call");
    let lines = lines_of(&run);
    let document = &lines[&run].1;
    assert_eq!(metric(document, "email_failed"), 1);
    assert_eq!(metric(document, "email_sent"), 0);
    assert_eq!(metric(document, "status_5xx"), 1);
}

#[test]
fn the_checker_rejects_what_cloudwatch_would_not_extract() {
    let valid = json!({
        "_aws": {
            "Timestamp": SystemClock.now_millis(),
            "CloudWatchMetrics": [{
                "Namespace": "PasswordService",
                "Dimensions": [["Function"]],
                "Metrics": [{"Name": "pin_wrong", "Unit": "Count"}],
            }],
        },
        "Function": "set-pin",
        "pin_wrong": 1,
    });
    assert_eq!(emf_violations(&valid.to_string()), Vec::<String>::new());
    let broken = |change: &dyn Fn(&mut Value)| {
        let mut document = valid.clone();
        change(&mut document);
        emf_violations(&document.to_string())
    };
    assert!(!broken(&|d| d["_aws"]["Timestamp"] = json!("now")).is_empty());
    assert!(!broken(&|d| d["pin_wrong"] = json!("1")).is_empty());
    assert!(!broken(&|d| {
        d.as_object_mut().unwrap().remove("Function");
    })
    .is_empty());
    assert!(
        !broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("ms"))
            .is_empty()
    );
    assert!(!broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!("")).is_empty());
    assert!(!emf_violations("not json").is_empty());
}

/// The template's alarms and dashboard read the metrics the lines carry: a
/// name they use that no line carries would stay empty forever.
#[test]
fn the_alarms_and_the_dashboard_read_the_metrics_the_functions_write() {
    let text =
        std::fs::read_to_string(integration_tests::repo_root().join("template.yaml")).unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let written: BTreeSet<&str> = password_service::metrics::metric_names()
        .into_iter()
        .collect();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        variables["METRICS_NAMESPACE"].as_str(),
        Some("PasswordService")
    );

    let mut read = BTreeSet::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        let properties = &resource["Properties"];
        if resource["Type"] == "AWS::CloudWatch::Alarm"
            && properties["Namespace"] == "PasswordService"
        {
            read.insert(properties["MetricName"].as_str().unwrap().to_string());
        }
    }
    assert!(read.len() >= 3, "alarms on the service's metrics: {read:?}");
    let dashboard = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
        .as_str()
        .expect("the dashboard body, a !Sub string");
    let shown: BTreeSet<String> = dashboard
        .split("[\"PasswordService\", \"")
        .skip(1)
        .chain(dashboard.split("[\".\", \"").skip(1))
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .collect();
    read.extend(shown.iter().cloned());
    for name in &read {
        assert!(
            written.contains(name.as_str()),
            "{name} is read but never written"
        );
    }
    for name in &written {
        assert!(shown.contains(*name), "the dashboard does not show {name}");
    }
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] == "AWS::Serverless::Function" {
            let name = name.as_str().unwrap();
            assert!(
                dashboard.matches(&format!("${{{name}}}")).count() >= 2,
                "the dashboard's 4xx and 5xx by function lack {name}"
            );
        }
    }
}

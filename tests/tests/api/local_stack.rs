//! The local stack matches the deployed one: the emulator holds exactly the
//! tables template.yaml defines (keys, TTL), and every function of the
//! template is a binary of the workspace and a route of `cargo lambda watch`.

use std::collections::{BTreeMap, BTreeSet};

use integration_tests::{local_settings, repo_root};
use serde_yaml::Value;

fn template() -> Value {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// `!Ref X` parses as a tagged value; its target's name.
fn ref_target(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "!Ref" => tagged.value.as_str().map(String::from),
        _ => None,
    }
}

/// (attribute, key type, attribute type) for each key of a table.
type KeySchema = Vec<(String, String, String)>;

/// table environment variable → (key schema, TTL attribute) per the template.
fn template_tables() -> BTreeMap<String, (KeySchema, Option<String>)> {
    let template = template();
    let resources = &template["Resources"];
    let variables = template["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap();
    let mut tables = BTreeMap::new();
    for (name, value) in variables {
        let Some(target) = ref_target(value) else {
            continue;
        };
        let resource = &resources[target.as_str()];
        if resource["Type"] != "AWS::DynamoDB::Table" {
            continue;
        }
        let props = &resource["Properties"];
        let types: BTreeMap<String, String> = props["AttributeDefinitions"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["AttributeName"].as_str().unwrap().into(),
                    d["AttributeType"].as_str().unwrap().into(),
                )
            })
            .collect();
        let keys = props["KeySchema"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|k| {
                let attribute = k["AttributeName"].as_str().unwrap().to_string();
                (
                    attribute.clone(),
                    k["KeyType"].as_str().unwrap().to_string(),
                    types[&attribute].clone(),
                )
            })
            .collect();
        let ttl = props["TimeToLiveSpecification"]["AttributeName"]
            .as_str()
            .map(String::from);
        tables.insert(name.as_str().unwrap().to_string(), (keys, ttl));
    }
    tables
}

#[tokio::test]
async fn the_emulator_holds_exactly_the_tables_of_the_template() {
    let settings = local_settings();
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_sdk_dynamodb::config::Region::new(
            settings["AWS_REGION"].clone(),
        ))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new("local", "local", None, None, "tests"),
        ))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .endpoint_url(&settings["AWS_ENDPOINT_URL_DYNAMODB"])
            .build(),
    );

    let expected = template_tables();
    assert_eq!(expected.len(), 4, "users, tokens, counters, audit");
    let listed: BTreeSet<String> = client
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names()
        .iter()
        .cloned()
        .collect();
    let local_names: BTreeSet<String> = expected
        .keys()
        .map(|variable| settings[variable].clone())
        .collect();
    assert_eq!(listed, local_names);

    for (variable, (keys, ttl)) in expected {
        let name = &settings[&variable];
        let table = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap();
        let table = table.table().unwrap();
        let types: BTreeMap<&str, &str> = table
            .attribute_definitions()
            .iter()
            .map(|d| (d.attribute_name(), d.attribute_type().as_str()))
            .collect();
        let actual: KeySchema = table
            .key_schema()
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                    types[k.attribute_name()].to_string(),
                )
            })
            .collect();
        assert_eq!(actual, keys, "{name}");
        let described = client
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .unwrap();
        let actual_ttl = described
            .time_to_live_description()
            .filter(|d| d.time_to_live_status().map(|s| s.as_str()) == Some("ENABLED"))
            .and_then(|d| d.attribute_name().map(String::from));
        assert_eq!(actual_ttl, ttl, "{name}");
    }
}

/// (method, path) → function, from the template's API events.
pub(crate) fn template_routes() -> BTreeMap<(String, String), String> {
    let template = template();
    let mut routes = BTreeMap::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_string();
        for (_, event) in resource["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            if event["Type"] == "Api" {
                let props = &event["Properties"];
                routes.insert(
                    (
                        props["Method"].as_str().unwrap().to_uppercase(),
                        props["Path"].as_str().unwrap().to_string(),
                    ),
                    binary.clone(),
                );
            }
        }
    }
    routes
}

/// (method, path) → function, from the `cargo lambda watch` router.
fn watch_routes() -> BTreeMap<(String, String), String> {
    let text = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&text).unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .unwrap();
    let mut routes = BTreeMap::new();
    for (path, targets) in router {
        for target in targets.as_array().unwrap() {
            routes.insert(
                (target["method"].as_str().unwrap().to_string(), path.clone()),
                target["function"].as_str().unwrap().to_string(),
            );
        }
    }
    routes
}

#[test]
fn every_template_route_is_served_locally_and_the_reverse() {
    assert_eq!(template_routes(), watch_routes());
}

#[test]
fn every_template_function_has_a_binary_and_every_binary_a_function() {
    let in_template: BTreeSet<String> = template_routes().into_values().collect();
    let crates: BTreeSet<String> = std::fs::read_dir(repo_root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(in_template, crates);
}

/// (method, path) of every route SPEC section 4 names: in a code span such
/// as **P1 `PUT /user/password`** or `POST /zitadel.user.v2.UserService/SetPassword`
/// (queries dropped); and where a heading names a path alone, such as
/// **P7 `/user/otp`**, with the methods its paragraph names in backticks.
fn spec_routes() -> Option<BTreeSet<(String, String)>> {
    const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "PATCH"];
    let spec = std::fs::read_to_string(repo_root().join("../shared/SPEC.md")).ok()?;
    let start = spec.find("\n## 4.")?;
    let end = spec[start..]
        .find("\n## 5.")
        .map_or(spec.len(), |e| start + e);
    let mut routes = BTreeSet::new();
    // Every other piece between backticks is inside a code span.
    for span in spec[start..end].split('`').skip(1).step_by(2) {
        let Some((method, path)) = span.split_once(' ') else {
            continue;
        };
        if METHODS.contains(&method) && path.starts_with('/') {
            let path = path.split('?').next().unwrap_or_default();
            routes.insert((method.to_string(), path.to_string()));
        }
    }
    for paragraph in spec[start..end].split("\n\n") {
        let Some(rest) = paragraph.strip_prefix("**") else {
            continue;
        };
        let Some((_, route)) = rest.split_once(" `") else {
            continue;
        };
        let route = route.split('`').next().unwrap_or_default();
        if route.starts_with('/') {
            for method in METHODS {
                if paragraph.contains(&format!("`{method}`")) {
                    routes.insert((method.to_string(), route.to_string()));
                }
            }
        }
    }
    Some(routes)
}

/// Beside the SPEC's routes, the template serves a browser's CORS preflight
/// (`OPTIONS`) on each RPC path of family Z.
fn with_rpc_preflights(routes: BTreeSet<(String, String)>) -> BTreeSet<(String, String)> {
    let preflights: Vec<(String, String)> = routes
        .iter()
        .filter(|(_, path)| path.starts_with("/zitadel."))
        .map(|(_, path)| ("OPTIONS".to_string(), path.clone()))
        .collect();
    routes.into_iter().chain(preflights).collect()
}

/// The SPEC's routes (section 4), recorded here so that the check below runs
/// on a clone without `../shared/SPEC.md` beside it; where the SPEC is there,
/// the record is checked against it.
const SPEC_ROUTES: [(&str, &str); 14] = [
    ("DELETE", "/user/otp"),
    ("GET", "/user/password/set"),
    ("POST", "/callbacks/password-reset"),
    ("POST", "/user/otp"),
    ("POST", "/user/password/confirm"),
    ("POST", "/v1/users/{user_id}/reset-password"),
    ("POST", "/v2/users/{userId}/password"),
    ("POST", "/v2/users/{userId}/password_reset"),
    ("POST", "/zitadel.user.v2.UserService/PasswordReset"),
    ("POST", "/zitadel.user.v2.UserService/SetPassword"),
    ("PUT", "/user/otp"),
    ("PUT", "/user/password"),
    ("PUT", "/user/password/reset"),
    ("PUT", "/user/pin"),
];

fn recorded_spec_routes() -> BTreeSet<(String, String)> {
    SPEC_ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect()
}

#[test]
fn the_template_serves_exactly_the_spec_routes() {
    let template: BTreeSet<(String, String)> = template_routes().into_keys().collect();
    assert_eq!(template, with_rpc_preflights(recorded_spec_routes()));
}

#[test]
fn the_recorded_routes_are_the_specs_where_the_spec_is_at_hand() {
    let Some(spec) = spec_routes() else {
        // A clone on its own: the record above stands for the SPEC.
        eprintln!("../shared/SPEC.md is not beside the repository; the recorded routes are used");
        return;
    };
    assert_eq!(spec, recorded_spec_routes());
}

/// A gateway response's body as API Gateway would send it: its variables
/// replaced by sample values (`$context.error.messageString` is a quoted
/// JSON string).
fn gateway_body(template: &str) -> serde_json::Value {
    let body = template
        .replace("$context.requestId", "c0ffee00-0000-4000-8000-000000000000")
        .replace("$context.error.messageString", "\"Forbidden\"");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn api_gateways_own_answers_have_the_families_shapes() {
    let template = template();
    let responses = &template["Resources"]["Api"]["Properties"]["GatewayResponses"];
    let fixed = [
        ("THROTTLED", 429),
        ("QUOTA_EXCEEDED", 429),
        ("MISSING_AUTHENTICATION_TOKEN", 404),
        ("RESOURCE_NOT_FOUND", 404),
        ("REQUEST_TOO_LARGE", 413),
        ("INTEGRATION_FAILURE", 503),
        ("INTEGRATION_TIMEOUT", 503),
        ("DEFAULT_5XX", 503),
    ];
    for (kind, status) in fixed {
        let response = &responses[kind];
        assert_eq!(response["StatusCode"].as_u64(), Some(status), "{kind}");
        let headers = &response["ResponseParameters"]["Headers"];
        assert_eq!(
            headers["Content-Type"].as_str(),
            Some("'application/json'"),
            "{kind}"
        );
        if status == 429 || status == 503 {
            let retry = headers["Retry-After"].as_str().expect("Retry-After");
            let seconds: u64 = retry.trim_matches('\'').parse().expect("seconds");
            assert!(seconds >= 1, "{kind}");
        }
        let body = gateway_body(
            response["ResponseTemplates"]["application/json"]
                .as_str()
                .unwrap(),
        );
        // Family O: `code` equals the status, with message and description.
        assert_eq!(body["code"], status, "{kind}");
        assert!(
            body["message"].is_string() && body["description"].is_string(),
            "{kind}"
        );
        // Family P: a JSON:API error object with a string status and a code.
        let error = &body["errors"][0];
        assert_eq!(error["status"], status.to_string(), "{kind}");
        assert!(
            error["code"].is_string() && error["id"].is_string(),
            "{kind}"
        );
    }
    let default_4xx = &responses["DEFAULT_4XX"];
    let body = gateway_body(
        default_4xx["ResponseTemplates"]["application/json"]
            .as_str()
            .unwrap(),
    );
    assert!(body["errors"][0]["detail"].is_string(), "{body}");
}

//! The OpenAPI documents (`openapi/*.yaml`) as an oracle for the service's
//! answers: a test hands a handler's `Response` to [`assert_conforms`] with
//! the request's method and path, and it fails unless the documents describe
//! that answer: the status is documented for the operation, the media type is
//! the documented one, every required header is there and every documented
//! header matches its schema, and the body validates against the schema
//! (JSON Schema 2020-12, formats checked). Messages never quote the body's
//! values, so a secret in an answer (Z1's `verificationCode`) is not logged.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::LazyLock;

use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Response};
use serde_json::{Map, Value};

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The three documents, read once per test binary.
static CONTRACT: LazyLock<Contract> = LazyLock::new(|| {
    Contract::load(&crate::repo_root().join("openapi")).expect("the OpenAPI documents")
});

pub fn contract() -> &'static Contract {
    &CONTRACT
}

/// Panics, listing every violation, unless `response` is an answer the
/// documents describe for `method` on `path` (a concrete path such as
/// `/v2/users/6d1f…/password`, or the template itself).
pub fn assert_conforms(method: &str, path: &str, response: &Response<Body>) {
    if let Err(violations) = contract().check(method, path, response) {
        panic!(
            "{method} {path} answered {} outside its OpenAPI document:\n  {}",
            response.status().as_u16(),
            violations.join("\n  ")
        );
    }
}

pub struct Contract {
    documents: Vec<Document>,
}

struct Document {
    name: String,
    root: Value,
}

/// An operation found in a document.
struct Operation<'a> {
    document: &'a Document,
    template: &'a str,
    spec: &'a Value,
}

impl Contract {
    /// Every `*.yaml` in `dir`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .collect();
        paths.sort();
        let documents = paths
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let root: Value =
                    serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                Ok(Document {
                    name: name.into_owned(),
                    root,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self { documents })
    }

    /// (METHOD, path template) of every documented operation.
    pub fn operations(&self) -> BTreeSet<(String, String)> {
        self.documents
            .iter()
            .flat_map(|document| paths_of(&document.root))
            .flat_map(|(template, item)| {
                HTTP_METHODS
                    .iter()
                    .filter(|method| item.get(**method).is_some())
                    .map(|method| (method.to_uppercase(), template.to_string()))
            })
            .collect()
    }

    /// Every way `response` departs from the documented answer, or `Ok`.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        response: &Response<Body>,
    ) -> Result<(), Vec<String>> {
        let operation = self.operation(method, path).map_err(|e| vec![e])?;
        let status = response.status().as_u16().to_string();
        let Some(documented) = operation.response(&status) else {
            return Err(vec![format!(
                "status {status} is not documented for {} {} in {} (documented: {})",
                method.to_uppercase(),
                operation.template,
                operation.document.name,
                operation.documented_statuses().join(", ")
            )]);
        };
        let mut violations = Vec::new();
        check_headers(operation.document, documented, response, &mut violations);
        check_content(operation.document, documented, response, &mut violations);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }

    fn operation(&self, method: &str, path: &str) -> Result<Operation<'_>, String> {
        let method = method.to_ascii_lowercase();
        self.documents
            .iter()
            .flat_map(|document| {
                paths_of(&document.root).map(move |(template, item)| (document, template, item))
            })
            .find(|(_, template, item)| path_matches(template, path) && item.get(&method).is_some())
            .map(|(document, template, item)| Operation {
                document,
                template,
                spec: &item[&method],
            })
            .ok_or_else(|| {
                format!(
                    "{} {path} is no operation of the documents",
                    method.to_uppercase()
                )
            })
    }
}

impl Operation<'_> {
    /// The Response Object for `status` (exact, else `4XX`-style, else
    /// `default`), with its `$ref` resolved.
    fn response(&self, status: &str) -> Option<&Value> {
        let responses = self.spec.get("responses")?;
        let range = format!("{}XX", &status[..1]);
        [status, range.as_str(), "default"]
            .iter()
            .find_map(|key| responses.get(*key))
            .map(|response| resolve(&self.document.root, response))
    }

    fn documented_statuses(&self) -> Vec<String> {
        self.spec["responses"]
            .as_object()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }
}

fn paths_of(root: &Value) -> impl Iterator<Item = (&str, &Value)> {
    root.get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(template, item)| (template.as_str(), item))
}

/// `/v2/users/{userId}/password` matches itself and `/v2/users/6d1f…/password`.
fn path_matches(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let (template, path): (Vec<_>, Vec<_>) =
        (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}') && !p.is_empty()))
}

/// Follows a local `$ref` (`#/components/…`) to the object it names.
fn resolve<'a>(root: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(root, root.pointer(pointer).unwrap_or(&Value::Null))
        }
        None => value,
    }
}

fn check_headers(
    document: &Document,
    documented: &Value,
    response: &Response<Body>,
    violations: &mut Vec<String>,
) {
    let Some(headers) = documented.get("headers").and_then(Value::as_object) else {
        return;
    };
    for (name, header) in headers {
        let header = resolve(&document.root, header);
        let required = header.get("required").and_then(Value::as_bool) == Some(true);
        let Some(value) = response.headers().get(name.as_str()) else {
            if required {
                violations.push(format!("the required header {name} is missing"));
            }
            continue;
        };
        let Ok(text) = value.to_str() else {
            violations.push(format!("header {name} is not visible ASCII"));
            continue;
        };
        let Some(schema) = header.get("schema") else {
            continue;
        };
        // Header values are text; an integer header must read as one.
        let instance = match schema.get("type").and_then(Value::as_str) {
            Some("integer") => match text.parse::<i64>() {
                Ok(number) => Value::from(number),
                Err(_) => {
                    violations.push(format!("header {name} is not an integer"));
                    continue;
                }
            },
            _ => Value::from(text),
        };
        violations.extend(
            schema_violations(document, schema, &instance)
                .into_iter()
                .map(|v| format!("header {name}: {v}")),
        );
    }
}

fn check_content(
    document: &Document,
    documented: &Value,
    response: &Response<Body>,
    violations: &mut Vec<String>,
) {
    let body: &[u8] = response.body().as_ref();
    let Some(content) = documented.get("content").and_then(Value::as_object) else {
        if !body.is_empty() {
            violations.push("a body where the document has none".into());
        }
        return;
    };
    let Some(content_type) = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        violations.push(format!(
            "no Content-Type (documented: {})",
            content.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
        return;
    };
    let essence = media_essence(content_type);
    let Some(media) = content
        .iter()
        .find(|(key, _)| media_essence(key) == essence)
        .map(|(_, media)| media)
    else {
        violations.push(format!(
            "Content-Type {content_type} is not documented (documented: {})",
            content.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
        return;
    };
    let Some(schema) = media.get("schema") else {
        return;
    };
    let instance = if essence == "application/json" || essence.ends_with("+json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(json) => json,
            Err(_) => {
                violations.push(format!("the body is not JSON, as {essence} says"));
                return;
            }
        }
    } else {
        match std::str::from_utf8(body) {
            Ok(text) => Value::from(text),
            Err(_) => {
                violations.push("the body is not UTF-8 text".into());
                return;
            }
        }
    };
    violations.extend(
        schema_violations(document, schema, &instance)
            .into_iter()
            .map(|v| format!("body: {v}")),
    );
}

/// `application/vnd.api+json; ext="…"` → `application/vnd.api+json`.
fn media_essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Validates `instance` against `schema`, a schema of `document` whose
/// `$ref`s point into the document's `components`.
fn schema_violations(document: &Document, schema: &Value, instance: &Value) -> Vec<String> {
    let mut root = match schema {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    if let Some(components) = document.root.get("components") {
        root.insert("components".into(), components.clone());
    }
    let validator = match jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&Value::Object(root))
    {
        Ok(validator) => validator,
        Err(error) => return vec![format!("the document's schema does not compile: {error}")],
    };
    validator
        .iter_errors(instance)
        .map(|error| {
            let at = error.instance_path().to_string();
            let at = if at.is_empty() { "/".to_string() } else { at };
            format!("at {at}: {}", error.masked())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::StatusCode;

    const USER: &str = "6d1f0c3a9b2e4f5a7c8d9e0f";

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response<Body> {
        let mut builder = Response::builder().status(StatusCode::from_u16(status).unwrap());
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = if body.is_empty() {
            Body::Empty
        } else {
            Body::Text(body.to_string())
        };
        builder.body(body).unwrap()
    }

    fn violations(method: &str, path: &str, response: &Response<Body>) -> Vec<String> {
        contract()
            .check(method, path, response)
            .err()
            .unwrap_or_default()
    }

    fn jsonapi_error(status: &str, code: &str) -> String {
        serde_json::json!({"errors": [{
            "id": "05e9c3ef2214f074a2a32d41a2879521",
            "status": status,
            "code": code,
            "title": "A title",
            "detail": "A detail.",
        }]})
        .to_string()
    }

    const JSON_API: (&str, &str) = ("content-type", "application/vnd.api+json");
    const JSON: (&str, &str) = ("content-type", "application/json");
    const P4_HEADERS: [(&str, &str); 3] = [
        ("deprecation", "@1735689600"),
        ("sunset", "Thu, 01 Jul 2027 00:00:00 GMT"),
        (
            "link",
            r#"<../../callbacks/password-reset>; rel="successor-version""#,
        ),
    ];

    #[test]
    fn a_documented_answer_conforms() {
        let accepted = response(
            202,
            &[JSON_API],
            r#"{"meta":{"detail":"An email with a link to set the password has been sent.","linkExpiresAt":"2026-11-30T20:30:28.000Z","status":"confirmation-pending"}}"#,
        );
        assert_eq!(
            violations("PUT", "/user/password", &accepted),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_undocumented_status_is_a_violation() {
        let teapot = response(418, &[JSON_API], &jsonapi_error("418", "internal-error"));
        let found = violations("PUT", "/user/password", &teapot);
        assert!(
            found[0].contains("status 418 is not documented"),
            "{found:?}"
        );
    }

    #[test]
    fn a_401_without_its_challenge_is_a_violation() {
        let body = jsonapi_error("401", "authentication-required");
        let found = violations("PUT", "/user/pin", &response(401, &[JSON_API], &body));
        assert!(
            found.iter().any(|v| v.contains("WWW-Authenticate")),
            "{found:?}"
        );
        let challenged = response(
            401,
            &[
                JSON_API,
                ("www-authenticate", r#"Bearer realm="password-service""#),
            ],
            &body,
        );
        assert_eq!(
            violations("PUT", "/user/pin", &challenged),
            Vec::<String>::new()
        );
    }

    #[test]
    fn family_p_errors_in_plain_json_are_a_violation() {
        let found = violations(
            "PUT",
            "/user/password",
            &response(409, &[JSON], &jsonapi_error("409", "password-already-set")),
        );
        assert!(
            found[0].contains("Content-Type application/json"),
            "{found:?}"
        );
    }

    #[test]
    fn a_code_the_status_does_not_carry_is_a_violation() {
        let found = violations(
            "PUT",
            "/user/password",
            &response(409, &[JSON_API], &jsonapi_error("409", "token-invalid")),
        );
        assert!(
            found.iter().any(|v| v.contains("/errors/0/code")),
            "{found:?}"
        );
    }

    #[test]
    fn a_numeric_json_api_status_is_a_violation() {
        let body = jsonapi_error("413", "payload-too-large").replace(r#""413""#, "413");
        let found = violations("PUT", "/user/pin", &response(413, &[JSON_API], &body));
        assert!(
            found.iter().any(|v| v.contains("/errors/0/status")),
            "{found:?}"
        );
    }

    #[test]
    fn p4_answers_without_the_deprecation_headers_are_violations() {
        let bare = response(204, &[], "");
        let found = violations("PUT", "/user/password/reset", &bare);
        assert_eq!(found.len(), 3, "{found:?}");
        let announced = response(204, &P4_HEADERS, "");
        assert_eq!(
            violations("PUT", "/user/password/reset?pin=2468", &announced),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_retry_after_that_is_not_seconds_is_a_violation() {
        let body = r#"{"code":8,"details":[],"message":"too many attempts; retry in 60 s"}"#;
        let path = format!("/v2/users/{USER}/password");
        let dated = response(
            429,
            &[JSON, ("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT")],
            body,
        );
        assert!(violations("POST", &path, &dated)[0].contains("Retry-After is not an integer"));
        let counted = response(429, &[JSON, ("retry-after", "60")], body);
        assert_eq!(violations("POST", &path, &counted), Vec::<String>::new());
    }

    #[test]
    fn family_z_details_need_a_decimal_string_sequence_and_milliseconds() {
        let path = format!("/v2/users/{USER}/password");
        let good = r#"{"details":{"changeDate":"2026-11-29T20:30:35.748Z","resourceOwner":"org-4711","sequence":"8"}}"#;
        assert_eq!(
            violations("POST", &path, &response(200, &[JSON], good)),
            Vec::<String>::new()
        );
        let numeric = good.replace(r#""8""#, "8");
        let found = violations("POST", &path, &response(200, &[JSON], &numeric));
        assert!(found[0].contains("/details/sequence"), "{found:?}");
        let seconds = good.replace("35.748Z", "35Z");
        let found = violations("POST", &path, &response(200, &[JSON], &seconds));
        assert!(found[0].contains("/details/changeDate"), "{found:?}");
    }

    #[test]
    fn the_admin_body_must_carry_the_status_as_code() {
        let path = format!("/v1/users/{USER}/reset-password");
        let body = r#"{"code":400,"description":"new_password is required!","message":"Required fields were not provided..."}"#;
        assert_eq!(
            violations("POST", &path, &response(400, &[JSON], body)),
            Vec::<String>::new()
        );
        let wrong_code = body.replace("400", "422");
        assert!(!violations("POST", &path, &response(400, &[JSON], &wrong_code)).is_empty());
    }

    #[test]
    fn the_page_needs_its_security_headers() {
        let html = "<!doctype html><title>Set your password</title>";
        let page_headers = [
            ("content-type", "text/html; charset=utf-8"),
            ("cache-control", "no-store"),
            ("referrer-policy", "no-referrer"),
            ("x-content-type-options", "nosniff"),
            (
                "content-security-policy",
                "default-src 'none'; script-src 'sha256-x'",
            ),
        ];
        let page = response(200, &page_headers, html);
        assert_eq!(
            violations("GET", "/user/password/set?token=abc", &page),
            Vec::<String>::new()
        );
        let without_csp = response(200, &page_headers[..4], html);
        assert_eq!(
            violations("GET", "/user/password/set", &without_csp),
            vec!["the required header Content-Security-Policy is missing".to_string()]
        );
    }

    #[test]
    fn a_body_on_a_204_is_a_violation() {
        let found = violations("PUT", "/user/pin", &response(204, &[JSON], "{}"));
        assert_eq!(
            found,
            vec!["a body where the document has none".to_string()]
        );
    }

    #[test]
    fn an_undocumented_operation_is_reported() {
        let found = violations("GET", "/user/password", &response(200, &[], ""));
        assert_eq!(
            found,
            vec!["GET /user/password is no operation of the documents".to_string()]
        );
    }

    #[test]
    #[should_panic(expected = "outside its OpenAPI document")]
    fn assert_conforms_panics_with_the_violations() {
        assert_conforms("PUT", "/user/password", &response(200, &[], ""));
    }

    #[test]
    fn every_documented_example_conforms_to_its_schema() {
        let mut checked = 0;
        for document in &contract().documents {
            for (template, item) in paths_of(&document.root) {
                for method in HTTP_METHODS.iter().filter(|m| item.get(**m).is_some()) {
                    let responses = item[*method]["responses"].as_object().unwrap();
                    for (status, documented) in responses {
                        let documented = resolve(&document.root, documented);
                        for (media, spec) in documented
                            .get("content")
                            .and_then(Value::as_object)
                            .into_iter()
                            .flatten()
                        {
                            for (name, example) in spec
                                .get("examples")
                                .and_then(Value::as_object)
                                .into_iter()
                                .flatten()
                            {
                                let found =
                                    schema_violations(document, &spec["schema"], &example["value"]);
                                assert_eq!(
                                    found,
                                    Vec::<String>::new(),
                                    "{} {method} {template} {status} {media} example {name}",
                                    document.name
                                );
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(checked >= 40, "only {checked} examples");
    }
}

//! What every endpoint shares at the HTTP boundary: body limits, media types,
//! JSON parsing, and the three error families' renderers; family Z's requests
//! and field rules (`zitadel`) and its RPC binding (`rpc`).

pub mod admin;
pub mod grpc;
pub mod jsonapi;
pub mod rpc;
pub mod zitadel;

use lambda_http::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use lambda_http::http::{HeaderMap, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::Value;

use crate::auth::{insufficient_scope_challenge, AuthError};
use crate::error::ServiceError;

/// SPEC section 2: bodies over 16 KiB answer 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub const JSON_API_MEDIA_TYPE: &str = "application/vnd.api+json";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    UnsupportedMediaType,
    NotUtf8,
    InvalidJson(String),
    NotAnObject,
}

/// Which request media types an endpoint accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaTypes {
    /// Family P: `application/vnd.api+json` (parameters `ext`/`profile` only)
    /// or `application/json`.
    JsonApi,
    /// Families Z and O: `application/json`.
    Json,
}

/// Reads the body as a JSON object. An empty body reads as `{}`, so endpoints
/// whose fields are all optional accept it; required fields are checked by
/// the caller, field by field.
pub fn json_object(
    req: &Request,
    media: MediaTypes,
) -> Result<serde_json::Map<String, Value>, BodyError> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge);
    }
    check_media_type(req.headers(), media)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    let text = std::str::from_utf8(bytes).map_err(|_| BodyError::NotUtf8)?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(BodyError::NotAnObject),
        Err(e) => Err(BodyError::InvalidJson(describe_json_error(&e, ""))),
    }
}

/// What is wrong with a JSON body, naming the place (`field`, a path such as
/// `newPassword.changeRequired`, or the line and column) and the rule, never
/// the value sent: serde's own messages quote it (`invalid type: string
/// "hunter2"`), and clients and proxies log error messages.
pub fn describe_json_error(error: &serde_json::Error, field: &str) -> String {
    use serde_json::error::Category;
    let place = format!("line {}, column {}", error.line(), error.column());
    match error.classify() {
        Category::Io | Category::Syntax => format!("malformed at {place}"),
        Category::Eof => format!("ends early at {place}"),
        Category::Data => {
            let subject = match field {
                "" | "." => "a field".to_string(),
                field => format!("field {field}"),
            };
            // serde's data errors read "<what was sent>, expected <rule>";
            // only the rule, which the message type wrote, is kept.
            let message = error.to_string();
            let message = message.split(" at line ").next().unwrap_or_default();
            match message.rsplit_once(", expected ") {
                Some((_, rule)) => format!("{subject} must be {rule}"),
                None if message.starts_with("missing field") => message.to_string(),
                None => format!("{subject} has a value that is not accepted"),
            }
        }
    }
}

/// The request's body as bytes: API Gateway hands it over as text, or as
/// binary it has already decoded from base64.
pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// A Content-Type's essence (`type/subtype`, lower case) and its non-empty
/// parameters, as sent.
pub fn media_type(content_type: &str) -> (String, Vec<&str>) {
    let mut parts = content_type.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
    (essence, parts.filter(|p| !p.is_empty()).collect())
}

/// Logs the cause of an internal error, which each family answers with its
/// generic 500: the caller learns nothing of it, the operator reads it here.
/// Causes are built from store, mail, secrets and configuration errors, never
/// from a request's secrets.
pub fn log_internal_error(cause: &str) {
    tracing::error!(error = %cause, "internal error");
}

fn check_media_type(headers: &HeaderMap, media: MediaTypes) -> Result<(), BodyError> {
    // Clients that send no Content-Type are read as JSON.
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Ok(());
    };
    let value = value
        .to_str()
        .map_err(|_| BodyError::UnsupportedMediaType)?;
    let (essence, params) = media_type(value);
    let accepted = match essence.as_str() {
        "application/json" => true,
        // JSON:API: a media type parameter other than ext/profile → 415.
        JSON_API_MEDIA_TYPE if media == MediaTypes::JsonApi => params.iter().all(|p| {
            let name = p.split('=').next().unwrap_or_default().trim();
            name.eq_ignore_ascii_case("ext") || name.eq_ignore_ascii_case("profile")
        }),
        _ => false,
    };
    accepted
        .then_some(())
        .ok_or(BodyError::UnsupportedMediaType)
}

/// A Content-Security-Policy source for inline content: `sha256-<base64>`.
pub fn csp_sha256(content: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(content.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// A path parameter of the route (e.g. `userId` of `/v2/users/{userId}/…`);
/// empty when absent.
/// The bytes of the request's `Authorization` header, where it has one: what
/// `flows::caller` verifies.
pub fn authorization(req: &Request) -> Option<&[u8]> {
    req.headers()
        .get(lambda_http::http::header::AUTHORIZATION)
        .map(|value| value.as_bytes())
}

pub fn path_parameter(req: &Request, name: &str) -> String {
    use lambda_http::RequestExt;
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .unwrap_or_default()
        .to_string()
}

/// The absolute URL of `path` on the stage that received `req`, as API
/// Gateway's default domain serves it (`https://{domain}/{stage}{path}`).
pub fn stage_url(req: &Request, path: &str) -> Option<String> {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    let (domain, stage) = match req.request_context_ref()? {
        RequestContext::ApiGatewayV1(ctx) => (ctx.domain_name.clone()?, ctx.stage.clone()),
        RequestContext::ApiGatewayV2(ctx) => (ctx.domain_name.clone()?, ctx.stage.clone()),
        _ => return None,
    };
    let prefix = stage
        .filter(|s| !s.is_empty() && s != "$default")
        .map(|s| format!("/{s}"))
        .unwrap_or_default();
    Some(format!("https://{domain}{prefix}{path}"))
}

/// The caller's address as API Gateway saw it (REST or HTTP API events).
pub fn client_address(req: &Request) -> Option<String> {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV1(ctx) => ctx.identity.source_ip.clone(),
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.clone(),
        _ => None,
    }
}

/// What a field of a request body held, when it was not what was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    Missing,
    WrongType,
}

/// A string field; `null` counts as missing.
pub fn string_field<'a>(
    body: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<&'a str, FieldProblem> {
    match body.get(name) {
        None | Some(Value::Null) => Err(FieldProblem::Missing),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(FieldProblem::WrongType),
    }
}

pub(crate) fn json_response(
    status: StatusCode,
    content_type: &'static str,
    body: &Value,
) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Headers some errors carry, whatever the family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorHeaders {
    pub www_authenticate: Option<String>,
    pub retry_after_seconds: Option<u64>,
}

impl ErrorHeaders {
    /// The headers an outcome carries in every family: the Bearer challenge
    /// of an authentication or scope failure, `Retry-After` of a rate limit.
    pub fn of(error: &ServiceError) -> Self {
        match error {
            ServiceError::Unauthenticated(auth) => Self {
                www_authenticate: Some(auth.challenge()),
                ..Self::default()
            },
            // The token is valid but the account it names may not use family
            // P: still a 401, and a 401 always carries a challenge.
            ServiceError::MissingLinkedIdentity => Self {
                www_authenticate: Some(
                    AuthError::InvalidToken("the account lacks the required linked identity")
                        .challenge(),
                ),
                ..Self::default()
            },
            ServiceError::Forbidden(scope) => Self {
                www_authenticate: Some(insufficient_scope_challenge(scope)),
                ..Self::default()
            },
            ServiceError::RateLimited {
                retry_after_seconds,
            } => Self {
                retry_after_seconds: Some(*retry_after_seconds),
                ..Self::default()
            },
            _ => Self::default(),
        }
    }

    pub(crate) fn apply(&self, response: &mut Response<Body>) {
        let headers = response.headers_mut();
        if let Some(challenge) = self
            .www_authenticate
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
        {
            headers.insert(WWW_AUTHENTICATE, challenge);
        }
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
    }
}

pub fn empty_response(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/x");
        if let Some(ct) = content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        builder.body(Body::Text(body.to_string())).unwrap()
    }

    #[test]
    fn json_api_media_type_with_ext_or_profile_is_accepted() {
        let req = request(Some(r#"application/vnd.api+json; ext="https://x""#), "{}");
        assert!(json_object(&req, MediaTypes::JsonApi).is_ok());
    }

    #[test]
    fn json_api_media_type_with_other_parameters_is_415() {
        let req = request(Some("application/vnd.api+json; charset=utf-8"), "{}");
        assert_eq!(
            json_object(&req, MediaTypes::JsonApi),
            Err(BodyError::UnsupportedMediaType)
        );
    }

    #[test]
    fn plain_json_with_charset_is_accepted() {
        let req = request(Some("application/json; charset=utf-8"), r#"{"a":1}"#);
        assert_eq!(json_object(&req, MediaTypes::JsonApi).unwrap()["a"], 1);
    }

    #[test]
    fn other_media_types_are_415() {
        let req = request(Some("text/plain"), "{}");
        assert_eq!(
            json_object(&req, MediaTypes::Json),
            Err(BodyError::UnsupportedMediaType)
        );
        let req = request(Some("application/vnd.api+json"), "{}");
        assert_eq!(
            json_object(&req, MediaTypes::Json),
            Err(BodyError::UnsupportedMediaType)
        );
    }

    #[test]
    fn bodies_over_16_kib_are_too_large() {
        let req = request(None, &" ".repeat(MAX_BODY_BYTES + 1));
        assert_eq!(
            json_object(&req, MediaTypes::Json),
            Err(BodyError::TooLarge)
        );
        let req = request(None, &" ".repeat(MAX_BODY_BYTES));
        assert!(json_object(&req, MediaTypes::Json).is_ok());
    }

    #[test]
    fn invalid_json_and_non_objects_are_told_apart() {
        assert!(matches!(
            json_object(&request(None, "{"), MediaTypes::Json),
            Err(BodyError::InvalidJson(_))
        ));
        assert_eq!(
            json_object(&request(None, "[1]"), MediaTypes::Json),
            Err(BodyError::NotAnObject)
        );
    }

    #[test]
    fn json_errors_name_the_field_and_the_rule_never_the_value() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Message {
            flag: Option<bool>,
            kind: Option<Kind>,
        }
        #[derive(Debug, serde::Deserialize)]
        enum Kind {
            Email,
        }
        let described = |body: &str| {
            let mut json = serde_json::Deserializer::from_str(body);
            let error = serde_path_to_error::deserialize::<_, Message>(&mut json).unwrap_err();
            describe_json_error(error.inner(), &error.path().to_string())
        };
        let wrong_type = described(r#"{"flag": "hunter2"}"#);
        assert_eq!(wrong_type, "field flag must be a boolean");
        let wrong_variant = described(r#"{"kind": "hunter2"}"#);
        assert_eq!(wrong_variant, "field kind must be `Email`");

        let Err(BodyError::InvalidJson(syntax)) = json_object(
            &request(None, r#"{"password": "hunter2" x}"#),
            MediaTypes::Json,
        ) else {
            panic!("invalid JSON accepted");
        };
        assert_eq!(syntax, "malformed at line 1, column 24");
    }

    #[test]
    fn invalid_utf8_is_its_own_error() {
        let req = lambda_http::http::Request::builder()
            .body(Body::Binary(vec![b'{', 0xff, b'}']))
            .unwrap();
        assert_eq!(json_object(&req, MediaTypes::Json), Err(BodyError::NotUtf8));
    }

    #[test]
    fn null_fields_count_as_missing() {
        let body = serde_json::json!({"a": null, "b": 1, "c": "x"});
        let body = body.as_object().unwrap();
        assert_eq!(string_field(body, "a"), Err(FieldProblem::Missing));
        assert_eq!(string_field(body, "b"), Err(FieldProblem::WrongType));
        assert_eq!(string_field(body, "c"), Ok("x"));
        assert_eq!(string_field(body, "d"), Err(FieldProblem::Missing));
    }
}

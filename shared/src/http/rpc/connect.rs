//! Connect unary (connectrpc.com/docs/protocol): the bare message is the
//! body; an error is a JSON body `{"code","message","details"}` with an HTTP
//! status by Connect's mapping.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use lambda_http::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use lambda_http::http::{HeaderMap, HeaderValue};
use lambda_http::{Body, Response};
use prost::Message;
use serde_json::{json, Value};

use super::messages::{BadRequest, BAD_REQUEST_TYPE};
use crate::http::grpc::{Code, Status};

pub const PROTOCOL_VERSION_HEADER: &str = "connect-protocol-version";

/// Connect's name of a code (`invalid_argument`, …).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::InvalidArgument => "invalid_argument",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// The message of a unary request: the whole body, once the protocol's
/// headers allow it. `Connect-Protocol-Version` is optional (the Python SDK
/// sends none) but must say 1 when given; a compressed body is refused.
pub(super) fn unary_message<'a>(headers: &HeaderMap, body: &'a [u8]) -> Result<&'a [u8], Status> {
    if let Some(version) = headers.get(PROTOCOL_VERSION_HEADER) {
        if version.as_bytes().trim_ascii() != b"1" {
            return Err(Status::new(
                Code::InvalidArgument,
                "connect-protocol-version must be 1",
            ));
        }
    }
    if let Some(encoding) = headers.get(CONTENT_ENCODING) {
        if !encoding
            .as_bytes()
            .trim_ascii()
            .eq_ignore_ascii_case(b"identity")
        {
            return Err(Status::new(
                Code::InvalidArgument,
                "compressed requests are not supported: send the body uncompressed",
            ));
        }
    }
    Ok(body)
}

pub(super) fn ok(content_type: &'static str, message: Vec<u8>) -> Response<Body> {
    let body = if content_type == "application/json" {
        // Serialised by serde_json: always UTF-8.
        Body::Text(String::from_utf8(message).unwrap_or_default())
    } else {
        Body::Binary(message)
    };
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Connect's error body, whatever codec the call used. The HTTP status is
/// Connect's for the code, which for every code family Z answers is also
/// the grpc-gateway's (`Code::http_status`); a status that overrides it
/// (413, 415) keeps its own.
pub(super) fn error(status: &Status) -> Response<Body> {
    let mut response = Response::new(Body::Text(error_json(status).to_string()));
    *response.status_mut() = status.http_status.unwrap_or(status.code.http_status());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `{"code":"invalid_argument","message":…,"details":[{"type":
/// "google.rpc.BadRequest","value":<base64 of the proto>,"debug":{…}}]}`;
/// `details` only where there are field violations.
pub fn error_json(status: &Status) -> Value {
    let mut body = json!({ "code": code_name(status.code), "message": status.message });
    if !status.field_violations.is_empty() {
        let bad_request = BadRequest::of(&status.field_violations);
        body["details"] = json!([{
            "type": BAD_REQUEST_TYPE,
            // Connect emits unpadded base64 and accepts both.
            "value": STANDARD_NO_PAD.encode(bad_request.encode_to_vec()),
            "debug": bad_request.to_json(),
        }]);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::StatusCode;

    #[test]
    fn errors_carry_connects_code_name_and_http_status() {
        let cases = [
            (Code::InvalidArgument, "invalid_argument", 400),
            (Code::FailedPrecondition, "failed_precondition", 400),
            (Code::OutOfRange, "out_of_range", 400),
            (Code::Unauthenticated, "unauthenticated", 401),
            (Code::PermissionDenied, "permission_denied", 403),
            (Code::NotFound, "not_found", 404),
            (Code::AlreadyExists, "already_exists", 409),
            (Code::Aborted, "aborted", 409),
            (Code::ResourceExhausted, "resource_exhausted", 429),
            (Code::Internal, "internal", 500),
            (Code::Unavailable, "unavailable", 503),
        ];
        for (code, name, http) in cases {
            let response = error(&Status::new(code, "why"));
            assert_eq!(response.status(), http, "{code:?}");
            assert_eq!(response.headers()["content-type"], "application/json");
            let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
            assert_eq!(body, json!({ "code": name, "message": "why" }));
        }
    }

    #[test]
    fn field_violations_are_a_bad_request_detail_in_binary_and_in_debug() {
        let status = Status::new(Code::InvalidArgument, "the new password is not acceptable")
            .violation("newPassword.password", "password-too-short: too short");
        let body = error_json(&status);
        let detail = &body["details"][0];
        assert_eq!(detail["type"], "google.rpc.BadRequest");
        assert_eq!(
            detail["debug"],
            json!({ "fieldViolations": [
                { "field": "newPassword.password", "description": "password-too-short: too short" }
            ]})
        );
        // value = BadRequest{1: FieldViolation{1: field, 2: description}}, hand-encoded.
        let field = b"newPassword.password";
        let description = b"password-too-short: too short";
        let mut violation = vec![0x0a, field.len() as u8];
        violation.extend_from_slice(field);
        violation.extend_from_slice(&[0x12, description.len() as u8]);
        violation.extend_from_slice(description);
        let mut expected = vec![0x0a, violation.len() as u8];
        expected.extend_from_slice(&violation);
        let value = detail["value"].as_str().unwrap();
        assert!(!value.ends_with('='), "unpadded: {value}");
        assert_eq!(STANDARD_NO_PAD.decode(value).unwrap(), expected);
    }

    #[test]
    fn statuses_that_override_the_http_status_keep_it() {
        let status = Status {
            http_status: Some(StatusCode::PAYLOAD_TOO_LARGE),
            ..Status::new(Code::InvalidArgument, "request body exceeds 16 KiB")
        };
        let response = error(&status);
        assert_eq!(response.status(), 413);
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["code"], "invalid_argument");
    }

    #[test]
    fn protocol_version_is_optional_but_must_be_1() {
        let mut headers = HeaderMap::new();
        assert!(unary_message(&headers, b"x").is_ok());
        headers.insert(PROTOCOL_VERSION_HEADER, HeaderValue::from_static("1"));
        assert_eq!(unary_message(&headers, b"x").unwrap(), b"x");
        headers.insert(PROTOCOL_VERSION_HEADER, HeaderValue::from_static("2"));
        let status = unary_message(&headers, b"x").unwrap_err();
        assert_eq!(status.code, Code::InvalidArgument);
    }

    #[test]
    fn compressed_bodies_are_refused_and_identity_is_accepted() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("identity"));
        assert!(unary_message(&headers, b"x").is_ok());
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        let status = unary_message(&headers, b"x").unwrap_err();
        assert_eq!(status.code, Code::InvalidArgument);
        assert!(status.message.contains("compressed"));
    }

    #[test]
    fn binary_answers_are_binary_bodies_and_json_answers_text() {
        let response = ok("application/proto", vec![0x0a, 0]);
        assert!(matches!(response.body(), Body::Binary(b) if b == &[0x0a, 0]));
        assert_eq!(response.headers()["content-type"], "application/proto");
        let response = ok("application/json", b"{}".to_vec());
        assert!(matches!(response.body(), Body::Text(t) if t == "{}"));
        assert_eq!(response.status(), 200);
    }
}

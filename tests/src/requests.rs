//! Requests as API Gateway sends them: a REST proxy event built from the
//! fixture a real gateway sends, decoded the way the Lambda runtime decodes it.

use base64::Engine;
use lambda_http::Request;
use password_service::domain::fill_random;
use serde_json::Value;

/// A request from a random client address (so tests never share a
/// per-address limit), with a text body.
pub fn api_request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Request {
    api_request_bytes(
        method,
        path,
        headers,
        body.map(|b| b.as_bytes().to_vec()),
        false,
    )
}

/// As [`api_request`], with a body of any bytes, base64-encoded in the event
/// where `base64_encoded` (as API Gateway sends binary bodies).
pub fn api_request_bytes(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
    base64_encoded: bool,
) -> Request {
    event_request(&event(
        method,
        path,
        headers,
        body,
        base64_encoded,
        &random_address(),
    ))
}

pub fn event_request(event: &Value) -> Request {
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway event")
}

pub(crate) fn random_address() -> String {
    let mut octets = [0u8; 3];
    fill_random(&mut octets);
    format!("10.{}.{}.{}", octets[0], octets[1], octets[2])
}

/// The event of a request to `path` from `address`.
pub(crate) fn event(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
    base64_encoded: bool,
    address: &str,
) -> Value {
    let mut event: Value =
        serde_json::from_str(include_str!("../fixtures/apigw-rest-proxy-request.json")).unwrap();
    event["httpMethod"] = method.into();
    event["path"] = path.into();
    event["resource"] = path.into();
    event["requestContext"]["httpMethod"] = method.into();
    event["requestContext"]["resourcePath"] = path.into();
    event["requestContext"]["path"] = format!("/dev{path}").into();
    event["requestContext"]["identity"]["sourceIp"] = address.into();
    for (name, value) in headers {
        event["headers"][*name] = (*value).into();
        event["multiValueHeaders"][*name] = serde_json::json!([value]);
    }
    if let Some(bytes) = body {
        if base64_encoded {
            event["body"] = base64::engine::general_purpose::STANDARD
                .encode(bytes)
                .into();
            event["isBase64Encoded"] = true.into();
        } else {
            event["body"] = String::from_utf8(bytes).unwrap().into();
        }
    }
    event
}

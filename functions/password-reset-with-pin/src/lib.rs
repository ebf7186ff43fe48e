//! P4 `PUT /user/password/reset?pin=NNNN` (deprecated): resets the caller's
//! password. With a PIN (query or body), under the PIN rule, keeping the
//! payment methods; without one, deleting them. Every response says it is
//! deprecated and names its successor, P5.

use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use password_service::domain::{Pin, Secret};
use password_service::error::ServiceError;
use password_service::flows::{caller, pin_reset};
use password_service::http::jsonapi::ApiError;
use password_service::http::{empty_response, json_object, string_field, MediaTypes};
use password_service::services::Services;
use serde_json::Value;

/// The successor, relative to this path (`…/user/password/reset`), so that it
/// resolves under any stage prefix.
const SUCCESSOR: &str = r#"<../../callbacks/password-reset>; rel="successor-version""#;

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let mut response = respond(services, &request)
        .await
        .unwrap_or_else(ApiError::into_response);
    let headers = response.headers_mut();
    let config = &services.config.deprecation;
    // RFC 9745: `@` and Unix seconds; RFC 8594: an HTTP-date.
    let deprecation = format!("@{}", config.p4_deprecated_at);
    let sunset = chrono::DateTime::from_timestamp(config.p4_sunset_at, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    for (name, value) in [
        ("deprecation", deprecation),
        ("sunset", sunset),
        ("link", SUCCESSOR.to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

async fn respond(services: &Services, request: &Request) -> Result<Response<Body>, ApiError> {
    let (_caller, user, failures) = caller::authenticate_user_with_pin_failures(
        services,
        password_service::http::authorization(request),
    )
    .await?;
    let body = json_object(request, MediaTypes::JsonApi)?;
    let password = string_field(&body, "password").map_err(|p| ApiError::field(p, "/password"))?;
    let requested = requested_pin(request, &body)?;
    match pin_reset::reset_password(
        services,
        user,
        failures,
        &Secret::new(password),
        requested.as_ref().map(|(pin, _)| pin),
    )
    .await
    {
        Ok(()) => Ok(empty_response(StatusCode::NO_CONTENT)),
        // The original answers a wrong PIN here with 403, naming where it came from.
        Err(error @ ServiceError::PinInvalid { .. }) => {
            let mut error = ApiError::from(error);
            error.status = StatusCode::FORBIDDEN;
            Err(match requested {
                Some((_, PinSource::Query)) => error.parameter("pin"),
                _ => error.pointer("/pin"),
            })
        }
        Err(error) => Err(error.into()),
    }
}

/// Where the request gave its PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PinSource {
    Query,
    Body,
}

/// The PIN from the query (as documented) or the body (as the original also
/// reads it); both at once must agree.
fn requested_pin(
    request: &Request,
    body: &serde_json::Map<String, Value>,
) -> Result<Option<(Pin, PinSource)>, ApiError> {
    let from_query = request
        .query_string_parameters_ref()
        .and_then(|q| q.first("pin"))
        .map(str::to_string);
    let from_body = match body.get("pin") {
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => Some(raw.clone()),
        Some(_) => return Err(malformed_pin().pointer("/pin")),
    };
    let (raw, source) = match (from_query, from_body) {
        (Some(q), Some(b)) if q != b => {
            return Err(
                ApiError::malformed("The PIN in the query and in the body differ.")
                    .parameter("pin"),
            )
        }
        (Some(q), _) => (q, PinSource::Query),
        (None, Some(b)) => (b, PinSource::Body),
        (None, None) => return Ok(None),
    };
    let malformed = || match source {
        PinSource::Query => malformed_pin().parameter("pin"),
        PinSource::Body => malformed_pin().pointer("/pin"),
    };
    Pin::parse(&raw)
        .map(|pin| Some((pin, source)))
        .ok_or_else(malformed)
}

fn malformed_pin() -> ApiError {
    ApiError::malformed("The PIN must be exactly four digits 0-9.")
}

//! P5 `POST /callbacks/password-reset`: before a user's password is reset,
//! the user proves a second factor to keep their payment methods, or skips
//! the proof and they are deleted. Body `{"pin": "NNNN"}`, `{"otp": "NNNNNN"}`
//! or `{"skip": true}`; `null` reads as absent.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use password_service::domain::{OtpCode, Pin};
use password_service::error::ServiceError;
use password_service::flows::caller;
use password_service::flows::pin_proof::{self, SecondFactor};
use password_service::http::jsonapi::ApiError;
use password_service::http::{empty_response, json_object, FieldProblem, MediaTypes};
use password_service::services::Services;
use serde_json::{Map, Value};

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    respond(services, &request)
        .await
        .unwrap_or_else(ApiError::into_response)
}

/// What the body asks for.
enum Callback {
    Prove(SecondFactor),
    Skip,
}

async fn respond(services: &Services, request: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, user, failures) = caller::authenticate_user_with_pin_failures(
        services,
        password_service::http::authorization(request),
    )
    .await?;
    if let Some(scope) = &services.config.access.callback_required_scope {
        if !caller.has_scope(scope) {
            return Err(ServiceError::Forbidden(scope.clone()).into());
        }
    }
    let body = json_object(request, MediaTypes::JsonApi)?;
    match callback(&body)? {
        Callback::Prove(proof) => {
            pin_proof::check_proof(services, user, failures, &proof).await?;
        }
        Callback::Skip => pin_proof::skip_proof(services, user).await?,
    }
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// Exactly one of a PIN, an OTP, or `skip: true`; anything else is 400 and
/// spends no attempt.
fn callback(body: &Map<String, Value>) -> Result<Callback, ApiError> {
    let skip = match present(body, "skip") {
        None => false,
        Some(Value::Bool(skip)) => *skip,
        Some(_) => {
            return Err(ApiError::malformed("\"skip\" must be true or false.").pointer("/skip"))
        }
    };
    let pin = digits(body, "pin", Pin::parse, "four")?.map(SecondFactor::Pin);
    let otp = digits(body, "otp", OtpCode::parse, "six")?.map(SecondFactor::Otp);
    match (pin, otp, skip) {
        (Some(proof), None, false) | (None, Some(proof), false) => Ok(Callback::Prove(proof)),
        (None, None, true) => Ok(Callback::Skip),
        (None, None, false) => Err(ApiError::field(FieldProblem::Missing, "/pin").with_detail(
            "Give \"pin\" (four digits) or \"otp\" (six digits), or \"skip\": true to give up the proof.",
        )),
        _ => Err(ApiError::malformed(
            "Give exactly one of \"pin\", \"otp\" or \"skip\": true.",
        )),
    }
}

/// A field as given; `null` counts as absent.
fn present<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.get(name).filter(|value| !value.is_null())
}

/// A string field of exactly `count` ASCII digits, parsed by `parse`.
fn digits<T>(
    body: &Map<String, Value>,
    name: &str,
    parse: fn(&str) -> Option<T>,
    count: &str,
) -> Result<Option<T>, ApiError> {
    let Some(value) = present(body, name) else {
        return Ok(None);
    };
    value.as_str().and_then(parse).map(Some).ok_or_else(|| {
        ApiError::malformed(format!(
            "\"{name}\" must be a string of exactly {count} digits 0-9."
        ))
        .pointer(&format!("/{name}"))
    })
}

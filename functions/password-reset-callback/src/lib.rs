//! P5 `POST /callbacks/password-reset`: before a user's password is reset,
//! the user proves the PIN to keep their payment methods, or skips the proof
//! and they are deleted. Body `{"pin": "NNNN"}` or `{"skip": true}`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use password_service::domain::Pin;
use password_service::error::ServiceError;
use password_service::flows::{caller, pin_proof};
use password_service::http::jsonapi::ApiError;
use password_service::http::{empty_response, json_object, FieldProblem, MediaTypes};
use password_service::services::Services;
use serde_json::Value;

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    respond(services, &request)
        .await
        .unwrap_or_else(ApiError::into_response)
}

async fn respond(services: &Services, request: &Request) -> Result<Response<Body>, ApiError> {
    let (caller, user, failures) =
        caller::authenticate_user_with_pin_failures(services, request.headers()).await?;
    if let Some(scope) = &services.config.access.callback_required_scope {
        if !caller.has_scope(scope) {
            return Err(ServiceError::Forbidden(scope.clone()).into());
        }
    }
    let body = json_object(request, MediaTypes::JsonApi)?;
    let skip = match body.get("skip") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(skip)) => *skip,
        Some(_) => {
            return Err(ApiError::malformed("\"skip\" must be true or false.").pointer("/skip"))
        }
    };
    let pin = match body.get("pin") {
        // `null` means absent, for every field of every family.
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => Some(Pin::parse(raw).ok_or_else(malformed_pin)?),
        Some(_) => return Err(malformed_pin()),
    };
    match (pin, skip) {
        (Some(pin), false) => {
            pin_proof::check_pin(services, user, failures, &pin).await?;
        }
        (None, true) => pin_proof::skip_proof(services, user).await?,
        (Some(_), true) => {
            return Err(ApiError::malformed(
                "Give either \"pin\" or \"skip\": true, not both.",
            ))
        }
        (None, false) => {
            return Err(ApiError::field(FieldProblem::Missing, "/pin").with_detail(
                "Give \"pin\" (four digits), or \"skip\": true to give up the proof.",
            ))
        }
    }
    Ok(empty_response(StatusCode::NO_CONTENT))
}

fn malformed_pin() -> ApiError {
    ApiError::malformed("\"pin\" must be a string of exactly four digits 0-9.").pointer("/pin")
}

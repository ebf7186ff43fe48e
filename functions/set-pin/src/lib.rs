//! P6 `PUT /user/pin`: sets or replaces the caller's PIN. Body
//! `{"pin", "password"}`; the current password is required when the user has one.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use password_service::domain::{Pin, Secret};
use password_service::flows::{caller, set_pin};
use password_service::http::jsonapi::ApiError;
use password_service::http::{empty_response, json_object, string_field, FieldProblem, MediaTypes};
use password_service::rate_limit::Limit;
use password_service::services::Services;
use serde_json::Value;

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    respond(services, &request)
        .await
        .unwrap_or_else(ApiError::into_response)
}

async fn respond(services: &Services, request: &Request) -> Result<Response<Body>, ApiError> {
    let (_caller, user, window) = caller::authenticate_user_with_window(
        services,
        password_service::http::authorization(request),
        Limit::WrongSecrets,
    )
    .await?;
    let body = json_object(request, MediaTypes::JsonApi)?;
    let pin = string_field(&body, "pin").map_err(|p| ApiError::field(p, "/pin"))?;
    let pin = Pin::parse(pin).ok_or_else(|| {
        ApiError::malformed("\"pin\" must be a string of exactly four digits 0-9.").pointer("/pin")
    })?;
    let password = match body.get("password") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(Secret::new(p.as_str())),
        Some(_) => return Err(ApiError::field(FieldProblem::WrongType, "/password")),
    };
    set_pin::set_pin(services, user, &window, &pin, password.as_ref()).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

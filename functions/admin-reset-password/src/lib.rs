//! O1 `POST /v1/users/{user_id}/reset-password`: an admin (scope
//! `users:resetPassword`) sets a user's password. The admin API's contract:
//! `{"code", "message", "description"}` errors with its exact wording.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use password_service::auth::SCOPE_RESET_PASSWORD;
use password_service::domain::{Secret, UserId};
use password_service::error::ServiceError;
use password_service::flows::{admin_reset, caller};
use password_service::http::admin::{AdminError, INVALID_FIELDS, MISSING_FIELDS};
use password_service::http::{empty_response, json_object, path_parameter, MediaTypes};
use password_service::services::Services;
use serde_json::Value;

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    respond(services, &request)
        .await
        .unwrap_or_else(AdminError::into_response)
}

async fn respond(services: &Services, request: &Request) -> Result<Response<Body>, AdminError> {
    let admin =
        caller::authenticate_caller(services, password_service::http::authorization(request))
            .await?;
    if !admin.has_scope(SCOPE_RESET_PASSWORD) {
        return Err(ServiceError::Forbidden(SCOPE_RESET_PASSWORD.into()).into());
    }
    let user_id = UserId::parse(&path_parameter(request, "user_id")).ok_or_else(|| {
        AdminError::new(
            StatusCode::BAD_REQUEST,
            "Invalid user ID...",
            "user_id must be 24 hexadecimal characters (^[0-9a-fA-F]{24}$).",
        )
    })?;
    let body = json_object(request, MediaTypes::Json)?;
    let new_password = match body.get("new_password") {
        // `null` means absent, for every field of every family.
        None | Some(Value::Null) => Err(AdminError::new(
            StatusCode::BAD_REQUEST,
            MISSING_FIELDS,
            "new_password is required!",
        )),
        Some(Value::String(s)) if s.is_empty() => Err(AdminError::new(
            StatusCode::BAD_REQUEST,
            INVALID_FIELDS,
            "new_password must have at least one character!",
        )),
        Some(Value::String(s)) => Ok(Secret::new(s.as_str())),
        Some(_) => Err(AdminError::new(
            StatusCode::BAD_REQUEST,
            INVALID_FIELDS,
            "new_password must be a string!",
        )),
    }?;
    admin_reset::reset_password(services, &admin, &user_id, &new_password).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

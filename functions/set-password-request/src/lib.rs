//! P1 `PUT /user/password`: emails the caller a link to set a first password.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use password_service::clock::rfc3339_millis;
use password_service::error::ServiceError;
use password_service::flows::{caller, password_link};
use password_service::http::jsonapi::{meta_document, ApiError};
use password_service::http::{json_object, stage_url, MediaTypes};
use password_service::services::Services;
use serde_json::json;

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    respond(services, &request)
        .await
        .unwrap_or_else(ApiError::into_response)
}

async fn respond(services: &Services, request: &Request) -> Result<Response<Body>, ApiError> {
    let (_caller, user) =
        caller::authenticate_user(services, password_service::http::authorization(request)).await?;
    // The request has no fields, but a body that is sent must still be sound.
    json_object(request, MediaTypes::JsonApi)?;
    let page_url = services
        .config
        .mail
        .set_password_url
        .clone()
        .or_else(|| stage_url(request, "/user/password/set"))
        .ok_or_else(|| ServiceError::Internal("no SET_PASSWORD_URL and no stage URL".into()))?;
    let expires_at = password_link::request_link(services, &user, &page_url).await?;
    Ok(meta_document(
        StatusCode::ACCEPTED,
        json!({
            "status": "confirmation-pending",
            "detail": "An email with a link to set the password has been sent.",
            "linkExpiresAt": rfc3339_millis(expires_at * 1000),
        }),
    ))
}

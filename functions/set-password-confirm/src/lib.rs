//! P2 `POST /user/password/confirm`: sets the first password with the token
//! from the emailed link. No bearer token: the link is the credential.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use password_service::domain::Secret;
use password_service::flows::password_link;
use password_service::http::jsonapi::ApiError;
use password_service::http::{
    client_address, empty_response, json_object, string_field, MediaTypes,
};
use password_service::services::Services;

/// Far above a real token (43 characters); anything longer is not one.
const MAX_TOKEN_CHARS: usize = 512;

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    respond(services, &request)
        .await
        .unwrap_or_else(ApiError::into_response)
}

async fn respond(services: &Services, request: &Request) -> Result<Response<Body>, ApiError> {
    let body = json_object(request, MediaTypes::JsonApi)?;
    let token = string_field(&body, "token").map_err(|p| ApiError::field(p, "/token"))?;
    let password = string_field(&body, "password").map_err(|p| ApiError::field(p, "/password"))?;
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Err(
            ApiError::malformed("The token must be the value from the emailed link.")
                .pointer("/token"),
        );
    }
    let client = client_address(request);
    password_link::confirm(
        services,
        client.as_deref(),
        &Secret::new(token),
        &Secret::new(password),
    )
    .await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

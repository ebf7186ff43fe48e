//! P7 `/user/otp`: the caller enrols an authenticator app as their device
//! OTP. `POST {"password"}` starts an enrolment (201 with the secret, its
//! `otpauth://` URI and a QR code of it); `PUT {"code"}` activates it with a
//! first code (204); `DELETE {"password"}` removes the device (204). The
//! password is required when the user has one.

use lambda_http::http::header::{ALLOW, CACHE_CONTROL};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use password_service::clock::rfc3339_millis;
use password_service::domain::{totp, OtpCode, Secret};
use password_service::flows::{caller, device_otp};
use password_service::http::jsonapi::{resource_document, ApiError};
use password_service::http::{empty_response, json_object, string_field, FieldProblem, MediaTypes};
use password_service::rate_limit::Limit;
use password_service::services::Services;
use serde_json::{json, Map, Value};

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let response = match *request.method() {
        Method::POST => start_enrolment(services, &request).await,
        Method::PUT => activate(services, &request).await,
        Method::DELETE => remove(services, &request).await,
        _ => Err(method_not_allowed()),
    };
    response.unwrap_or_else(|error| {
        let not_allowed = error.status == StatusCode::METHOD_NOT_ALLOWED;
        let mut response = error.into_response();
        if not_allowed {
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST, PUT, DELETE"));
        }
        response
    })
}

async fn start_enrolment(
    services: &Services,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let (_caller, user, window) = caller::authenticate_user_with_window(
        services,
        password_service::http::authorization(request),
        Limit::WrongSecrets,
    )
    .await?;
    let body = json_object(request, MediaTypes::JsonApi)?;
    let password = password(&body)?;
    let user_id = user.id.clone();
    let started = device_otp::start_enrolment(services, user, &window, password.as_ref()).await?;
    let enrolment = &started.enrolment;
    let mut response = resource_document(
        StatusCode::CREATED,
        "otp-enrolments",
        user_id.as_str(),
        json!({
            "secret": enrolment.secret.expose(),
            "otpauthUri": enrolment.uri.expose(),
            "qrCodeSvg": enrolment.qr_svg.expose(),
            "algorithm": "SHA1",
            "digits": totp::DIGITS,
            "period": totp::STEP_SECONDS,
            "expiresAt": rfc3339_millis(started.expires_at * 1000),
        }),
    );
    // The answer carries the secret: no cache may keep it.
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn activate(services: &Services, request: &Request) -> Result<Response<Body>, ApiError> {
    let (_caller, user, pending) = caller::authenticate_user_with_otp_enrolment(
        services,
        password_service::http::authorization(request),
    )
    .await?;
    let body = json_object(request, MediaTypes::JsonApi)?;
    let code = string_field(&body, "code").map_err(|p| ApiError::field(p, "/code"))?;
    let code = OtpCode::parse(code).ok_or_else(|| {
        ApiError::malformed("\"code\" must be a string of exactly six digits 0-9.").pointer("/code")
    })?;
    device_otp::activate(services, user, pending, &code).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

async fn remove(services: &Services, request: &Request) -> Result<Response<Body>, ApiError> {
    let (_caller, user, window) = caller::authenticate_user_with_window(
        services,
        password_service::http::authorization(request),
        Limit::WrongSecrets,
    )
    .await?;
    let body = json_object(request, MediaTypes::JsonApi)?;
    let password = password(&body)?;
    device_otp::remove(services, user, &window, password.as_ref()).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// The current password, where given (`null` is absent).
fn password(body: &Map<String, Value>) -> Result<Option<Secret>, ApiError> {
    match body.get("password") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(p)) => Ok(Some(Secret::new(p.as_str()))),
        Some(_) => Err(ApiError::field(FieldProblem::WrongType, "/password")),
    }
}

fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "/user/otp answers POST, PUT and DELETE.",
    )
}

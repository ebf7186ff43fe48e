//! Family O errors: `{"code", "message", "description"}`, `code` equal to the
//! HTTP status.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;

use super::{json_response, BodyError, ErrorHeaders};
use crate::error::ServiceError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    pub status: StatusCode,
    pub message: String,
    pub description: String,
    pub headers: ErrorHeaders,
}

impl AdminError {
    pub fn new(
        status: StatusCode,
        message: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            message: message.into(),
            description: description.into(),
            headers: ErrorHeaders::default(),
        }
    }

    pub fn headers(mut self, headers: ErrorHeaders) -> Self {
        self.headers = headers;
        self
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            "The request could not be completed. Please try again later.",
        )
    }

    pub fn into_response(self) -> Response<Body> {
        let body = json!({
            "code": self.status.as_u16(),
            "message": self.message,
            "description": self.description,
        });
        let mut response = json_response(self.status, "application/json", &body);
        self.headers.apply(&mut response);
        response
    }
}

impl From<BodyError> for AdminError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge => AdminError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body too large",
                "The request body must not exceed 16 KiB.",
            ),
            BodyError::UnsupportedMediaType => AdminError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                "Send application/json.",
            ),
            BodyError::NotUtf8 => AdminError::new(
                StatusCode::BAD_REQUEST,
                "Invalid JSON format...",
                "The request body is not valid UTF-8.",
            ),
            BodyError::InvalidJson(why) => AdminError::new(
                StatusCode::BAD_REQUEST,
                "Invalid JSON format...",
                format!("The request body could not be parsed: {why}."),
            ),
            BodyError::NotAnObject => AdminError::new(
                StatusCode::BAD_REQUEST,
                "Invalid JSON format...",
                "The request body must be a JSON object.",
            ),
        }
    }
}

/// Family O's rendering of the outcomes the flows share.
impl From<ServiceError> for AdminError {
    fn from(error: ServiceError) -> Self {
        let headers = ErrorHeaders::of(&error);
        let rendered = match error {
            ServiceError::Unauthenticated(auth) => AdminError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                format!("A valid bearer token is required: {auth}."),
            ),
            ServiceError::Forbidden(scope) => AdminError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!("Insufficient scope: {scope} is required."),
            ),
            ServiceError::MissingLinkedIdentity => AdminError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "The account lacks the linked identity this service requires.",
            ),
            ServiceError::UserNotFound => AdminError::new(
                StatusCode::NOT_FOUND,
                "Not Found",
                "The user does not exist.",
            ),
            ServiceError::PasswordAlreadySet => AdminError::new(
                StatusCode::CONFLICT,
                "Conflict",
                "The user already has a password.",
            ),
            ServiceError::TokenInvalid => AdminError::new(
                StatusCode::GONE,
                "Gone",
                "The link is unknown, already used or expired.",
            ),
            ServiceError::Policy(violation) => AdminError::new(
                StatusCode::BAD_REQUEST,
                INVALID_FIELDS,
                format!(
                    "new_password is not acceptable ({}): {violation}",
                    violation.code()
                ),
            ),
            ServiceError::RateLimited {
                retry_after_seconds,
            } => AdminError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                format!("Too many requests. Try again in {retry_after_seconds} seconds."),
            ),
            // The PIN and current-password outcomes belong to other families'
            // endpoints; rendered here only so that every outcome has a shape.
            ServiceError::PinInvalid { .. }
            | ServiceError::OtpInvalid { .. }
            | ServiceError::OtpAlreadyUsed { .. }
            | ServiceError::WrongPassword
            | ServiceError::InvalidVerificationCode => AdminError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "The secret given is not correct.",
            ),
            ServiceError::NoProofDefined | ServiceError::OtpNotSet => AdminError::new(
                StatusCode::NOT_FOUND,
                "Not Found",
                "The user has no such second factor.",
            ),
            ServiceError::CriticalDataDeleted { .. } => {
                AdminError::new(StatusCode::GONE, "Gone", "Too many wrong PINs or codes.")
            }
            ServiceError::OtpEnrolmentNotPending => AdminError::new(
                StatusCode::CONFLICT,
                "Conflict",
                "No OTP enrolment is pending.",
            ),
            ServiceError::PasswordRequired => AdminError::new(
                StatusCode::BAD_REQUEST,
                MISSING_FIELDS,
                "password is required!",
            ),
            ServiceError::InvalidField { field, description } => AdminError::new(
                StatusCode::BAD_REQUEST,
                INVALID_FIELDS,
                format!("{field} {description}"),
            ),
            ServiceError::Internal(cause) => {
                super::log_internal_error(&cause);
                AdminError::internal()
            }
        };
        rendered.headers(headers)
    }
}

/// The admin API's message for a field that is present but not acceptable.
pub const INVALID_FIELDS: &str = "One or more request fields are invalid...";
/// The admin API's message for a required field that is absent.
pub const MISSING_FIELDS: &str = "Required fields were not provided...";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_equals_the_http_status() {
        let response = AdminError::new(
            StatusCode::BAD_REQUEST,
            "Required fields were not provided...",
            "new_password is required!",
        )
        .into_response();
        assert_eq!(response.status(), 400);
        let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(
            body,
            json!({
                "code": 400,
                "message": "Required fields were not provided...",
                "description": "new_password is required!"
            })
        );
    }

    #[test]
    fn invalid_json_says_so() {
        let error = AdminError::from(BodyError::InvalidJson("EOF".into()));
        assert_eq!(error.status, 400);
        assert!(error.message.starts_with("Invalid JSON format"));
    }
}

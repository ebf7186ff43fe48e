//! Family P errors: JSON:API error objects (`application/vnd.api+json`).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::{json, Map, Value};

use super::{json_response, BodyError, ErrorHeaders, FieldProblem, JSON_API_MEDIA_TYPE};
use crate::auth::AuthError;
use crate::domain::random_hex;
use crate::error::ServiceError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A JSON Pointer into the request body, e.g. `/password`.
    Pointer(String),
    /// A query parameter, e.g. `pin`.
    Parameter(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable kebab-case identifier clients switch on.
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
    // Boxed: most errors have neither, and errors travel in `Result`s.
    pub source: Option<Box<Source>>,
    pub meta: Option<Map<String, Value>>,
    pub headers: Box<ErrorHeaders>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into(),
            source: None,
            meta: None,
            headers: Box::default(),
        }
    }

    pub fn pointer(mut self, pointer: &str) -> Self {
        self.source = Some(Box::new(Source::Pointer(pointer.to_string())));
        self
    }

    pub fn parameter(mut self, name: &str) -> Self {
        self.source = Some(Box::new(Source::Parameter(name.to_string())));
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    pub fn meta(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.meta
            .get_or_insert_with(Map::new)
            .insert(key.to_string(), value.into());
        self
    }

    pub fn headers(mut self, headers: ErrorHeaders) -> Self {
        self.headers = Box::new(headers);
        self
    }

    /// The original documents 501 for internal errors; the cause is logged by
    /// the caller, never shown.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            "internal-error",
            "Internal error",
            "The request could not be completed. Please try again later.",
        )
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
            detail,
        )
    }

    /// A body field that is absent, `null`, or of the wrong type.
    pub fn field(problem: FieldProblem, pointer: &str) -> Self {
        let name = pointer.trim_start_matches('/');
        match problem {
            FieldProblem::Missing => ApiError::new(
                StatusCode::BAD_REQUEST,
                "missing-field",
                "Missing field",
                format!("The field \"{name}\" is required."),
            ),
            FieldProblem::WrongType => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid-field",
                "Invalid field",
                format!("The field \"{name}\" must be a string."),
            ),
        }
        .pointer(pointer)
    }

    pub fn into_response(self) -> Response<Body> {
        let mut error = json!({
            // Unique per occurrence, so a report can be matched to a log line.
            "id": random_hex(16),
            "status": self.status.as_str(),
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
        });
        match self.source.map(|s| *s) {
            Some(Source::Pointer(p)) => error["source"] = json!({ "pointer": p }),
            Some(Source::Parameter(p)) => error["source"] = json!({ "parameter": p }),
            None => {}
        }
        if let Some(meta) = self.meta {
            error["meta"] = Value::Object(meta);
        }
        let mut response = json_response(
            self.status,
            JSON_API_MEDIA_TYPE,
            &json!({ "errors": [error] }),
        );
        self.headers.apply(&mut response);
        response
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
                "The request body must not exceed 16 KiB.",
            ),
            BodyError::UnsupportedMediaType => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "Send application/vnd.api+json (parameters ext and profile only) or application/json.",
            ),
            BodyError::NotUtf8 => ApiError::malformed("The request body is not valid UTF-8."),
            BodyError::InvalidJson(why) => {
                ApiError::malformed(format!("The request body is not valid JSON: {why}."))
            }
            BodyError::NotAnObject => ApiError::malformed("The request body must be a JSON object."),
        }
    }
}

/// A JSON:API document with top-level `meta` only, for answers that carry no
/// resource (202 Accepted).
pub fn meta_document(status: StatusCode, meta: Value) -> Response<Body> {
    json_response(status, JSON_API_MEDIA_TYPE, &json!({ "meta": meta }))
}

/// A JSON:API document with one resource object (`type`, `id`, `attributes`).
pub fn resource_document(
    status: StatusCode,
    kind: &str,
    id: &str,
    attributes: Value,
) -> Response<Body> {
    json_response(
        status,
        JSON_API_MEDIA_TYPE,
        &json!({ "data": { "type": kind, "id": id, "attributes": attributes } }),
    )
}

/// Family P's rendering of the outcomes the flows share.
impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let headers = ErrorHeaders::of(&error);
        let rendered = match error {
            ServiceError::Unauthenticated(auth) => ApiError::new(
                StatusCode::UNAUTHORIZED,
                match auth {
                    AuthError::Missing => "authentication-required",
                    AuthError::InvalidToken(_) => "invalid-token",
                },
                "Unauthorized",
                auth.to_string(),
            ),
            ServiceError::MissingLinkedIdentity => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing-linked-identity",
                "Unauthorized",
                "The account lacks the linked identity this service requires.",
            ),
            ServiceError::Forbidden(scope) => ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient-scope",
                "Forbidden",
                format!("The token lacks the scope {scope}."),
            ),
            ServiceError::UserNotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "user-not-found",
                "User not found",
                "The user named by the token does not exist.",
            ),
            ServiceError::PasswordAlreadySet => ApiError::new(
                StatusCode::CONFLICT,
                "password-already-set",
                "Password already set",
                "The user already has a password; change it instead.",
            ),
            ServiceError::TokenInvalid => ApiError::new(
                StatusCode::GONE,
                "token-invalid",
                "Link no longer valid",
                "The link is unknown, already used or expired. Request a new one.",
            )
            .pointer("/token"),
            ServiceError::Policy(violation) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                violation.code(),
                "Password rejected",
                violation.to_string(),
            )
            .pointer("/password"),
            ServiceError::RateLimited {
                retry_after_seconds,
            } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
                format!("Too many requests. Try again in {retry_after_seconds} seconds."),
            ),
            ServiceError::PinInvalid { remaining_attempts } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "pin-invalid",
                "Wrong PIN",
                "The PIN is not correct.",
            )
            .pointer("/pin")
            .meta("remainingAttempts", remaining_attempts),
            ServiceError::OtpInvalid { remaining_attempts } => {
                let wrong = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "otp-invalid",
                    "Wrong code",
                    "The code is not correct.",
                );
                match remaining_attempts {
                    // P5: under the PIN rule.
                    Some(remaining) => wrong.pointer("/otp").meta("remainingAttempts", remaining),
                    // P7's activation.
                    None => wrong.pointer("/code"),
                }
            }
            ServiceError::OtpAlreadyUsed { remaining_attempts } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "otp-already-used",
                "Code already used",
                "This code was accepted already; wait for the next one. It was not counted as a wrong attempt.",
            )
            .pointer("/otp")
            .meta("remainingAttempts", remaining_attempts),
            ServiceError::NoProofDefined => ApiError::new(
                StatusCode::NOT_FOUND,
                "no-proof-defined",
                "No second factor defined",
                "The user has neither a PIN nor a device OTP to prove.",
            ),
            ServiceError::CriticalDataDeleted { retry_after_seconds } => ApiError::new(
                StatusCode::GONE,
                "critical-data-deleted",
                "Too many wrong attempts",
                "Too many wrong PINs or codes: the payment methods were deleted, and attempts are refused until the window ends.",
            )
            .meta("windowEndsInSeconds", retry_after_seconds),
            ServiceError::OtpEnrolmentNotPending => ApiError::new(
                StatusCode::CONFLICT,
                "otp-enrolment-not-pending",
                "No enrolment pending",
                "No device OTP enrolment is pending: it was activated, replaced or has expired. Start one with POST.",
            ),
            ServiceError::OtpNotSet => ApiError::new(
                StatusCode::NOT_FOUND,
                "otp-not-set",
                "No device OTP",
                "The user has no device OTP to remove.",
            ),
            ServiceError::PasswordRequired => ApiError::field(FieldProblem::Missing, "/password"),
            ServiceError::WrongPassword => ApiError::new(
                StatusCode::FORBIDDEN,
                "password-invalid",
                "Wrong password",
                "The current password is not correct.",
            )
            .pointer("/password"),
            ServiceError::InvalidVerificationCode => ApiError::new(
                StatusCode::BAD_REQUEST,
                "code-invalid",
                "Invalid code",
                "The code is wrong, used, replaced or expired.",
            ),
            ServiceError::InvalidField { field, description } => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid-field",
                "Invalid field",
                description,
            )
            .pointer(&format!("/{}", field.replace('.', "/"))),
            ServiceError::Internal(cause) => {
                super::log_internal_error(&cause);
                ApiError::internal()
            }
        };
        rendered.headers(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(response: &Response<Body>) -> Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[test]
    fn error_objects_have_every_member_and_a_string_status() {
        let response = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "password-too-short",
            "Password rejected",
            "Too short.",
        )
        .pointer("/password")
        .meta("minLength", 8)
        .into_response();
        assert_eq!(response.status(), 422);
        assert_eq!(response.headers()["content-type"], JSON_API_MEDIA_TYPE);
        let body = body_of(&response);
        let error = &body["errors"][0];
        assert_eq!(error["status"], "422");
        assert_eq!(error["code"], "password-too-short");
        assert_eq!(error["source"]["pointer"], "/password");
        assert_eq!(error["meta"]["minLength"], 8);
        assert_eq!(error["id"].as_str().unwrap().len(), 32);
    }

    #[test]
    fn ids_are_unique_per_occurrence() {
        let a = body_of(&ApiError::internal().into_response());
        let b = body_of(&ApiError::internal().into_response());
        assert_ne!(a["errors"][0]["id"], b["errors"][0]["id"]);
    }

    #[test]
    fn internal_errors_are_501() {
        assert_eq!(ApiError::internal().into_response().status(), 501);
    }

    #[test]
    fn parameter_sources_and_retry_after() {
        let response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-requests",
            "Too many requests",
            "Later.",
        )
        .parameter("pin")
        .headers(ErrorHeaders {
            retry_after_seconds: Some(42),
            ..Default::default()
        })
        .into_response();
        assert_eq!(response.headers()["retry-after"], "42");
        assert_eq!(
            body_of(&response)["errors"][0]["source"]["parameter"],
            "pin"
        );
    }

    #[test]
    fn authentication_failures_carry_a_bearer_challenge() {
        let missing =
            ApiError::from(ServiceError::Unauthenticated(AuthError::Missing)).into_response();
        assert_eq!(missing.status(), 401);
        assert!(!missing.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error="));
        let invalid = ApiError::from(ServiceError::Unauthenticated(AuthError::InvalidToken("x")))
            .into_response();
        assert!(invalid.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#));
    }

    #[test]
    fn internal_causes_are_not_shown() {
        let response = ApiError::from(ServiceError::Internal("table users-xyz throttled".into()))
            .into_response();
        assert_eq!(response.status(), 501);
        assert!(!String::from_utf8_lossy(response.body().as_ref()).contains("users-xyz"));
    }

    #[test]
    fn body_errors_map_to_413_415_400() {
        assert_eq!(ApiError::from(BodyError::TooLarge).status, 413);
        assert_eq!(ApiError::from(BodyError::UnsupportedMediaType).status, 415);
        assert_eq!(ApiError::from(BodyError::NotUtf8).status, 400);
        assert_eq!(ApiError::from(BodyError::NotAnObject).status, 400);
    }
}

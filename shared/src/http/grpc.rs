//! Family Z errors: a gRPC status as JSON, with HTTP status codes by the
//! grpc-gateway mapping.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::{json, Value};

use super::{json_response, BodyError, ErrorHeaders};
use crate::clock::rfc3339_millis;
use crate::domain::ChangeDetails;
use crate::error::ServiceError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    InvalidArgument = 3,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Internal = 13,
    Unavailable = 14,
    Unauthenticated = 16,
}

impl Code {
    pub fn http_status(self) -> StatusCode {
        match self {
            Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
                StatusCode::BAD_REQUEST
            }
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The request's camelCase path, e.g. `newPassword.password`.
    pub field: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub code: Code,
    pub message: String,
    pub field_violations: Vec<FieldViolation>,
    pub headers: ErrorHeaders,
    /// Overrides the mapped HTTP status where the SPEC asks for one the
    /// mapping has no code for (413, 415).
    pub http_status: Option<StatusCode>,
}

impl Status {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field_violations: Vec::new(),
            headers: ErrorHeaders::default(),
            http_status: None,
        }
    }

    pub fn violation(mut self, field: &str, description: impl Into<String>) -> Self {
        self.field_violations.push(FieldViolation {
            field: field.to_string(),
            description: description.into(),
        });
        self
    }

    pub fn headers(mut self, headers: ErrorHeaders) -> Self {
        self.headers = headers;
        self
    }

    pub fn internal() -> Self {
        Self::new(Code::Internal, "internal error")
    }

    pub fn into_response(self) -> Response<Body> {
        let details: Vec<Value> = if self.field_violations.is_empty() {
            Vec::new()
        } else {
            let violations: Vec<Value> = self
                .field_violations
                .iter()
                .map(|v| json!({ "field": v.field, "description": v.description }))
                .collect();
            vec![json!({
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": violations,
            })]
        };
        let body = json!({ "code": self.code as i32, "message": self.message, "details": details });
        let status = self.http_status.unwrap_or(self.code.http_status());
        let mut response = json_response(status, "application/json", &body);
        self.headers.apply(&mut response);
        response
    }
}

impl From<BodyError> for Status {
    fn from(error: BodyError) -> Self {
        match error {
            // 413 and 415 are the SPEC's rule for every family; the gRPC code
            // stays the gateway's for a bad request.
            BodyError::TooLarge => Status {
                http_status: Some(StatusCode::PAYLOAD_TOO_LARGE),
                ..Status::new(Code::InvalidArgument, "request body exceeds 16 KiB")
            },
            BodyError::UnsupportedMediaType => Status {
                http_status: Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
                ..Status::new(
                    Code::InvalidArgument,
                    "unsupported media type: send application/json",
                )
            },
            BodyError::NotUtf8 => {
                Status::new(Code::InvalidArgument, "request body is not valid UTF-8")
            }
            BodyError::InvalidJson(why) => {
                Status::new(Code::InvalidArgument, format!("invalid JSON: {why}"))
            }
            BodyError::NotAnObject => {
                Status::new(Code::InvalidArgument, "request body must be a JSON object")
            }
        }
    }
}

/// Family Z's rendering of the outcomes the flows share.
impl From<ServiceError> for Status {
    fn from(error: ServiceError) -> Self {
        let headers = ErrorHeaders::of(&error);
        let rendered = match error {
            ServiceError::Unauthenticated(auth) => {
                Status::new(Code::Unauthenticated, auth.to_string())
            }
            ServiceError::Forbidden(scope) => Status::new(
                Code::PermissionDenied,
                format!("permission denied: only the user or a caller with {scope} may do this"),
            ),
            ServiceError::MissingLinkedIdentity => Status::new(
                Code::Unauthenticated,
                "the account lacks the required linked identity",
            ),
            ServiceError::UserNotFound => Status::new(Code::NotFound, "user not found"),
            ServiceError::PasswordAlreadySet => {
                Status::new(Code::FailedPrecondition, "the user already has a password")
            }
            ServiceError::TokenInvalid => {
                Status::new(Code::FailedPrecondition, "the link is no longer valid")
            }
            ServiceError::Policy(violation) => {
                Status::new(Code::InvalidArgument, "the new password is not acceptable").violation(
                    "newPassword.password",
                    format!("{}: {violation}", violation.code()),
                )
            }
            ServiceError::WrongPassword => {
                Status::new(Code::InvalidArgument, "invalid current password")
                    .violation("currentPassword", "the current password is not correct")
            }
            ServiceError::InvalidVerificationCode => {
                Status::new(Code::InvalidArgument, "invalid verification code").violation(
                    "verificationCode",
                    "the code is wrong, used, replaced or expired",
                )
            }
            ServiceError::PasswordRequired => {
                Status::new(Code::InvalidArgument, "the current password is required")
                    .violation("currentPassword", "required")
            }
            ServiceError::PinInvalid { .. } => Status::new(Code::InvalidArgument, "wrong PIN"),
            ServiceError::OtpInvalid { .. } => Status::new(Code::InvalidArgument, "wrong code"),
            ServiceError::OtpAlreadyUsed { .. } => {
                Status::new(Code::InvalidArgument, "the code was used already")
            }
            ServiceError::NoProofDefined => {
                Status::new(Code::NotFound, "the user has no second factor")
            }
            ServiceError::OtpNotSet => Status::new(Code::NotFound, "the user has no device OTP"),
            ServiceError::CriticalDataDeleted { .. } => {
                Status::new(Code::FailedPrecondition, "too many wrong proofs")
            }
            ServiceError::OtpEnrolmentNotPending => {
                Status::new(Code::FailedPrecondition, "no OTP enrolment is pending")
            }
            ServiceError::RateLimited {
                retry_after_seconds,
            } => Status::new(
                Code::ResourceExhausted,
                format!("too many attempts; retry in {retry_after_seconds} s"),
            ),
            ServiceError::InvalidField { field, description } => {
                Status::new(Code::InvalidArgument, "invalid request").violation(field, description)
            }
            ServiceError::Internal(cause) => {
                super::log_internal_error(&cause);
                Status::internal()
            }
        };
        rendered.headers(headers)
    }
}

/// Family Z's `details` of a change: `sequence` as a decimal string,
/// `changeDate` RFC 3339 UTC with milliseconds.
pub fn details_json(details: &ChangeDetails) -> Value {
    json!({
        "sequence": details.sequence.to_string(),
        "changeDate": rfc3339_millis(details.change_date),
        "resourceOwner": details.resource_owner,
    })
}

/// A 200 answer of family Z.
pub fn ok(body: &Value) -> Response<Body> {
    json_response(StatusCode::OK, "application/json", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_gateway_mapping() {
        let cases = [
            (Code::InvalidArgument, 400),
            (Code::FailedPrecondition, 400),
            (Code::OutOfRange, 400),
            (Code::Unauthenticated, 401),
            (Code::PermissionDenied, 403),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::Aborted, 409),
            (Code::ResourceExhausted, 429),
            (Code::Internal, 500),
            (Code::Unavailable, 503),
        ];
        for (code, http) in cases {
            assert_eq!(code.http_status(), http, "{code:?}");
        }
    }

    #[test]
    fn field_violations_render_as_google_rpc_bad_request() {
        let response = Status::new(Code::InvalidArgument, "invalid request")
            .violation("newPassword.password", "must not be empty")
            .into_response();
        assert_eq!(response.status(), 400);
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["code"], 3);
        assert_eq!(
            body["details"][0]["@type"],
            "type.googleapis.com/google.rpc.BadRequest"
        );
        assert_eq!(
            body["details"][0]["fieldViolations"][0]["field"],
            "newPassword.password"
        );
    }

    #[test]
    fn oversized_bodies_are_413_with_code_3() {
        let response = Status::from(BodyError::TooLarge).into_response();
        assert_eq!(response.status(), 413);
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["code"], 3);
    }

    #[test]
    fn internal_is_500_code_13() {
        let response = Status::internal().into_response();
        assert_eq!(response.status(), 500);
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["code"], 13);
        assert_eq!(body["details"], json!([]));
    }
}

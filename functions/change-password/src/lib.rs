//! Z2 `POST /v2/users/{userId}/password`: changes a password with the
//! current password or a reset code, or as an admin with neither. Errors are
//! gRPC statuses, field violations named by the request's camelCase paths.

use lambda_http::{Body, Request, Response};
use password_service::auth::Actor;
use password_service::domain::{Secret, PASSWORD_MAX_LENGTH};
use password_service::error::ServiceError;
use password_service::flows::caller;
use password_service::flows::change_with_proof::{self, ProofGiven};
use password_service::http::grpc::{details_json, ok, Code, FieldViolation, Status};
use password_service::http::{json_object, path_parameter, MediaTypes};
use password_service::services::Services;
use serde_json::{json, Map, Value};

const MAX_CODE_CHARS: usize = 20;

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    respond(services, &request)
        .await
        .unwrap_or_else(Status::into_response)
}

struct Fields {
    password: Secret,
    change_required: bool,
    current_password: Option<Secret>,
    verification_code: Option<Secret>,
}

async fn respond(services: &Services, request: &Request) -> Result<Response<Body>, Status> {
    let caller = caller::authenticate_token(services, request.headers())?;
    let user_id = path_parameter(request, "userId");
    // Before anything is looked up or even validated: no enumeration.
    let actor = caller.authorise(&user_id).map_err(ServiceError::from)?;
    let body = json_object(request, MediaTypes::Json)?;
    let fields = fields(&body)?;
    let proof = match (fields.current_password, fields.verification_code) {
        (Some(current), None) => Some(ProofGiven::CurrentPassword(current)),
        (None, Some(code)) => Some(ProofGiven::VerificationCode(code)),
        (None, None) if actor == Actor::Admin => None,
        (current, _) => {
            let description = if current.is_some() {
                "give currentPassword or verificationCode, not both"
            } else {
                "give currentPassword or verificationCode"
            };
            return Err(Status::new(Code::InvalidArgument, "invalid request")
                .violation("currentPassword", description)
                .violation("verificationCode", description));
        }
    };
    let details = change_with_proof::change_password(
        services,
        &caller,
        actor,
        &user_id,
        &fields.password,
        fields.change_required,
        proof,
    )
    .await?;
    Ok(ok(&json!({ "details": details_json(&details) })))
}

/// Every field rule at once: one violation per broken field.
fn fields(body: &Map<String, Value>) -> Result<Fields, Status> {
    let mut violations = Vec::new();
    let new_password = match body.get("newPassword") {
        None | Some(Value::Null) => {
            violations.push(violation("newPassword", "required"));
            None
        }
        Some(Value::Object(inner)) => Some(inner),
        Some(_) => {
            violations.push(violation("newPassword", "must be an object"));
            None
        }
    };
    let password = new_password.and_then(|inner| {
        required_text(
            inner.get("password"),
            "newPassword.password",
            PASSWORD_MAX_LENGTH,
            &mut violations,
        )
    });
    let change_required = match new_password.and_then(|inner| inner.get("changeRequired")) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            violations.push(violation(
                "newPassword.changeRequired",
                "must be true or false",
            ));
            false
        }
    };
    let current_password = optional_text(
        body.get("currentPassword"),
        "currentPassword",
        PASSWORD_MAX_LENGTH,
        &mut violations,
    );
    let verification_code = optional_text(
        body.get("verificationCode"),
        "verificationCode",
        MAX_CODE_CHARS,
        &mut violations,
    );
    match password {
        Some(password) if violations.is_empty() => Ok(Fields {
            password,
            change_required,
            current_password,
            verification_code,
        }),
        _ => Err(Status {
            field_violations: violations,
            ..Status::new(Code::InvalidArgument, "invalid request")
        }),
    }
}

fn violation(field: &str, description: &str) -> FieldViolation {
    FieldViolation {
        field: field.to_string(),
        description: description.to_string(),
    }
}

fn required_text(
    value: Option<&Value>,
    field: &str,
    max: usize,
    violations: &mut Vec<FieldViolation>,
) -> Option<Secret> {
    if value.is_none_or(Value::is_null) {
        violations.push(violation(field, "required"));
        return None;
    }
    optional_text(value, field, max, violations)
}

/// A string of 1 to `max` characters; absent or `null` is `None`.
fn optional_text(
    value: Option<&Value>,
    field: &str,
    max: usize,
    violations: &mut Vec<FieldViolation>,
) -> Option<Secret> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => {
            violations.push(violation(field, "must not be empty"));
            None
        }
        Some(Value::String(s)) if s.chars().count() > max => {
            violations.push(violation(
                field,
                &format!("must be at most {max} characters"),
            ));
            None
        }
        Some(Value::String(s)) => Some(Secret::new(s.as_str())),
        Some(_) => {
            violations.push(violation(field, "must be a string"));
            None
        }
    }
}

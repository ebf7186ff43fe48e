//! Z1 `POST /v2/users/{userId}/password_reset`: issues a reset code, mailed
//! (`sendLink`, the default) or answered to an admin (`returnCode`). Errors
//! are gRPC statuses, as the v2 user service's.

use lambda_http::{Body, Request, Response};
use password_service::error::ServiceError;
use password_service::flows::caller;
use password_service::flows::reset_code::{self, Delivery};
use password_service::http::grpc::{details_json, ok, Code, Status};
use password_service::http::{json_object, path_parameter, MediaTypes};
use password_service::services::Services;
use serde_json::{json, Map, Value};

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    respond(services, &request)
        .await
        .unwrap_or_else(Status::into_response)
}

async fn respond(services: &Services, request: &Request) -> Result<Response<Body>, Status> {
    let caller = caller::authenticate_token(services, request.headers())?;
    let user_id = path_parameter(request, "userId");
    let actor = caller.authorise(&user_id).map_err(ServiceError::from)?;
    let body = json_object(request, MediaTypes::Json)?;
    let delivery = delivery(&body)?;
    let (details, code) =
        reset_code::issue_code(services, &caller, actor, &user_id, &delivery).await?;
    let mut answer = json!({ "details": details_json(&details) });
    if let Some(code) = code {
        answer["verificationCode"] = Value::from(code.expose());
    }
    Ok(ok(&answer))
}

fn invalid(field: &str, description: &str) -> Status {
    Status::new(Code::InvalidArgument, "invalid request").violation(field, description)
}

/// `sendLink` (the default, also for an empty body) or `returnCode`.
fn delivery(body: &Map<String, Value>) -> Result<Delivery, Status> {
    let present = |name: &str| body.get(name).filter(|v| !v.is_null());
    match (present("sendLink"), present("returnCode")) {
        (Some(_), Some(_)) => Err(invalid("sendLink", "give sendLink or returnCode, not both")),
        (None, Some(Value::Object(_))) => Ok(Delivery::ReturnCode),
        (None, Some(_)) => Err(invalid("returnCode", "must be an object")),
        (Some(Value::Object(link)), None) => send_link(link),
        (Some(_), None) => Err(invalid("sendLink", "must be an object")),
        (None, None) => Ok(Delivery::SendLink { url_template: None }),
    }
}

fn send_link(link: &Map<String, Value>) -> Result<Delivery, Status> {
    match link.get("notificationType") {
        None | Some(Value::Null) => {}
        Some(Value::String(t))
            if t == "NOTIFICATION_TYPE_Email" || t == "NOTIFICATION_TYPE_Unspecified" => {}
        Some(_) => {
            return Err(invalid(
                "sendLink.notificationType",
                "only NOTIFICATION_TYPE_Email is supported",
            ))
        }
    }
    let url_template = match link.get("urlTemplate") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if is_absolute_http_url(t) => Some(t.clone()),
        Some(_) => {
            return Err(invalid(
                "sendLink.urlTemplate",
                "must be an absolute http(s) URL of at most 2048 characters",
            ))
        }
    };
    Ok(Delivery::SendLink { url_template })
}

fn is_absolute_http_url(template: &str) -> bool {
    let rest = template
        .strip_prefix("https://")
        .or_else(|| template.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    template.len() <= 2048
        && host.is_some_and(|h| !h.is_empty())
        && !template
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
}

//! Z1: issues a reset code, mailed (`sendLink`, the default) or answered to
//! an admin (`returnCode`). Two bindings of one operation: REST
//! `POST /v2/users/{userId}/password_reset` (gRPC-status JSON errors) and
//! ZITADEL's RPC `POST /zitadel.user.v2.UserService/PasswordReset` (Connect,
//! gRPC-web).

use lambda_http::{Body, Request, Response};
use password_service::auth::{Actor, Caller};
use password_service::domain::{ChangeDetails, Secret};
use password_service::error::ServiceError;
use password_service::flows::{caller, reset_code};
use password_service::http::grpc::{details_json, ok, Status};
use password_service::http::rpc::{self, messages, Method, Protocol};
use password_service::http::zitadel::PasswordResetRequest;
use password_service::http::{json_object, path_parameter, MediaTypes};
use password_service::services::Services;
use serde_json::{json, Value};

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    if Method::of(&request).is_some() {
        let call = |protocol| rpc_binding(services, &request, protocol);
        return rpc::serve(&services.config.rpc, &request, call).await;
    }
    rest_binding(services, &request)
        .await
        .unwrap_or_else(Status::into_response)
}

/// REST: the user is in the path, so access is decided before the body is
/// even read.
async fn rest_binding(services: &Services, request: &Request) -> Result<Response<Body>, Status> {
    let caller = caller::authenticate_token(services, request.headers()).await?;
    let user_id = path_parameter(request, "userId");
    let actor = caller.authorise(&user_id).map_err(ServiceError::from)?;
    let body = json_object(request, MediaTypes::Json)?;
    let given = PasswordResetRequest::from_json(user_id, &body);
    let (details, code) = issue_code(services, &caller, actor, &given).await?;
    let mut answer = json!({ "details": details_json(&details) });
    if let Some(code) = code {
        answer["verificationCode"] = Value::from(code.expose());
    }
    Ok(ok(&answer))
}

/// RPC: the user is in the message, so access is decided once it is
/// decoded, still before anything is looked up.
async fn rpc_binding(
    services: &Services,
    request: &Request,
    protocol: Protocol,
) -> Result<messages::PasswordResetResponse, Status> {
    let caller = caller::authenticate_token(services, request.headers()).await?;
    let message: messages::PasswordResetRequest = protocol.decode(request)?;
    let given = PasswordResetRequest::from(message);
    let actor = caller
        .authorise(&given.user_id)
        .map_err(ServiceError::from)?;
    let (details, code) = issue_code(services, &caller, actor, &given).await?;
    Ok(messages::PasswordResetResponse {
        details: Some((&details).into()),
        verification_code: code.map(|code| code.expose().to_string()),
    })
}

/// The operation, once the caller's authority over the user is known.
async fn issue_code(
    services: &Services,
    caller: &Caller,
    actor: Actor,
    given: &PasswordResetRequest,
) -> Result<(ChangeDetails, Option<Secret>), Status> {
    let delivery = given.validate()?;
    Ok(reset_code::issue_code(services, caller, actor, &given.user_id, &delivery).await?)
}

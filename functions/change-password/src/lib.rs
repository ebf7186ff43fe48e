//! Z2: changes a password with the current password or a reset code, or as
//! an admin with neither. Two bindings of one operation: REST
//! `POST /v2/users/{userId}/password` (gRPC-status JSON errors) and ZITADEL's
//! RPC `POST /zitadel.user.v2.UserService/SetPassword` (Connect, gRPC-web).

use lambda_http::{Body, Request, Response};
use password_service::auth::{Actor, Caller};
use password_service::domain::ChangeDetails;
use password_service::error::ServiceError;
use password_service::flows::{caller, change_with_proof};
use password_service::http::grpc::{details_json, ok, Status};
use password_service::http::rpc::{self, messages, Method, Protocol};
use password_service::http::zitadel::SetPasswordRequest;
use password_service::http::{json_object, path_parameter, MediaTypes};
use password_service::services::Services;
use serde_json::json;

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
/// even read (no enumeration, whatever the body).
async fn rest_binding(services: &Services, request: &Request) -> Result<Response<Body>, Status> {
    let caller = caller::authenticate_token(services, request.headers()).await?;
    let user_id = path_parameter(request, "userId");
    let actor = caller.authorise(&user_id).map_err(ServiceError::from)?;
    let body = json_object(request, MediaTypes::Json)?;
    let given = SetPasswordRequest::from_json(user_id, &body);
    let details = set_password(services, &caller, actor, &given).await?;
    Ok(ok(&json!({ "details": details_json(&details) })))
}

/// RPC: the user is in the message, so access is decided once it is
/// decoded, still before anything is looked up.
async fn rpc_binding(
    services: &Services,
    request: &Request,
    protocol: Protocol,
) -> Result<messages::SetPasswordResponse, Status> {
    let caller = caller::authenticate_token(services, request.headers()).await?;
    let message: messages::SetPasswordRequest = protocol.decode(request)?;
    let given = SetPasswordRequest::from(message);
    let actor = caller
        .authorise(&given.user_id)
        .map_err(ServiceError::from)?;
    let details = set_password(services, &caller, actor, &given).await?;
    Ok(messages::SetPasswordResponse {
        details: Some((&details).into()),
    })
}

/// The operation, once the caller's authority over the user is known.
async fn set_password(
    services: &Services,
    caller: &Caller,
    actor: Actor,
    given: &SetPasswordRequest,
) -> Result<ChangeDetails, Status> {
    let change = given.validate(actor)?;
    Ok(change_with_proof::change_password(
        services,
        caller,
        actor,
        &given.user_id,
        &change.password,
        change.change_required,
        change.proof,
    )
    .await?)
}

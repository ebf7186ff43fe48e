//! One driver for both of family Z's bindings: a function names its
//! operation ([`Operation`]); the driver does the protocol. Either binding
//! runs the same steps: authenticate the token, decode the input, decide
//! the caller's authority over the user from the token alone (before any
//! lookup, so a stranger learns nothing of the user), run the operation,
//! answer in the binding's shape.
//!
//! - REST (`/v2/users/{userId}/…`): the user is in the path, so authority is
//!   decided before the body is even read; errors in gRPC-status JSON.
//! - RPC (`/zitadel.user.v2.UserService/…`): the user is in the message, so
//!   authority is decided once it is decoded; Connect or gRPC-web
//!   ([`rpc::serve`]).

use async_trait::async_trait;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value};

use crate::auth::{Actor, Caller};
use crate::error::ServiceError;
use crate::flows::caller;
use crate::http::grpc::{ok, Status};
use crate::http::rpc::messages::{RpcRequest, RpcResponse};
use crate::http::rpc::{self, Method};
use crate::http::{json_object, path_parameter, MediaTypes};
use crate::services::Services;

/// One of family Z's operations, as the driver serves it.
#[async_trait]
pub trait Operation: Sync {
    /// What the operation takes, from either binding (the user id in it).
    type Input: Send + Sync;
    /// The RPC request message (ZITADEL's, on the wire).
    type Message: RpcRequest + Send;
    /// The RPC response message.
    type Reply: RpcResponse + Send;
    /// What the operation answers, before either binding shapes it.
    type Output: Send;

    /// The REST binding's input: the user from the path, the rest from the body.
    fn rest_input(&self, user_id: String, body: &Map<String, Value>) -> Self::Input;
    /// The RPC binding's input, from its decoded message.
    fn rpc_input(&self, message: Self::Message) -> Self::Input;
    /// The user the input names.
    fn user_id<'a>(&self, input: &'a Self::Input) -> &'a str;
    /// The operation, once the caller's authority over the user is known.
    async fn run(
        &self,
        services: &Services,
        caller: &Caller,
        actor: Actor,
        input: &Self::Input,
    ) -> Result<Self::Output, Status>;
    /// The REST binding's answer (200, JSON).
    fn rest_answer(&self, output: Self::Output) -> Value;
    /// The RPC binding's answer message.
    fn reply(&self, output: Self::Output) -> Self::Reply;
}

/// Serves `request` to `operation` on whichever binding its path names.
pub async fn serve<O: Operation>(
    operation: &O,
    services: &Services,
    request: Request,
) -> Response<Body> {
    if Method::of(&request).is_some() {
        let request = &request;
        let call = |protocol: rpc::Protocol| async move {
            let caller =
                caller::authenticate_token(services, crate::http::authorization(request)).await?;
            let message: O::Message = protocol.decode(request)?;
            let input = operation.rpc_input(message);
            let output = authorised_run(operation, services, &caller, &input).await?;
            Ok(operation.reply(output))
        };
        return rpc::serve(&services.config.rpc, request, call).await;
    }
    rest(operation, services, &request)
        .await
        .unwrap_or_else(Status::into_response)
}

async fn rest<O: Operation>(
    operation: &O,
    services: &Services,
    request: &Request,
) -> Result<Response<Body>, Status> {
    let caller = caller::authenticate_token(services, crate::http::authorization(request)).await?;
    let user_id = path_parameter(request, "userId");
    // Decided before the body is read; deciding it again on the input, below,
    // costs nothing (the token alone).
    caller.authorise(&user_id).map_err(ServiceError::from)?;
    let body = json_object(request, MediaTypes::Json)?;
    let input = operation.rest_input(user_id, &body);
    let output = authorised_run(operation, services, &caller, &input).await?;
    Ok(ok(&operation.rest_answer(output)))
}

async fn authorised_run<O: Operation>(
    operation: &O,
    services: &Services,
    caller: &Caller,
    input: &O::Input,
) -> Result<O::Output, Status> {
    let actor = caller
        .authorise(operation.user_id(input))
        .map_err(ServiceError::from)?;
    operation.run(services, caller, actor, input).await
}

//! Z2: changes a password with the current password or a reset code, or as
//! an admin with neither. Two bindings of one operation, served by family
//! Z's driver: REST `POST /v2/users/{userId}/password` and ZITADEL's RPC
//! `POST /zitadel.user.v2.UserService/SetPassword` (Connect, gRPC-web).

use async_trait::async_trait;
use lambda_http::{Body, Request, Response};
use password_service::auth::{Actor, Caller};
use password_service::domain::ChangeDetails;
use password_service::flows::change_with_proof;
use password_service::http::grpc::{details_json, Status};
use password_service::http::rpc::messages;
use password_service::http::zitadel::driver::{self, Operation};
use password_service::http::zitadel::SetPasswordInput;
use password_service::services::Services;
use serde_json::{json, Map, Value};

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    driver::serve(&SetPassword, services, request).await
}

struct SetPassword;

#[async_trait]
impl Operation for SetPassword {
    type Input = SetPasswordInput;
    type Message = messages::SetPasswordRequest;
    type Reply = messages::SetPasswordResponse;
    type Output = ChangeDetails;

    fn rest_input(&self, user_id: String, body: &Map<String, Value>) -> SetPasswordInput {
        SetPasswordInput::from_json(user_id, body)
    }

    fn rpc_input(&self, message: messages::SetPasswordRequest) -> SetPasswordInput {
        message.into()
    }

    fn user_id<'a>(&self, input: &'a SetPasswordInput) -> &'a str {
        &input.user_id
    }

    async fn run(
        &self,
        services: &Services,
        caller: &Caller,
        actor: Actor,
        input: &SetPasswordInput,
    ) -> Result<ChangeDetails, Status> {
        let change = input.validate(actor)?;
        Ok(change_with_proof::change_password(
            services,
            caller,
            actor,
            &input.user_id,
            &change.password,
            change.change_required,
            change.proof,
        )
        .await?)
    }

    fn rest_answer(&self, details: ChangeDetails) -> Value {
        json!({ "details": details_json(&details) })
    }

    fn reply(&self, details: ChangeDetails) -> messages::SetPasswordResponse {
        messages::SetPasswordResponse {
            details: Some((&details).into()),
        }
    }
}

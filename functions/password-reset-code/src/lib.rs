//! Z1: issues a reset code, mailed (`sendLink`, the default) or answered to
//! an admin (`returnCode`). Two bindings of one operation, served by family
//! Z's driver: REST `POST /v2/users/{userId}/password_reset` and ZITADEL's
//! RPC `POST /zitadel.user.v2.UserService/PasswordReset` (Connect, gRPC-web).

use async_trait::async_trait;
use lambda_http::{Body, Request, Response};
use password_service::auth::{Actor, Caller};
use password_service::domain::{ChangeDetails, Secret};
use password_service::flows::reset_code;
use password_service::http::grpc::{details_json, Status};
use password_service::http::rpc::messages;
use password_service::http::zitadel::driver::{self, Operation};
use password_service::http::zitadel::PasswordResetInput;
use password_service::services::Services;
use serde_json::{json, Map, Value};

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    driver::serve(&PasswordReset, services, request).await
}

struct PasswordReset;

#[async_trait]
impl Operation for PasswordReset {
    type Input = PasswordResetInput;
    type Message = messages::PasswordResetRequest;
    type Reply = messages::PasswordResetResponse;
    /// The change's details, and the code where it is answered (`returnCode`).
    type Output = (ChangeDetails, Option<Secret>);

    fn rest_input(&self, user_id: String, body: &Map<String, Value>) -> PasswordResetInput {
        PasswordResetInput::from_json(user_id, body)
    }

    fn rpc_input(&self, message: messages::PasswordResetRequest) -> PasswordResetInput {
        message.into()
    }

    fn user_id<'a>(&self, input: &'a PasswordResetInput) -> &'a str {
        &input.user_id
    }

    async fn run(
        &self,
        services: &Services,
        caller: &Caller,
        actor: Actor,
        input: &PasswordResetInput,
    ) -> Result<Self::Output, Status> {
        let delivery = input.validate()?;
        Ok(reset_code::issue_code(services, caller, actor, &input.user_id, &delivery).await?)
    }

    fn rest_answer(&self, (details, code): Self::Output) -> Value {
        let mut answer = json!({ "details": details_json(&details) });
        if let Some(code) = code {
            answer["verificationCode"] = Value::from(code.expose());
        }
        answer
    }

    fn reply(&self, (details, code): Self::Output) -> messages::PasswordResetResponse {
        messages::PasswordResetResponse {
            details: Some((&details).into()),
            verification_code: code.map(|code| code.expose().to_string()),
        }
    }
}

//! Z2 `POST /v2/users/{userId}/password` and RPC `SetPassword`: the request
//! as given and its field rules.

use serde_json::{Map, Value};

use super::{invalid_request, json_object, json_text, Given, Violations};
use crate::auth::Actor;
use crate::domain::{Secret, PASSWORD_MAX_LENGTH};
use crate::flows::change_with_proof::ProofGiven;
use crate::http::grpc::Status;
use crate::http::rpc::messages::{self, SetPasswordVerification};

/// SPEC section 4, Z2: `verificationCode` has at most 20 characters.
pub const MAX_CODE_CHARS: usize = 20;

/// A request to set a user's password, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetPasswordInput {
    pub user_id: String,
    pub new_password: Given<NewPassword>,
    pub current_password: Given<Secret>,
    pub verification_code: Given<Secret>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPassword {
    pub password: Given<Secret>,
    pub change_required: Given<bool>,
}

/// A request to set a password that passed the field rules.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub password: Secret,
    pub change_required: bool,
    /// `None` only for an admin.
    pub proof: Option<ProofGiven>,
}

impl SetPasswordInput {
    /// The REST binding: the user from the path, the fields from the body.
    pub fn from_json(user_id: String, body: &Map<String, Value>) -> Self {
        let new_password = Given::from_json(body.get("newPassword"), |value| {
            json_object(value).map(|inner| NewPassword {
                password: Given::from_json(inner.get("password"), json_text),
                change_required: Given::from_json(inner.get("changeRequired"), Value::as_bool),
            })
        });
        Self {
            user_id,
            new_password,
            current_password: Given::from_json(body.get("currentPassword"), json_text),
            verification_code: Given::from_json(body.get("verificationCode"), json_text),
        }
    }

    /// Every field rule at once (one violation per broken field), then
    /// "exactly one of `currentPassword`, `verificationCode`", which an
    /// admin may answer with neither.
    pub fn validate(&self, actor: Actor) -> Result<PasswordChange, Status> {
        let mut violations = Violations::default();
        let new_password = match &self.new_password {
            Given::Value(inner) => Some(inner),
            Given::Absent => violations.add("newPassword", "required"),
            Given::WrongType => violations.add("newPassword", "must be an object"),
        };
        let password = new_password.and_then(|inner| {
            violations.required_text(&inner.password, "newPassword.password", PASSWORD_MAX_LENGTH)
        });
        let change_required = match new_password.map(|inner| &inner.change_required) {
            Some(Given::Value(flag)) => *flag,
            Some(Given::WrongType) => {
                violations.add::<()>("newPassword.changeRequired", "must be true or false");
                false
            }
            None | Some(Given::Absent) => false,
        };
        let current = violations.optional_text(
            &self.current_password,
            "currentPassword",
            PASSWORD_MAX_LENGTH,
        );
        let code =
            violations.optional_text(&self.verification_code, "verificationCode", MAX_CODE_CHARS);
        let password = match password {
            Some(password) if violations.0.is_empty() => password,
            _ => return Err(violations.into_status()),
        };
        let proof = match (current, code) {
            (Some(current), None) => Some(ProofGiven::CurrentPassword(current)),
            (None, Some(code)) => Some(ProofGiven::VerificationCode(code)),
            (None, None) if actor == Actor::Admin => None,
            (current, _) => {
                let description = if current.is_some() {
                    "give currentPassword or verificationCode, not both"
                } else {
                    "give currentPassword or verificationCode"
                };
                return Err(invalid_request()
                    .violation("currentPassword", description)
                    .violation("verificationCode", description));
            }
        };
        Ok(PasswordChange {
            password,
            change_required,
            proof,
        })
    }
}

/// The RPC binding: protobuf has no wrong types, and no presence for a
/// plain string (an empty one is given as empty).
impl From<messages::SetPasswordRequest> for SetPasswordInput {
    fn from(message: messages::SetPasswordRequest) -> Self {
        let (current_password, verification_code) = match message.verification {
            Some(SetPasswordVerification::CurrentPassword(current)) => {
                (Given::Value(Secret::new(current)), Given::Absent)
            }
            Some(SetPasswordVerification::VerificationCode(code)) => {
                (Given::Absent, Given::Value(Secret::new(code)))
            }
            None => (Given::Absent, Given::Absent),
        };
        Self {
            user_id: message.user_id,
            new_password: message
                .new_password
                .map(|inner| NewPassword {
                    password: Given::Value(Secret::new(inner.password)),
                    change_required: Given::Value(inner.change_required),
                })
                .into(),
            current_password,
            verification_code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rest_set_password(body: Value) -> SetPasswordInput {
        SetPasswordInput::from_json("u".into(), body.as_object().unwrap())
    }

    fn violated(result: Result<PasswordChange, Status>) -> Vec<(String, String)> {
        result
            .unwrap_err()
            .field_violations
            .into_iter()
            .map(|v| (v.field, v.description))
            .collect()
    }

    fn message(
        password: Option<&str>,
        verification: Option<SetPasswordVerification>,
    ) -> messages::SetPasswordRequest {
        messages::SetPasswordRequest {
            user_id: "u".into(),
            new_password: password.map(|p| messages::Password {
                password: p.into(),
                change_required: true,
            }),
            verification,
        }
    }

    #[test]
    fn json_and_protobuf_read_into_the_same_request() {
        let rest = rest_set_password(json!({
            "newPassword": { "password": "p", "changeRequired": true },
            "verificationCode": "C",
        }));
        let rpc = SetPasswordInput::from(message(
            Some("p"),
            Some(SetPasswordVerification::VerificationCode("C".into())),
        ));
        assert_eq!(rest, rpc);
        let change = rpc.validate(Actor::Owner).unwrap();
        assert!(change.change_required);
        assert!(matches!(change.proof, Some(ProofGiven::VerificationCode(c)) if c.expose() == "C"));
    }

    #[test]
    fn both_bindings_break_the_same_rules_with_the_same_words() {
        let long = "x".repeat(PASSWORD_MAX_LENGTH + 1);
        let rest = rest_set_password(json!({
            "newPassword": { "password": long },
            "currentPassword": "",
        }));
        let rpc = SetPasswordInput::from(message(
            Some(&long),
            Some(SetPasswordVerification::CurrentPassword(String::new())),
        ));
        let expected = vec![
            (
                "newPassword.password".to_string(),
                "must be at most 200 characters".to_string(),
            ),
            (
                "currentPassword".to_string(),
                "must not be empty".to_string(),
            ),
        ];
        assert_eq!(violated(rest.validate(Actor::Owner)), expected);
        assert_eq!(violated(rpc.validate(Actor::Owner)), expected);
    }

    #[test]
    fn wrong_json_types_are_violations_of_their_field() {
        let request = rest_set_password(json!({
            "newPassword": { "password": 42, "changeRequired": "yes" },
            "verificationCode": ["x"],
        }));
        assert_eq!(
            violated(request.validate(Actor::Owner)),
            [
                ("newPassword.password", "must be a string"),
                ("newPassword.changeRequired", "must be true or false"),
                ("verificationCode", "must be a string"),
            ]
            .map(|(f, d)| (f.to_string(), d.to_string()))
        );
        let flat = rest_set_password(json!({ "newPassword": "flat" }));
        assert_eq!(
            violated(flat.validate(Actor::Admin)),
            [("newPassword".to_string(), "must be an object".to_string())]
        );
    }

    #[test]
    fn only_an_admin_may_give_no_proof() {
        let request = SetPasswordInput::from(message(Some("p"), None));
        assert!(request.validate(Actor::Admin).unwrap().proof.is_none());
        let fields: Vec<String> = violated(request.validate(Actor::Owner))
            .into_iter()
            .map(|(field, _)| field)
            .collect();
        assert_eq!(fields, ["currentPassword", "verificationCode"]);
        let missing = SetPasswordInput::from(message(None, None));
        assert_eq!(
            violated(missing.validate(Actor::Admin)),
            [("newPassword".to_string(), "required".to_string())]
        );
    }
}

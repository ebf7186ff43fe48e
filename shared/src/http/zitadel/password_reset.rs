//! Z1 `POST /v2/users/{userId}/password_reset` and RPC `PasswordReset`: the
//! request as given and its rules.

use serde_json::{Map, Value};

use super::{invalid, json_object, Given};
use crate::flows::reset_code::Delivery;
use crate::http::grpc::Status;
use crate::http::rpc::messages::{self, NotificationType, PasswordResetMedium};

/// The longest `urlTemplate` accepted.
pub const MAX_URL_TEMPLATE_BYTES: usize = 2048;

/// A request for a reset code, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordResetInput {
    pub user_id: String,
    pub send_link: Given<SendLink>,
    /// `returnCode` has no fields.
    pub return_code: Given<()>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendLink {
    pub notification_type: Given<NotificationType>,
    pub url_template: Given<String>,
}

impl PasswordResetInput {
    /// The REST binding: the user from the path, the fields from the body.
    pub fn from_json(user_id: String, body: &Map<String, Value>) -> Self {
        let send_link = Given::from_json(body.get("sendLink"), |value| {
            json_object(value).map(|link| SendLink {
                notification_type: Given::from_json(link.get("notificationType"), |t| {
                    t.as_str().and_then(NotificationType::from_name)
                }),
                url_template: Given::from_json(link.get("urlTemplate"), |t| {
                    t.as_str().map(String::from)
                }),
            })
        });
        Self {
            user_id,
            send_link,
            return_code: Given::from_json(body.get("returnCode"), |v| json_object(v).map(|_| ())),
        }
    }

    /// `sendLink` (the default, also for an empty request) or `returnCode`;
    /// the first rule broken is the answer.
    pub fn validate(&self) -> Result<Delivery, Status> {
        match (&self.send_link, &self.return_code) {
            (link, code) if link.is_present() && code.is_present() => {
                Err(invalid("sendLink", "give sendLink or returnCode, not both"))
            }
            (_, Given::Value(())) => Ok(Delivery::ReturnCode),
            (_, Given::WrongType) => Err(invalid("returnCode", "must be an object")),
            (Given::Value(link), _) => link.validate(),
            (Given::WrongType, _) => Err(invalid("sendLink", "must be an object")),
            (Given::Absent, Given::Absent) => Ok(Delivery::SendLink { url_template: None }),
        }
    }
}

impl SendLink {
    fn validate(&self) -> Result<Delivery, Status> {
        match self.notification_type {
            Given::Absent
            | Given::Value(NotificationType::Unspecified | NotificationType::Email) => {}
            Given::Value(NotificationType::Sms) | Given::WrongType => {
                return Err(invalid(
                    "sendLink.notificationType",
                    "only NOTIFICATION_TYPE_Email is supported",
                ))
            }
        }
        let url_template = match &self.url_template {
            Given::Absent => None,
            Given::Value(template) if is_absolute_http_url(template) => Some(template.clone()),
            Given::Value(_) | Given::WrongType => {
                return Err(invalid(
                    "sendLink.urlTemplate",
                    "must be an absolute http(s) URL of at most 2048 characters",
                ))
            }
        };
        Ok(Delivery::SendLink { url_template })
    }
}

/// The RPC binding. An enum number the descriptor does not name is of no
/// known type.
impl From<messages::PasswordResetRequest> for PasswordResetInput {
    fn from(message: messages::PasswordResetRequest) -> Self {
        let (send_link, return_code) = match message.medium {
            Some(PasswordResetMedium::SendLink(link)) => (
                Given::Value(SendLink {
                    notification_type: NotificationType::try_from(link.notification_type)
                        .map_or(Given::WrongType, Given::Value),
                    url_template: link.url_template.into(),
                }),
                Given::Absent,
            ),
            Some(PasswordResetMedium::ReturnCode(_)) => (Given::Absent, Given::Value(())),
            None => (Given::Absent, Given::Absent),
        };
        Self {
            user_id: message.user_id,
            send_link,
            return_code,
        }
    }
}

fn is_absolute_http_url(template: &str) -> bool {
    let rest = template
        .strip_prefix("https://")
        .or_else(|| template.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    template.len() <= MAX_URL_TEMPLATE_BYTES
        && host.is_some_and(|h| !h.is_empty())
        && !template
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rest_reset(body: Value) -> PasswordResetInput {
        PasswordResetInput::from_json("u".into(), body.as_object().unwrap())
    }

    #[test]
    fn a_reset_code_is_mailed_by_default_or_returned() {
        assert_eq!(
            rest_reset(json!({})).validate().unwrap(),
            Delivery::SendLink { url_template: None }
        );
        assert_eq!(
            PasswordResetInput::from(messages::PasswordResetRequest::default())
                .validate()
                .unwrap(),
            Delivery::SendLink { url_template: None }
        );
        let returned = messages::PasswordResetRequest {
            user_id: "u".into(),
            medium: Some(PasswordResetMedium::ReturnCode(
                messages::ReturnPasswordResetCode {},
            )),
        };
        assert_eq!(
            PasswordResetInput::from(returned),
            rest_reset(json!({ "returnCode": {} }))
        );
    }

    #[test]
    fn notification_types_other_than_email_are_refused_in_both_bindings() {
        let by_number = |n: i32| {
            PasswordResetInput::from(messages::PasswordResetRequest {
                user_id: "u".into(),
                medium: Some(PasswordResetMedium::SendLink(
                    messages::SendPasswordResetLink {
                        notification_type: n,
                        url_template: None,
                    },
                )),
            })
        };
        assert!(by_number(1).validate().is_ok());
        assert!(by_number(0).validate().is_ok());
        for refused in [
            by_number(2),
            by_number(99),
            rest_reset(json!({ "sendLink": { "notificationType": "NOTIFICATION_TYPE_Sms" } })),
            rest_reset(json!({ "sendLink": { "notificationType": 1 } })),
        ] {
            let status = refused.validate().unwrap_err();
            assert_eq!(
                status.field_violations[0].field, "sendLink.notificationType",
                "{refused:?}"
            );
        }
    }

    #[test]
    fn url_templates_must_be_absolute_http_urls() {
        for (template, accepted) in [
            ("https://app.example/reset?c={{.Code}}", true),
            ("http://127.0.0.1:9000/x", true),
            ("javascript:alert(1)", false),
            ("/relative/path", false),
            ("https:///no-host", false),
            ("https://app.example/a b", false),
        ] {
            let request = rest_reset(json!({ "sendLink": { "urlTemplate": template } }));
            assert_eq!(request.validate().is_ok(), accepted, "{template}");
        }
        let long = format!("https://app.example/{}", "x".repeat(MAX_URL_TEMPLATE_BYTES));
        assert!(rest_reset(json!({ "sendLink": { "urlTemplate": long } }))
            .validate()
            .is_err());
    }
}

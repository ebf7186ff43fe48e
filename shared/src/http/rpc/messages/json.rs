//! The proto3 JSON mapping of the messages: lowerCamelCase names out, both
//! those and the original snake_case names in, `null` as absent, unknown
//! fields ignored, `uint64` as a decimal string, `Timestamp` as RFC 3339.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    Details, NotificationType, Password, PasswordResetMedium, PasswordResetRequest,
    PasswordResetResponse, ReturnPasswordResetCode, RpcRequest, RpcResponse, SendPasswordResetLink,
    SetPasswordRequest, SetPasswordResponse, SetPasswordVerification,
};
use crate::clock::rfc3339_millis;

// ---------------------------------------------------------------------------
// proto3 JSON: requests in

// Each JSON name with the original field name as an alias; `Option` reads
// `null` as absent; unknown fields are skipped (no `deny_unknown_fields`).

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordResetRequestJson {
    #[serde(default, alias = "user_id")]
    user_id: Option<String>,
    #[serde(default, alias = "send_link")]
    send_link: Option<SendPasswordResetLinkJson>,
    #[serde(default, alias = "return_code")]
    return_code: Option<EmptyJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendPasswordResetLinkJson {
    #[serde(default, alias = "notification_type")]
    notification_type: Option<EnumJson>,
    #[serde(default, alias = "url_template")]
    url_template: Option<String>,
}

/// A message without fields: any JSON object.
#[derive(Deserialize)]
struct EmptyJson {}

/// An enum value: its name, or its number.
#[derive(Deserialize)]
#[serde(untagged)]
enum EnumJson {
    Number(i32),
    Name(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetPasswordRequestJson {
    #[serde(default, alias = "user_id")]
    user_id: Option<String>,
    #[serde(default, alias = "new_password")]
    new_password: Option<PasswordJson>,
    #[serde(default, alias = "current_password")]
    current_password: Option<String>,
    #[serde(default, alias = "verification_code")]
    verification_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordJson {
    #[serde(default)]
    password: Option<String>,
    #[serde(default, alias = "change_required")]
    change_required: Option<bool>,
}

/// Parses a JSON object; an empty (or blank) body is the empty message, as
/// the REST binding of family Z reads it. A refusal names the field and the
/// rule, never the value sent.
fn parse_object<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not valid UTF-8".to_string())?;
    let text = if text.trim().is_empty() { "{}" } else { text };
    if !text.trim_start().starts_with('{') {
        return Err("the body must be a JSON object".into());
    }
    let mut json = serde_json::Deserializer::from_str(text);
    let message = serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let why = crate::http::describe_json_error(e.inner(), &e.path().to_string());
        format!("invalid JSON message: {why}")
    })?;
    json.end().map_err(|e| {
        format!(
            "invalid JSON message: {}",
            crate::http::describe_json_error(&e, "")
        )
    })?;
    Ok(message)
}

fn only_one_of(oneof: &str, members: [(&str, bool); 2]) -> Result<(), String> {
    if members.iter().all(|(_, set)| *set) {
        let [(a, _), (b, _)] = members;
        return Err(format!(
            "invalid message: {a} and {b} are both set, but oneof {oneof} takes one"
        ));
    }
    Ok(())
}

impl RpcRequest for PasswordResetRequest {
    fn from_json(body: &[u8]) -> Result<Self, String> {
        let json: PasswordResetRequestJson = parse_object(body)?;
        only_one_of(
            "medium",
            [
                ("sendLink", json.send_link.is_some()),
                ("returnCode", json.return_code.is_some()),
            ],
        )?;
        let medium = match (json.send_link, json.return_code) {
            (Some(link), _) => Some(PasswordResetMedium::SendLink(SendPasswordResetLink {
                notification_type: notification_type(link.notification_type)?,
                url_template: link.url_template,
            })),
            (None, Some(EmptyJson {})) => {
                Some(PasswordResetMedium::ReturnCode(ReturnPasswordResetCode {}))
            }
            (None, None) => None,
        };
        Ok(Self {
            user_id: json.user_id.unwrap_or_default(),
            medium,
        })
    }
}

fn notification_type(value: Option<EnumJson>) -> Result<i32, String> {
    match value {
        None => Ok(NotificationType::Unspecified as i32),
        // proto3 enums are open: an unknown number is kept, as in binary.
        Some(EnumJson::Number(n)) => Ok(n),
        Some(EnumJson::Name(name)) => NotificationType::from_name(&name)
            .map(|value| value as i32)
            .ok_or_else(|| {
                format!("invalid message: {name:?} is not a zitadel.user.v2.NotificationType")
            }),
    }
}

impl RpcRequest for SetPasswordRequest {
    fn from_json(body: &[u8]) -> Result<Self, String> {
        let json: SetPasswordRequestJson = parse_object(body)?;
        only_one_of(
            "verification",
            [
                ("currentPassword", json.current_password.is_some()),
                ("verificationCode", json.verification_code.is_some()),
            ],
        )?;
        let verification = match (json.current_password, json.verification_code) {
            (Some(current), _) => Some(SetPasswordVerification::CurrentPassword(current)),
            (None, Some(code)) => Some(SetPasswordVerification::VerificationCode(code)),
            (None, None) => None,
        };
        Ok(Self {
            user_id: json.user_id.unwrap_or_default(),
            new_password: json.new_password.map(|p| Password {
                password: p.password.unwrap_or_default(),
                change_required: p.change_required.unwrap_or_default(),
            }),
            verification,
        })
    }
}

// ---------------------------------------------------------------------------
// proto3 JSON: responses out (default values are omitted, as protojson does)

impl Details {
    fn to_json(&self) -> Value {
        let mut out = Map::new();
        if self.sequence != 0 {
            out.insert("sequence".into(), Value::from(self.sequence.to_string()));
        }
        if let Some(at) = self.change_date {
            out.insert(
                "changeDate".into(),
                Value::from(rfc3339_millis(at.millis())),
            );
        }
        if !self.resource_owner.is_empty() {
            out.insert(
                "resourceOwner".into(),
                Value::from(self.resource_owner.clone()),
            );
        }
        if let Some(at) = self.creation_date {
            out.insert(
                "creationDate".into(),
                Value::from(rfc3339_millis(at.millis())),
            );
        }
        Value::Object(out)
    }
}

impl RpcResponse for PasswordResetResponse {
    fn to_json(&self) -> Value {
        let mut out = Map::new();
        if let Some(details) = &self.details {
            out.insert("details".into(), details.to_json());
        }
        if let Some(code) = &self.verification_code {
            out.insert("verificationCode".into(), Value::from(code.clone()));
        }
        Value::Object(out)
    }
}

impl RpcResponse for SetPasswordResponse {
    fn to_json(&self) -> Value {
        let mut out = Map::new();
        if let Some(details) = &self.details {
            out.insert("details".into(), details.to_json());
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChangeDetails;
    use serde_json::json;

    #[test]
    fn json_takes_camel_case_and_original_names() {
        let camel = br#"{"userId":"u","newPassword":{"password":"p","changeRequired":true},"currentPassword":"c"}"#;
        let snake = br#"{"user_id":"u","new_password":{"password":"p","change_required":true},"current_password":"c"}"#;
        let a = SetPasswordRequest::from_json(camel).unwrap();
        let b = SetPasswordRequest::from_json(snake).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.user_id, "u");
        assert!(a.new_password.unwrap().change_required);
    }

    #[test]
    fn json_reads_null_as_absent_and_skips_unknown_fields() {
        let request = SetPasswordRequest::from_json(
            br#"{"userId":"u","currentPassword":null,"verificationCode":"C","extra":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(
            request.verification,
            Some(SetPasswordVerification::VerificationCode("C".into()))
        );
        assert_eq!(request.new_password, None);
    }

    #[test]
    fn json_with_both_members_of_a_oneof_is_refused() {
        let error = SetPasswordRequest::from_json(
            br#"{"userId":"u","currentPassword":"a","verificationCode":"b"}"#,
        )
        .unwrap_err();
        assert!(error.contains("oneof verification"), "{error}");
        let error =
            PasswordResetRequest::from_json(br#"{"sendLink":{},"returnCode":{}}"#).unwrap_err();
        assert!(error.contains("oneof medium"), "{error}");
    }

    #[test]
    fn json_of_the_wrong_type_is_refused() {
        for body in [
            &br#"{"userId":5}"#[..],
            br#"{"newPassword":"p"}"#,
            br#"{"newPassword":{"changeRequired":"yes"}}"#,
            br#"[1]"#,
            br#"{"#,
            &[b'{', 0xff, b'}'],
        ] {
            assert!(SetPasswordRequest::from_json(body).is_err(), "{body:?}");
        }
    }

    #[test]
    fn json_enums_are_names_or_numbers() {
        let by_name = PasswordResetRequest::from_json(
            br#"{"userId":"u","sendLink":{"notificationType":"NOTIFICATION_TYPE_Email","urlTemplate":"https://x/{{.Code}}"}}"#,
        )
        .unwrap();
        let by_number =
            PasswordResetRequest::from_json(br#"{"userId":"u","send_link":{"notification_type":1,"url_template":"https://x/{{.Code}}"}}"#)
                .unwrap();
        assert_eq!(by_name, by_number);
        let Some(PasswordResetMedium::SendLink(link)) = by_name.medium else {
            panic!("not a link: {by_name:?}");
        };
        assert_eq!(link.notification_type, NotificationType::Email as i32);
        assert_eq!(link.url_template.as_deref(), Some("https://x/{{.Code}}"));
        assert!(PasswordResetRequest::from_json(
            br#"{"sendLink":{"notificationType":"NOTIFICATION_TYPE_Pigeon"}}"#
        )
        .is_err());
    }

    #[test]
    fn an_empty_json_body_is_the_empty_message() {
        assert_eq!(
            PasswordResetRequest::from_json(b"").unwrap(),
            PasswordResetRequest::default()
        );
        assert_eq!(
            PasswordResetRequest::from_json(b"{\"returnCode\":{}}")
                .unwrap()
                .medium,
            Some(PasswordResetMedium::ReturnCode(ReturnPasswordResetCode {}))
        );
    }

    #[test]
    fn responses_render_as_proto3_json() {
        let details = Details::from(&ChangeDetails {
            sequence: 7,
            change_date: 1_700_000_000_123,
            resource_owner: "org".into(),
        });
        let response = PasswordResetResponse {
            details: Some(details.clone()),
            verification_code: Some("AB12CD".into()),
        };
        assert_eq!(
            response.to_json(),
            json!({
                "details": {
                    "sequence": "7",
                    "changeDate": "2023-11-14T22:13:20.123Z",
                    "resourceOwner": "org",
                },
                "verificationCode": "AB12CD",
            })
        );
        let response = SetPasswordResponse {
            details: Some(details),
        };
        assert_eq!(response.to_json()["details"]["sequence"], "7");
        assert_eq!(SetPasswordResponse::default().to_json(), json!({}));
    }
}

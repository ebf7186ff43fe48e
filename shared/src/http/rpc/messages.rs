//! ZITADEL's own messages for `zitadel.user.v2.UserService/PasswordReset` and
//! `/SetPassword`, with the google.rpc error details, as prost types.
//!
//! Field numbers, types and JSON names are those of the published descriptors
//! (`@zitadel/proto` 1.3.1: `zitadel/user/v2/user_service.proto`,
//! `zitadel/user/v2/password.proto`, `zitadel/object/v2/object.proto`).
//! Binary decoding skips unknown fields, as protobuf does. The proto3 JSON
//! mapping is written out below: lowerCamelCase names out, both those and the
//! original snake_case names in, `null` as absent, unknown fields ignored,
//! `uint64` as a decimal string, `Timestamp` as RFC 3339.

use std::fmt;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::clock::{rfc3339_millis, Millis};
use crate::reset_code;

/// A request message of one of the two methods: binary or proto3 JSON.
pub trait RpcRequest: prost::Message + Default + Sized {
    fn from_json(body: &[u8]) -> Result<Self, String>;
}

/// A response message of one of the two methods: binary or proto3 JSON.
pub trait RpcResponse: prost::Message {
    fn to_json(&self) -> Value;
}

// ---------------------------------------------------------------------------
// zitadel.user.v2.PasswordResetRequest / PasswordResetResponse

#[derive(Clone, PartialEq, prost::Message)]
pub struct PasswordResetRequest {
    #[prost(string, tag = "1")]
    pub user_id: String,
    /// `oneof medium`; absent means "send a link with the defaults".
    #[prost(oneof = "PasswordResetMedium", tags = "2, 3")]
    pub medium: Option<PasswordResetMedium>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum PasswordResetMedium {
    #[prost(message, tag = "2")]
    SendLink(SendPasswordResetLink),
    #[prost(message, tag = "3")]
    ReturnCode(ReturnPasswordResetCode),
}

/// `zitadel.user.v2.SendPasswordResetLink`
#[derive(Clone, PartialEq, prost::Message)]
pub struct SendPasswordResetLink {
    #[prost(enumeration = "NotificationType", tag = "1")]
    pub notification_type: i32,
    #[prost(string, optional, tag = "2")]
    pub url_template: Option<String>,
}

/// `zitadel.user.v2.ReturnPasswordResetCode`: no fields.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReturnPasswordResetCode {}

/// `zitadel.user.v2.NotificationType`
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum NotificationType {
    Unspecified = 0,
    Email = 1,
    Sms = 2,
}

impl NotificationType {
    /// The value names of the descriptor, which proto3 JSON uses.
    const NAMES: [(&'static str, NotificationType); 3] = [
        (
            "NOTIFICATION_TYPE_Unspecified",
            NotificationType::Unspecified,
        ),
        ("NOTIFICATION_TYPE_Email", NotificationType::Email),
        ("NOTIFICATION_TYPE_SMS", NotificationType::Sms),
    ];
}

// Holds the code the caller is given: never printed.
#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
pub struct PasswordResetResponse {
    #[prost(message, optional, tag = "1")]
    pub details: Option<Details>,
    #[prost(string, optional, tag = "2")]
    pub verification_code: Option<String>,
}

// ---------------------------------------------------------------------------
// zitadel.user.v2.SetPasswordRequest / SetPasswordResponse

// Holds passwords and codes: never printed.
#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
pub struct SetPasswordRequest {
    #[prost(string, tag = "1")]
    pub user_id: String,
    #[prost(message, optional, tag = "2")]
    pub new_password: Option<Password>,
    /// `oneof verification`; absent is the admin's way (no proof).
    #[prost(oneof = "SetPasswordVerification", tags = "3, 4")]
    pub verification: Option<SetPasswordVerification>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
#[prost(skip_debug)]
pub enum SetPasswordVerification {
    #[prost(string, tag = "3")]
    CurrentPassword(String),
    #[prost(string, tag = "4")]
    VerificationCode(String),
}

/// `zitadel.user.v2.Password`
#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
pub struct Password {
    #[prost(string, tag = "1")]
    pub password: String,
    #[prost(bool, tag = "2")]
    pub change_required: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SetPasswordResponse {
    #[prost(message, optional, tag = "1")]
    pub details: Option<Details>,
}

// ---------------------------------------------------------------------------
// zitadel.object.v2.Details and google.protobuf.Timestamp

#[derive(Clone, PartialEq, prost::Message)]
pub struct Details {
    #[prost(uint64, tag = "1")]
    pub sequence: u64,
    #[prost(message, optional, tag = "2")]
    pub change_date: Option<Timestamp>,
    #[prost(string, tag = "3")]
    pub resource_owner: String,
    /// In the descriptor; this service has no creation date to give.
    #[prost(message, optional, tag = "4")]
    pub creation_date: Option<Timestamp>,
}

#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    pub fn from_millis(at: Millis) -> Self {
        Self {
            seconds: at.div_euclid(1000),
            // 0..=999 ms, times 10^6: always fits.
            nanos: (at.rem_euclid(1000) * 1_000_000) as i32,
        }
    }

    fn millis(self) -> Millis {
        self.seconds * 1000 + i64::from(self.nanos / 1_000_000)
    }
}

impl From<&reset_code::Details> for Details {
    fn from(details: &reset_code::Details) -> Self {
        Self {
            sequence: details.sequence,
            change_date: Some(Timestamp::from_millis(details.change_date)),
            resource_owner: details.resource_owner.clone(),
            creation_date: None,
        }
    }
}

// ---------------------------------------------------------------------------
// google.rpc.Status, google.protobuf.Any, google.rpc.BadRequest

pub const BAD_REQUEST_TYPE: &str = "google.rpc.BadRequest";
pub const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<Any>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Any {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BadRequest {
    #[prost(message, repeated, tag = "1")]
    pub field_violations: Vec<FieldViolation>,
}

/// `google.rpc.BadRequest.FieldViolation` (fields 3 and 4, `reason` and
/// `localized_message`, are left unset).
#[derive(Clone, PartialEq, prost::Message)]
pub struct FieldViolation {
    #[prost(string, tag = "1")]
    pub field: String,
    #[prost(string, tag = "2")]
    pub description: String,
}

impl BadRequest {
    pub fn of(violations: &[crate::http::grpc::FieldViolation]) -> Self {
        Self {
            field_violations: violations
                .iter()
                .map(|v| FieldViolation {
                    field: v.field.clone(),
                    description: v.description.clone(),
                })
                .collect(),
        }
    }

    /// Its proto3 JSON form (Connect's `debug`).
    pub fn to_json(&self) -> Value {
        let violations: Vec<Value> = self
            .field_violations
            .iter()
            .map(|v| json!({ "field": v.field, "description": v.description }))
            .collect();
        json!({ "fieldViolations": violations })
    }
}

// ---------------------------------------------------------------------------
// Debug without secrets

impl fmt::Debug for SetPasswordRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetPasswordRequest")
            .field("user_id", &self.user_id)
            .field("new_password", &self.new_password)
            .field("verification", &self.verification)
            .finish()
    }
}

impl fmt::Debug for SetPasswordVerification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CurrentPassword(_) => "CurrentPassword(<redacted>)",
            Self::VerificationCode(_) => "VerificationCode(<redacted>)",
        })
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Password")
            .field("password", &"<redacted>")
            .field("change_required", &self.change_required)
            .finish()
    }
}

impl fmt::Debug for PasswordResetResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordResetResponse")
            .field("details", &self.details)
            .field(
                "verification_code",
                &self.verification_code.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

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
/// the REST binding of family Z reads it. serde_json's errors give the line
/// and column, which point at the field.
fn parse_object<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not valid UTF-8".to_string())?;
    let text = if text.trim().is_empty() { "{}" } else { text };
    if !text.trim_start().starts_with('{') {
        return Err("the body must be a JSON object".into());
    }
    serde_json::from_str(text).map_err(|e| format!("invalid JSON message: {e}"))
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
        Some(EnumJson::Name(name)) => NotificationType::NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, value)| *value as i32)
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
    use prost::Message;

    /// What @connectrpc/connect-node 2.2.0 sent for a SetPassword with the
    /// current password (captured, see INTEGRATION.md).
    const SET_PASSWORD_FROM_CONNECT_ES: &str = "0a18303132333435363738396162636465663031323334353637120c0a0a6e65772d706173732d311a0a6f6c642d706173732d31";
    const PASSWORD_RESET_RETURN_CODE_FROM_CONNECT_ES: &str =
        "0a183031323334353637383961626364656630313233343536371a00";
    const USER: &str = "0123456789abcdef01234567";

    #[test]
    fn set_password_decodes_the_bytes_a_real_client_sends() {
        let bytes = hex::decode(SET_PASSWORD_FROM_CONNECT_ES).unwrap();
        let request = SetPasswordRequest::decode(bytes.as_slice()).unwrap();
        assert_eq!(request.user_id, USER);
        let new_password = request.new_password.as_ref().unwrap();
        assert_eq!(new_password.password, "new-pass-1");
        assert!(!new_password.change_required);
        assert_eq!(
            request.verification,
            Some(SetPasswordVerification::CurrentPassword(
                "old-pass-1".into()
            ))
        );
        // And encodes back to the same bytes.
        assert_eq!(request.encode_to_vec(), bytes);
    }

    #[test]
    fn password_reset_with_return_code_decodes_the_bytes_a_real_client_sends() {
        let bytes = hex::decode(PASSWORD_RESET_RETURN_CODE_FROM_CONNECT_ES).unwrap();
        let request = PasswordResetRequest::decode(bytes.as_slice()).unwrap();
        assert_eq!(request.user_id, USER);
        assert_eq!(
            request.medium,
            Some(PasswordResetMedium::ReturnCode(ReturnPasswordResetCode {}))
        );
    }

    #[test]
    fn field_numbers_match_the_descriptor() {
        // Hand-encoded: tag = field << 3 | wire type.
        let request = SetPasswordRequest {
            user_id: "u".into(),
            new_password: Some(Password {
                password: "p".into(),
                change_required: true,
            }),
            verification: Some(SetPasswordVerification::VerificationCode("C".into())),
        };
        // 1:"u"  2:{1:"p" 2:true}  4:"C"
        let expected = [
            0x0a, 1, b'u', 0x12, 5, 0x0a, 1, b'p', 0x10, 1, 0x22, 1, b'C',
        ];
        assert_eq!(request.encode_to_vec(), expected);

        let link = PasswordResetRequest {
            user_id: "u".into(),
            medium: Some(PasswordResetMedium::SendLink(SendPasswordResetLink {
                notification_type: NotificationType::Email as i32,
                url_template: Some("t".into()),
            })),
        };
        // 1:"u"  2:{1:1 2:"t"}
        let expected = [0x0a, 1, b'u', 0x12, 5, 0x08, 1, 0x12, 1, b't'];
        assert_eq!(link.encode_to_vec(), expected);
    }

    #[test]
    fn details_encode_with_their_field_numbers() {
        let response = SetPasswordResponse {
            details: Some(Details {
                sequence: 300,
                change_date: Some(Timestamp {
                    seconds: 1,
                    nanos: 2,
                }),
                resource_owner: "o".into(),
                creation_date: None,
            }),
        };
        // 1:{1:300 2:{1:1 2:2} 3:"o"}
        let expected = [
            0x0a, 12, 0x08, 0xac, 0x02, 0x12, 4, 0x08, 1, 0x10, 2, 0x1a, 1, b'o',
        ];
        assert_eq!(response.encode_to_vec(), expected);

        let reset = PasswordResetResponse {
            details: None,
            verification_code: Some("AB12CD".into()),
        };
        assert_eq!(
            reset.encode_to_vec(),
            [0x12, 6, b'A', b'B', b'1', b'2', b'C', b'D']
        );
    }

    #[test]
    fn unknown_fields_are_skipped_in_binary() {
        // 1:"u", then field 99 (varint) and field 100 (bytes), then 3:"pw".
        let bytes = [
            0x0a, 1, b'u', 0x98, 0x06, 7, 0xa2, 0x06, 2, b'x', b'y', 0x1a, 2, b'p', b'w',
        ];
        let request = SetPasswordRequest::decode(bytes.as_slice()).unwrap();
        assert_eq!(request.user_id, "u");
        assert_eq!(
            request.verification,
            Some(SetPasswordVerification::CurrentPassword("pw".into()))
        );
    }

    #[test]
    fn protobuf_garbage_is_a_decode_error() {
        for garbage in [&[0xff_u8, 0xff, 0xff][..], &[0x0a, 50, b'x'], &[0x0f]] {
            assert!(SetPasswordRequest::decode(garbage).is_err(), "{garbage:?}");
        }
        // A string that is not UTF-8.
        assert!(SetPasswordRequest::decode(&[0x0a, 1, 0xff][..]).is_err());
    }

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
        let details = Details::from(&reset_code::Details {
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

    #[test]
    fn timestamps_split_milliseconds_into_seconds_and_nanos() {
        assert_eq!(
            Timestamp::from_millis(1_700_000_000_123),
            Timestamp {
                seconds: 1_700_000_000,
                nanos: 123_000_000
            }
        );
        assert_eq!(
            Timestamp::from_millis(1_700_000_000_123).millis(),
            1_700_000_000_123
        );
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let request = SetPasswordRequest {
            user_id: "u".into(),
            new_password: Some(Password {
                password: "hunter2-new".into(),
                change_required: false,
            }),
            verification: Some(SetPasswordVerification::CurrentPassword(
                "hunter2-old".into(),
            )),
        };
        let printed = format!("{request:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        let response = PasswordResetResponse {
            details: None,
            verification_code: Some("SECRET".into()),
        };
        assert!(!format!("{response:?}").contains("SECRET"));
    }
}

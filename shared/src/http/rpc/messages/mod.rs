//! ZITADEL's own messages for `zitadel.user.v2.UserService/PasswordReset` and
//! `/SetPassword`, with the google.rpc error details, as prost types.
//!
//! Field numbers, types and JSON names are those of the published descriptors
//! (`@zitadel/proto` 1.3.1: `zitadel/user/v2/user_service.proto`,
//! `zitadel/user/v2/password.proto`, `zitadel/object/v2/object.proto`).
//! Binary decoding skips unknown fields, as protobuf does. The proto3 JSON
//! mapping is written out in `json`: lowerCamelCase names out, both those and the
//! original snake_case names in, `null` as absent, unknown fields ignored,
//! `uint64` as a decimal string, `Timestamp` as RFC 3339.

use std::fmt;

use serde_json::Value;

use crate::clock::Millis;
use crate::domain::ChangeDetails;

mod error_details;
mod json;

pub use error_details::{
    Any, BadRequest, FieldViolation, RpcStatus, BAD_REQUEST_TYPE, TYPE_URL_PREFIX,
};

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

    /// The value a proto3 JSON name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, value)| *value)
    }
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

    pub(super) fn millis(self) -> Millis {
        self.seconds * 1000 + i64::from(self.nanos / 1_000_000)
    }
}

impl From<&ChangeDetails> for Details {
    fn from(details: &ChangeDetails) -> Self {
        Self {
            sequence: details.sequence,
            change_date: Some(Timestamp::from_millis(details.change_date)),
            resource_owner: details.resource_owner.clone(),
            creation_date: None,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// What @connectrpc/connect-node 2.2.0 sent for a SetPassword with the
    /// current password (captured on the wire).
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

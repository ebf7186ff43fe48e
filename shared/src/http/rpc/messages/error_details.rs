//! The google.rpc error details family Z sends beside a status: `Status`
//! (in gRPC-web's `grpc-status-details-bin`), `Any`, and `BadRequest` with its
//! field violations (Connect's `details`).

use serde_json::{json, Value};

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

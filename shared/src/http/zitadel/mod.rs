//! Family Z's two operations at the boundary, whatever the binding: the
//! request each one carries, read from the REST route's JSON (the user from
//! the path) or from ZITADEL's RPC message (the user in the body), and one
//! set of field rules that turns it into what the flow takes.
//!
//! JSON can hold a value of the wrong type where protobuf cannot;
//! [`Given::WrongType`] carries that to the same rules, so both bindings
//! answer the same violations with the same words. Z2 (`SetPassword`) is in
//! `set_password`, Z1 (`PasswordReset`) in `password_reset`.

pub mod driver;
mod password_reset;
mod set_password;

pub use password_reset::{PasswordResetInput, SendLink, MAX_URL_TEMPLATE_BYTES};
pub use set_password::{NewPassword, PasswordChange, SetPasswordInput, MAX_CODE_CHARS};

use serde_json::{Map, Value};

use super::grpc::{Code, FieldViolation, Status};
use crate::domain::Secret;

/// A field of a request as it arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Given<T> {
    /// Absent, or JSON `null`.
    #[default]
    Absent,
    Value(T),
    /// A JSON value of another type than the field's.
    WrongType,
}

impl<T> Given<T> {
    fn is_present(&self) -> bool {
        !matches!(self, Given::Absent)
    }

    /// A JSON member: `read` takes the value of the field's type.
    fn from_json(value: Option<&Value>, read: impl FnOnce(&Value) -> Option<T>) -> Self {
        match value {
            None | Some(Value::Null) => Given::Absent,
            Some(value) => read(value).map_or(Given::WrongType, Given::Value),
        }
    }
}

impl<T> From<Option<T>> for Given<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Given::Absent, Given::Value)
    }
}

fn json_text(value: &Value) -> Option<Secret> {
    value.as_str().map(Secret::new)
}

fn json_object(value: &Value) -> Option<&Map<String, Value>> {
    value.as_object()
}

fn invalid_request() -> Status {
    Status::new(Code::InvalidArgument, "invalid request")
}

fn invalid(field: &str, description: &str) -> Status {
    invalid_request().violation(field, description)
}

/// The violations found so far, in the order the fields were checked.
#[derive(Default)]
struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Records a violation; `None`, for the field's value.
    fn add<T>(&mut self, field: &str, description: &str) -> Option<T> {
        self.0.push(FieldViolation {
            field: field.to_string(),
            description: description.to_string(),
        });
        None
    }

    fn required_text(&mut self, value: &Given<Secret>, field: &str, max: usize) -> Option<Secret> {
        match value {
            Given::Absent => self.add(field, "required"),
            _ => self.optional_text(value, field, max),
        }
    }

    /// A string of 1 to `max` characters; absent is `None`.
    fn optional_text(&mut self, value: &Given<Secret>, field: &str, max: usize) -> Option<Secret> {
        match value {
            Given::Absent => None,
            Given::WrongType => self.add(field, "must be a string"),
            Given::Value(text) if text.expose().is_empty() => self.add(field, "must not be empty"),
            Given::Value(text) if text.expose().chars().count() > max => {
                self.add(field, &format!("must be at most {max} characters"))
            }
            Given::Value(text) => Some(text.clone()),
        }
    }

    fn into_status(self) -> Status {
        Status {
            field_violations: self.0,
            ..invalid_request()
        }
    }
}

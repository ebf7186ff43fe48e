//! Items and attributes: how a user and the other records are laid out in
//! DynamoDB, and the small helpers every area's file uses.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use crate::domain::{Email, Locale, OtpDevice, User, UserId};
use crate::store::StoreError;

pub(super) type Item = HashMap<String, AttributeValue>;

/// A rate-limit counter still below `:quota` (`#count` names `count`, `:zero`
/// is 0): a counter not yet created counts 0, so it is below any quota but 0
/// (a quota of 0 takes nothing).
pub(super) const BELOW_QUOTA: &str =
    "(attribute_not_exists(counterId) AND :zero < :quota) OR #count < :quota";

pub(super) fn backend(error: impl std::error::Error) -> StoreError {
    StoreError(DisplayErrorContext(error).to_string())
}

pub(super) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn strings(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v)).collect())
}

pub(super) fn get_s(item: &Item, name: &str) -> Result<String, StoreError> {
    opt_s(item, name)?.ok_or_else(|| StoreError(format!("attribute {name} missing")))
}

pub(super) fn opt_s(item: &Item, name: &str) -> Result<Option<String>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        Some(_) => Err(StoreError(format!("attribute {name} is not a string"))),
    }
}

pub(super) fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    opt_n(item, name)?.ok_or_else(|| StoreError(format!("attribute {name} missing")))
}

pub(super) fn opt_n<T: std::str::FromStr>(
    item: &Item,
    name: &str,
) -> Result<Option<T>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => v
            .parse()
            .map(Some)
            .map_err(|_| StoreError(format!("attribute {name} is not a number"))),
        Some(_) => Err(StoreError(format!("attribute {name} is not a number"))),
    }
}

fn get_strings(item: &Item, name: &str) -> Result<Vec<String>, StoreError> {
    match item.get(name) {
        None => Ok(Vec::new()),
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|v| match v {
                AttributeValue::S(s) => Ok(s.clone()),
                _ => Err(StoreError(format!("attribute {name} holds a non-string"))),
            })
            .collect(),
        Some(_) => Err(StoreError(format!("attribute {name} is not a list"))),
    }
}

pub(super) fn parse_user_id(raw: &str) -> Result<UserId, StoreError> {
    UserId::parse(raw).ok_or_else(|| StoreError("stored user id is malformed".into()))
}

/// One key of a strongly consistent `BatchGetItem`.
pub(super) fn consistent_key(name: &str, value: &str) -> Result<KeysAndAttributes, StoreError> {
    KeysAndAttributes::builder()
        .keys(HashMap::from([(name.to_string(), s(value))]))
        .consistent_read(true)
        .build()
        .map_err(backend)
}

/// The key of a user's reset code in the tokens table.
pub(super) fn reset_code_id(user_id: &UserId) -> String {
    format!("reset-code#{user_id}")
}

/// The key of a user's pending OTP enrolment in the tokens table.
pub(super) fn otp_enrolment_id(user_id: &UserId) -> String {
    format!("otp-enrolment#{user_id}")
}

/// The key of a user's PIN failure counter in the counters table.
pub(super) fn pin_counter_id(user_id: &UserId) -> String {
    format!("pin-failures#{user_id}")
}

pub(super) fn user_to_item(user: &User) -> Item {
    let mut item: Item = HashMap::from([
        ("userId".into(), s(user.id.as_str())),
        ("email".into(), s(user.email.as_str())),
        ("locale".into(), s(user.locale.as_str())),
        (
            "changeRequired".into(),
            AttributeValue::Bool(user.change_required),
        ),
        ("linkedIdentities".into(), strings(&user.linked_identities)),
        ("paymentMethods".into(), strings(&user.payment_methods)),
        ("sequence".into(), n(user.sequence)),
        ("resourceOwner".into(), s(&user.resource_owner)),
    ]);
    let optional_strings = [
        ("passwordHash", &user.password_hash),
        ("pinHmac", &user.pin_hmac),
        ("setPasswordTokenHash", &user.set_password_token_hash),
    ];
    for (name, value) in optional_strings {
        if let Some(value) = value {
            item.insert(name.into(), s(value));
        }
    }
    let optional_numbers = [
        ("passwordChangedAt", user.password_changed_at),
        ("sessionsNotBefore", user.sessions_not_before),
        ("criticalDataDeletedAt", user.critical_data_deleted_at),
    ];
    for (name, value) in optional_numbers {
        if let Some(value) = value {
            item.insert(name.into(), n(value));
        }
    }
    if let Some(device) = &user.otp_device {
        item.insert("otpSecret".into(), s(&device.sealed_secret));
        if let Some(step) = device.last_accepted_step {
            item.insert("otpLastAcceptedStep".into(), n(step));
        }
    }
    item
}

pub(super) fn user_from_item(item: &Item) -> Result<User, StoreError> {
    Ok(User {
        id: parse_user_id(&get_s(item, "userId")?)?,
        email: Email::parse(&get_s(item, "email")?)
            .ok_or_else(|| StoreError("stored email is malformed".into()))?,
        locale: opt_s(item, "locale")?
            .and_then(|l| Locale::parse(&l))
            .unwrap_or_default(),
        password_hash: opt_s(item, "passwordHash")?,
        change_required: matches!(item.get("changeRequired"), Some(AttributeValue::Bool(true))),
        pin_hmac: opt_s(item, "pinHmac")?,
        linked_identities: get_strings(item, "linkedIdentities")?,
        payment_methods: get_strings(item, "paymentMethods")?,
        sequence: get_n(item, "sequence")?,
        resource_owner: opt_s(item, "resourceOwner")?.unwrap_or_default(),
        password_changed_at: opt_n(item, "passwordChangedAt")?,
        sessions_not_before: opt_n(item, "sessionsNotBefore")?,
        critical_data_deleted_at: opt_n(item, "criticalDataDeletedAt")?,
        set_password_token_hash: opt_s(item, "setPasswordTokenHash")?,
        otp_device: opt_s(item, "otpSecret")?
            .map(|sealed_secret| {
                Ok::<_, StoreError>(OtpDevice {
                    sealed_secret,
                    last_accepted_step: opt_n(item, "otpLastAcceptedStep")?,
                })
            })
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_survives_the_round_trip_through_an_item() {
        let mut user = User::new(
            Email::parse("a.b@example.com").unwrap(),
            Locale::De,
            "org-1".into(),
        );
        user.password_hash = Some("$argon2id$v=19$...".into());
        user.linked_identities = vec!["google".into()];
        user.payment_methods = vec!["pm_1".into(), "pm_2".into()];
        user.sequence = 7;
        user.sessions_not_before = Some(1_700_000_000);
        assert_eq!(user_from_item(&user_to_item(&user)).unwrap(), user);
        user.otp_device = Some(OtpDevice {
            sealed_secret: "v1:k1:AAAA".into(),
            last_accepted_step: Some(56_666_667),
        });
        assert_eq!(user_from_item(&user_to_item(&user)).unwrap(), user);
    }
}

//! The DynamoDB adapter: the only module that speaks the SDK's types.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;

use super::{
    ChangePasswordError, IssueTokenError, PasswordWrite, PinFailures, SetPasswordWithTokenError,
    Store, StoreError, TokenRecord, WriteError,
};
use crate::clock::Millis;
use crate::config::Tables;
use crate::domain::{AuditEvent, AuditEventType, Email, Locale, User, UserId};

type Item = HashMap<String, AttributeValue>;

const SET_PASSWORD_PURPOSE: &str = "set-password";

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    tables: Tables,
}

impl DynamoStore {
    pub fn new(client: Client, tables: Tables) -> Self {
        Self { client, tables }
    }

    fn audit_put(
        &self,
        user_id: &UserId,
        sequence: u64,
        event: AuditEventType,
        actor: &str,
        at: Millis,
    ) -> Result<TransactWriteItem, StoreError> {
        let item: Item = HashMap::from([
            ("userId".into(), s(user_id.as_str())),
            ("sequence".into(), n(sequence)),
            ("eventType".into(), s(event.as_str())),
            ("at".into(), n(at)),
            ("actor".into(), s(actor)),
        ]);
        let put = Put::builder()
            .table_name(&self.tables.audit)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(userId)")
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The user update of every password write: the new hash and what goes
    /// with it, the sequence bump, on condition that the sequence is the one
    /// the decision was made on (and `condition`, where given).
    fn password_update(
        &self,
        write: &PasswordWrite,
        condition: &str,
        value: Option<(&str, AttributeValue)>,
        suffix: &str,
    ) -> Result<Update, StoreError> {
        let mut set = vec![
            "passwordHash = :h",
            "changeRequired = :cr",
            "passwordChangedAt = :at",
            "#seq = :next",
        ];
        let mut update = Update::builder()
            .table_name(&self.tables.users)
            .key("userId", s(write.user_id.as_str()))
            .expression_attribute_names("#seq", "sequence")
            .expression_attribute_values(":h", s(&write.password_hash))
            .expression_attribute_values(":cr", AttributeValue::Bool(write.change_required))
            .expression_attribute_values(":at", n(write.at))
            .expression_attribute_values(":expected", n(write.expected_sequence))
            .expression_attribute_values(":next", n(write.expected_sequence + events_of(write)));
        if write.delete_critical_data {
            set.push("paymentMethods = :none");
            set.push("criticalDataDeletedAt = :at");
            update = update.expression_attribute_values(":none", AttributeValue::L(Vec::new()));
        }
        if let Some((name, value)) = value {
            update = update.expression_attribute_values(name, value);
        }
        if let Some(not_before) = write.sessions_not_before {
            set.push("sessionsNotBefore = :snb");
            update = update.expression_attribute_values(":snb", n(not_before));
        }
        update
            .condition_expression(format!("{condition} AND #seq = :expected"))
            .update_expression(format!("SET {} {suffix}", set.join(", ")))
            .build()
            .map_err(backend)
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), Transaction> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(service)) => match service.err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    let failed = cancelled
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code() == Some("ConditionalCheckFailed"))
                        .collect();
                    Err(Transaction::ConditionsFailed(failed))
                }
                other => Err(Transaction::Failed(StoreError(
                    DisplayErrorContext(other).to_string(),
                ))),
            },
            Err(other) => Err(Transaction::Failed(backend(other))),
        }
    }
}

/// How a transaction failed: which of its items' conditions did not hold, in
/// order, or any other failure.
enum Transaction {
    ConditionsFailed(Vec<bool>),
    Failed(StoreError),
}

impl Transaction {
    fn condition_failed(&self, index: usize) -> bool {
        matches!(self, Transaction::ConditionsFailed(failed) if failed.get(index) == Some(&true))
    }

    fn into_store_error(self) -> StoreError {
        match self {
            Transaction::Failed(e) => e,
            Transaction::ConditionsFailed(reasons) => {
                StoreError(format!("transaction cancelled: {reasons:?}"))
            }
        }
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn create_user(&self, user: &User, actor: &str, at: Millis) -> Result<(), StoreError> {
        let mut item = user_to_item(user);
        item.insert("sequence".into(), n(1));
        item.insert("createdAt".into(), n(at));
        let put = Put::builder()
            .table_name(&self.tables.users)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(userId)")
            .build()
            .map_err(backend)?;
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            self.audit_put(&user.id, 1, AuditEventType::UserCreated, actor, at)?,
        ];
        self.transact(items)
            .await
            .map_err(Transaction::into_store_error)
    }

    async fn get_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.users)
            .key("userId", s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        output.item().map(user_from_item).transpose()
    }

    async fn audit_events(&self, id: &UserId) -> Result<Vec<AuditEvent>, StoreError> {
        let mut events = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.tables.audit)
                .key_condition_expression("userId = :u")
                .expression_attribute_values(":u", s(id.as_str()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            for item in page.items() {
                events.push(AuditEvent {
                    user_id: id.clone(),
                    sequence: get_n(item, "sequence")?,
                    event_type: get_s(item, "eventType")?,
                    at: get_n(item, "at")?,
                    actor: get_s(item, "actor")?,
                });
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        Ok(events)
    }

    async fn issue_set_password_token(
        &self,
        user: &User,
        digest: &str,
        expires_at: i64,
    ) -> Result<(), IssueTokenError> {
        let token = Put::builder()
            .table_name(&self.tables.tokens)
            .set_item(Some(HashMap::from([
                ("tokenId".into(), s(digest)),
                ("purpose".into(), s(SET_PASSWORD_PURPOSE)),
                ("userId".into(), s(user.id.as_str())),
                ("expiresAt".into(), n(expires_at)),
            ])))
            .condition_expression("attribute_not_exists(tokenId)")
            .build()
            .map_err(backend)?;
        let pointer = Update::builder()
            .table_name(&self.tables.users)
            .key("userId", s(user.id.as_str()))
            .update_expression("SET setPasswordTokenHash = :d")
            .condition_expression("attribute_exists(userId) AND attribute_not_exists(passwordHash)")
            .expression_attribute_values(":d", s(digest))
            .build()
            .map_err(backend)?;
        let mut items = vec![
            TransactWriteItem::builder().put(token).build(),
            TransactWriteItem::builder().update(pointer).build(),
        ];
        // The pointer alone already kills the old token; deleting its item too
        // keeps the table tidy before TTL gets to it.
        if let Some(previous) = user
            .set_password_token_hash
            .as_deref()
            .filter(|p| *p != digest)
        {
            let delete = Delete::builder()
                .table_name(&self.tables.tokens)
                .key("tokenId", s(previous))
                .build()
                .map_err(backend)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(t) if t.condition_failed(1) => Err(IssueTokenError::NotEligible),
            Err(t) => Err(t.into_store_error().into()),
        }
    }

    async fn take_from_counter(
        &self,
        counter: &str,
        limit: u32,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.counters)
            .key("counterId", s(counter))
            .update_expression("ADD #count :one SET expiresAt = if_not_exists(expiresAt, :expires)")
            .condition_expression("attribute_not_exists(counterId) OR #count < :limit")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":expires", n(expires_at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(false)
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn give_back_to_counter(&self, counter: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.counters)
            .key("counterId", s(counter))
            .update_expression("ADD #count :minus_one")
            .condition_expression("#count > :zero")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Nothing to give back: the window ended and the item expired.
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(())
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn find_set_password_token(
        &self,
        digest: &str,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.tokens)
            .key("tokenId", s(digest))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let Some(item) = output.item() else {
            return Ok(None);
        };
        if get_s(item, "purpose")? != SET_PASSWORD_PURPOSE {
            return Ok(None);
        }
        Ok(Some(TokenRecord {
            user_id: parse_user_id(&get_s(item, "userId")?)?,
            expires_at: get_n(item, "expiresAt")?,
        }))
    }

    async fn change_password(&self, write: &PasswordWrite) -> Result<u64, ChangePasswordError> {
        let update = self.password_update(write, "attribute_exists(userId)", None, "")?;
        let next = write.expected_sequence + events_of(write);
        let mut items = vec![
            TransactWriteItem::builder().update(update).build(),
            self.audit_put(
                &write.user_id,
                write.expected_sequence + 1,
                write.event,
                &write.actor,
                write.at,
            )?,
        ];
        if write.delete_critical_data {
            items.push(self.audit_put(
                &write.user_id,
                next,
                AuditEventType::CriticalDataDeleted,
                &write.actor,
                write.at,
            )?);
        }
        match self.transact(items).await {
            Ok(()) => Ok(next),
            Err(t) if t.condition_failed(0) => Err(ChangePasswordError::UserChanged),
            Err(t) => Err(t.into_store_error().into()),
        }
    }

    async fn user_with_pin_failures(
        &self,
        id: &UserId,
        now: i64,
    ) -> Result<Option<(User, PinFailures)>, StoreError> {
        let user_key = HashMap::from([("userId".to_string(), s(id.as_str()))]);
        let counter_key = HashMap::from([("counterId".to_string(), s(&pin_counter_id(id)))]);
        let keys = |key: Item| {
            KeysAndAttributes::builder()
                .keys(key)
                .consistent_read(true)
                .build()
                .map_err(backend)
        };
        let output = self
            .client
            .batch_get_item()
            .request_items(&self.tables.users, keys(user_key)?)
            .request_items(&self.tables.counters, keys(counter_key)?)
            .send()
            .await
            .map_err(backend)?;
        if output.unprocessed_keys().is_some_and(|k| !k.is_empty()) {
            return Err(StoreError(
                "DynamoDB left keys unprocessed; try again".into(),
            ));
        }
        let responses = output.responses();
        let Some(user_item) = responses
            .and_then(|r| r.get(&self.tables.users))
            .and_then(|items| items.first())
        else {
            return Ok(None);
        };
        let counter = responses
            .and_then(|r| r.get(&self.tables.counters))
            .and_then(|items| items.first());
        let failures = match counter {
            Some(item) => {
                let window_ends_at: i64 = get_n(item, "expiresAt")?;
                if window_ends_at > now {
                    PinFailures {
                        count: get_n(item, "count")?,
                        window_ends_at: Some(window_ends_at),
                    }
                } else {
                    PinFailures::default()
                }
            }
            None => PinFailures::default(),
        };
        Ok(Some((user_from_item(user_item)?, failures)))
    }

    async fn record_pin_failure(
        &self,
        user: &User,
        seen: PinFailures,
        max_failures: u32,
        now: i64,
        window_ends_at: i64,
        at: Millis,
    ) -> Result<(), WriteError> {
        let counter = pin_counter_id(&user.id);
        let count = Update::builder()
            .table_name(&self.tables.counters)
            .key("counterId", s(&counter))
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":next", n(seen.count + 1))
            .expression_attribute_values(":now", n(now));
        let count = if seen.count == 0 {
            // A first failure (re)opens the window, replacing an expired one.
            count
                .update_expression("SET #count = :next, expiresAt = :ends")
                .condition_expression("attribute_not_exists(counterId) OR expiresAt <= :now")
                .expression_attribute_values(":ends", n(window_ends_at))
        } else {
            count
                .update_expression("SET #count = :next")
                .condition_expression("#count = :seen AND expiresAt > :now")
                .expression_attribute_values(":seen", n(seen.count))
        }
        .build()
        .map_err(backend)?;

        let mut items = vec![TransactWriteItem::builder().update(count).build()];
        if seen.count + 1 > max_failures {
            let next = user.sequence + 1;
            let delete = Update::builder()
                .table_name(&self.tables.users)
                .key("userId", s(user.id.as_str()))
                .update_expression(
                    "SET paymentMethods = :none, criticalDataDeletedAt = :at, #seq = :next",
                )
                .condition_expression("#seq = :expected")
                .expression_attribute_names("#seq", "sequence")
                .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
                .expression_attribute_values(":at", n(at))
                .expression_attribute_values(":next", n(next))
                .expression_attribute_values(":expected", n(user.sequence))
                .build()
                .map_err(backend)?;
            items.push(TransactWriteItem::builder().update(delete).build());
            items.push(self.audit_put(
                &user.id,
                next,
                AuditEventType::CriticalDataDeleted,
                user.id.as_str(),
                at,
            )?);
        }
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(Transaction::ConditionsFailed(_)) => Err(WriteError::Conflict),
            Err(Transaction::Failed(e)) => Err(e.into()),
        }
    }

    async fn clear_pin_failures(
        &self,
        id: &UserId,
        seen: PinFailures,
        now: i64,
    ) -> Result<(), WriteError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.tables.counters)
            .key("counterId", s(&pin_counter_id(id)))
            .condition_expression("#count = :seen AND expiresAt > :now")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":seen", n(seen.count))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Err(WriteError::Conflict)
            }
            Err(e) => Err(backend(e).into()),
        }
    }

    async fn delete_critical_data(
        &self,
        user: &User,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError> {
        let next = user.sequence + 1;
        let delete = Update::builder()
            .table_name(&self.tables.users)
            .key("userId", s(user.id.as_str()))
            .update_expression(
                "SET paymentMethods = :none, criticalDataDeletedAt = :at, #seq = :next",
            )
            .condition_expression("#seq = :expected")
            .expression_attribute_names("#seq", "sequence")
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":at", n(at))
            .expression_attribute_values(":next", n(next))
            .expression_attribute_values(":expected", n(user.sequence))
            .build()
            .map_err(backend)?;
        let items = vec![
            TransactWriteItem::builder().update(delete).build(),
            self.audit_put(
                &user.id,
                next,
                AuditEventType::CriticalDataDeleted,
                actor,
                at,
            )?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(next),
            Err(Transaction::ConditionsFailed(_)) => Err(WriteError::Conflict),
            Err(Transaction::Failed(e)) => Err(e.into()),
        }
    }

    async fn set_pin(
        &self,
        user: &User,
        pin_digest: &str,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError> {
        let next = user.sequence + 1;
        let update = Update::builder()
            .table_name(&self.tables.users)
            .key("userId", s(user.id.as_str()))
            .update_expression("SET pinHmac = :pin, #seq = :next")
            .condition_expression("#seq = :expected")
            .expression_attribute_names("#seq", "sequence")
            .expression_attribute_values(":pin", s(pin_digest))
            .expression_attribute_values(":next", n(next))
            .expression_attribute_values(":expected", n(user.sequence))
            .build()
            .map_err(backend)?;
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            self.audit_put(&user.id, next, AuditEventType::PinSet, actor, at)?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(next),
            Err(Transaction::ConditionsFailed(_)) => Err(WriteError::Conflict),
            Err(Transaction::Failed(e)) => Err(e.into()),
        }
    }

    async fn set_password_with_token(
        &self,
        digest: &str,
        now: i64,
        write: &PasswordWrite,
    ) -> Result<u64, SetPasswordWithTokenError> {
        let consume = Delete::builder()
            .table_name(&self.tables.tokens)
            .key("tokenId", s(digest))
            .condition_expression("attribute_exists(tokenId) AND expiresAt > :now AND userId = :u")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":u", s(write.user_id.as_str()))
            .build()
            .map_err(backend)?;
        let next = write.expected_sequence + 1;
        let update = self.password_update(
            write,
            "setPasswordTokenHash = :d AND attribute_not_exists(passwordHash)",
            Some((":d", s(digest))),
            "REMOVE setPasswordTokenHash",
        )?;
        let items = vec![
            TransactWriteItem::builder().delete(consume).build(),
            TransactWriteItem::builder().update(update).build(),
            self.audit_put(&write.user_id, next, write.event, &write.actor, write.at)?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(next),
            Err(t) if t.condition_failed(0) => Err(SetPasswordWithTokenError::TokenNotLive),
            Err(t) if t.condition_failed(1) => Err(SetPasswordWithTokenError::UserChanged),
            Err(t) => Err(t.into_store_error().into()),
        }
    }
}

/// Audit events a password write appends: the change, and the deletion of
/// critical data where it goes with it.
fn events_of(write: &PasswordWrite) -> u64 {
    1 + u64::from(write.delete_critical_data)
}

fn pin_counter_id(user_id: &UserId) -> String {
    format!("pin-failures#{user_id}")
}

fn backend(error: impl std::error::Error) -> StoreError {
    StoreError(DisplayErrorContext(error).to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn strings(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v)).collect())
}

fn get_s(item: &Item, name: &str) -> Result<String, StoreError> {
    opt_s(item, name)?.ok_or_else(|| StoreError(format!("attribute {name} missing")))
}

fn opt_s(item: &Item, name: &str) -> Result<Option<String>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        Some(_) => Err(StoreError(format!("attribute {name} is not a string"))),
    }
}

fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    opt_n(item, name)?.ok_or_else(|| StoreError(format!("attribute {name} missing")))
}

fn opt_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<Option<T>, StoreError> {
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

fn parse_user_id(raw: &str) -> Result<UserId, StoreError> {
    UserId::parse(raw).ok_or_else(|| StoreError("stored user id is malformed".into()))
}

fn user_to_item(user: &User) -> Item {
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
    item
}

fn user_from_item(item: &Item) -> Result<User, StoreError> {
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
    }
}

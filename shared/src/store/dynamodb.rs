//! The DynamoDB adapter: the only module that speaks the SDK's types.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;

use super::{
    ChangePasswordError, IssueTokenError, PasswordWrite, PinFailures, Proof, ProofWriteError,
    ResetCode, ResetState, SetPasswordWithTokenError, Store, StoreError, TokenRecord, WriteError,
};
use crate::clock::Millis;
use crate::config::Tables;
use crate::domain::{AuditEvent, AuditEventType, Email, Locale, User, UserId};
use crate::rate_limit::Window;

type Item = HashMap<String, AttributeValue>;

const SET_PASSWORD_PURPOSE: &str = "set-password";
/// Submissions of a transaction that DynamoDB cancelled for a conflict.
const MAX_CONFLICT_ATTEMPTS: u64 = 4;

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

    /// A change to the user, on condition that their sequence is still the one
    /// read, bumping it, with its audit event: `update` adds the change's own
    /// `SET` (which must include `#seq = :next`) and values.
    fn user_change(
        &self,
        user: &User,
        event: AuditEventType,
        actor: &str,
        at: Millis,
        update: impl FnOnce(UpdateBuilder) -> UpdateBuilder,
    ) -> Result<UserChange, StoreError> {
        let next = user.sequence + 1;
        let base = Update::builder()
            .table_name(&self.tables.users)
            .key("userId", s(user.id.as_str()))
            .condition_expression("#seq = :expected")
            .expression_attribute_names("#seq", "sequence")
            .expression_attribute_values(":next", n(next))
            .expression_attribute_values(":expected", n(user.sequence));
        let update = update(base).build().map_err(backend)?;
        Ok(UserChange {
            next,
            items: vec![
                TransactWriteItem::builder().update(update).build(),
                self.audit_put(&user.id, next, event, actor, at)?,
            ],
        })
    }

    /// Writes a user change, with `others` in the same transaction.
    async fn commit_user_change(
        &self,
        change: UserChange,
        others: Vec<TransactWriteItem>,
    ) -> Result<u64, WriteError> {
        let mut items = others;
        items.extend(change.items);
        match self.transact(items).await {
            Ok(()) => Ok(change.next),
            Err(Transaction::ConditionsFailed(_)) => Err(WriteError::Conflict),
            Err(Transaction::Failed(e)) => Err(e.into()),
        }
    }

    /// Writes `items` in one transaction. DynamoDB cancels a transaction
    /// that meets another on the same item at the same moment
    /// (`TransactionConflict`); its conditions are evaluated afresh on every
    /// submission, so sending it again is safe, and it is, a few times.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), Transaction> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let reasons: Vec<Option<String>> = match result {
                Ok(_) => return Ok(()),
                Err(SdkError::ServiceError(service)) => match service.err() {
                    TransactWriteItemsError::TransactionCanceledException(cancelled) => cancelled
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().map(str::to_string))
                        .collect(),
                    other => {
                        return Err(Transaction::Failed(StoreError(
                            DisplayErrorContext(other).to_string(),
                        )))
                    }
                },
                Err(other) => return Err(Transaction::Failed(backend(other))),
            };
            let failed: Vec<bool> = reasons
                .iter()
                .map(|r| r.as_deref() == Some("ConditionalCheckFailed"))
                .collect();
            let conflicted = reasons
                .iter()
                .any(|r| r.as_deref() == Some("TransactionConflict"));
            if failed.contains(&true) || !conflicted || attempt == MAX_CONFLICT_ATTEMPTS {
                return Err(Transaction::ConditionsFailed(failed));
            }
            tokio::time::sleep(std::time::Duration::from_millis(10 * attempt)).await;
        }
    }
}

/// A user update and its audit event, to write in one transaction.
struct UserChange {
    next: u64,
    items: Vec<TransactWriteItem>,
}

/// The `SET` of deleting the critical data (the payment methods).
fn delete_critical_data(update: UpdateBuilder, at: Millis) -> UpdateBuilder {
    update
        .update_expression("SET paymentMethods = :none, criticalDataDeletedAt = :at, #seq = :next")
        .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
        .expression_attribute_values(":at", n(at))
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
        let output = self
            .client
            .batch_get_item()
            .request_items(&self.tables.users, consistent_keys(user_key)?)
            .request_items(&self.tables.counters, consistent_keys(counter_key)?)
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
            // The failure past the limit: the deletion goes in the same transaction.
            let change = self.user_change(
                user,
                AuditEventType::CriticalDataDeleted,
                user.id.as_str(),
                at,
                |u| delete_critical_data(u, at),
            )?;
            items.extend(change.items);
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
        let change =
            self.user_change(user, AuditEventType::CriticalDataDeleted, actor, at, |u| {
                delete_critical_data(u, at)
            })?;
        self.commit_user_change(change, Vec::new()).await
    }

    async fn set_pin(
        &self,
        user: &User,
        pin_digest: &str,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError> {
        let change = self.user_change(user, AuditEventType::PinSet, actor, at, |u| {
            u.update_expression("SET pinHmac = :pin, #seq = :next")
                .expression_attribute_values(":pin", s(pin_digest))
        })?;
        self.commit_user_change(change, Vec::new()).await
    }

    async fn issue_reset_code(
        &self,
        user: &User,
        digest: &str,
        expires_at: i64,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError> {
        // An unconditional put: the new code replaces any other.
        let code = Put::builder()
            .table_name(&self.tables.tokens)
            .set_item(Some(HashMap::from([
                ("tokenId".into(), s(&reset_code_id(&user.id))),
                ("purpose".into(), s("reset-code")),
                ("userId".into(), s(user.id.as_str())),
                ("codeHmac".into(), s(digest)),
                ("expiresAt".into(), n(expires_at)),
                ("wrongTries".into(), n(0)),
            ])))
            .build()
            .map_err(backend)?;
        let change = self.user_change(user, AuditEventType::ResetCodeIssued, actor, at, |u| {
            u.update_expression("SET #seq = :next")
        })?;
        self.commit_user_change(change, vec![TransactWriteItem::builder().put(code).build()])
            .await
    }

    async fn reset_state(
        &self,
        id: &UserId,
        wrong_secrets_counter: &str,
    ) -> Result<Option<ResetState>, StoreError> {
        let keys = |name: &str, value: String| {
            consistent_keys(HashMap::from([(name.to_string(), s(&value))]))
        };
        let output = self
            .client
            .batch_get_item()
            .request_items(&self.tables.users, keys("userId", id.to_string())?)
            .request_items(&self.tables.tokens, keys("tokenId", reset_code_id(id))?)
            .request_items(
                &self.tables.counters,
                keys("counterId", wrong_secrets_counter.to_string())?,
            )
            .send()
            .await
            .map_err(backend)?;
        if output.unprocessed_keys().is_some_and(|k| !k.is_empty()) {
            return Err(StoreError(
                "DynamoDB left keys unprocessed; try again".into(),
            ));
        }
        let first = |table: &str| {
            output
                .responses()
                .and_then(|r| r.get(table))
                .and_then(|items| items.first())
        };
        let Some(user) = first(&self.tables.users) else {
            return Ok(None);
        };
        let code = first(&self.tables.tokens)
            .map(|item| {
                Ok::<_, StoreError>(ResetCode {
                    digest: get_s(item, "codeHmac")?,
                    expires_at: get_n(item, "expiresAt")?,
                    wrong_tries: get_n(item, "wrongTries")?,
                })
            })
            .transpose()?;
        let wrong_secrets = first(&self.tables.counters)
            .map(|item| get_n(item, "count"))
            .transpose()?
            .unwrap_or(0);
        Ok(Some(ResetState {
            user: user_from_item(user)?,
            code,
            wrong_secrets,
        }))
    }

    async fn change_password_with_proof(
        &self,
        write: &PasswordWrite,
        proof: Proof<'_>,
        window: &Window,
    ) -> Result<u64, ProofWriteError> {
        let not_full = ConditionCheck::builder()
            .table_name(&self.tables.counters)
            .key("counterId", s(&window.counter))
            .condition_expression("attribute_not_exists(counterId) OR #count < :quota")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":quota", n(window.quota))
            .build()
            .map_err(backend)?;
        let update = self.password_update(write, "attribute_exists(userId)", None, "")?;
        let next = write.expected_sequence + events_of(write);
        let mut items = vec![
            TransactWriteItem::builder()
                .condition_check(not_full)
                .build(),
            TransactWriteItem::builder().update(update).build(),
            self.audit_put(
                &write.user_id,
                write.expected_sequence + 1,
                write.event,
                &write.actor,
                write.at,
            )?,
        ];
        if let Proof::Code {
            digest,
            max_wrong_tries,
            now,
        } = proof
        {
            let consume = Delete::builder()
                .table_name(&self.tables.tokens)
                .key("tokenId", s(&reset_code_id(&write.user_id)))
                .condition_expression("codeHmac = :code AND expiresAt > :now AND wrongTries < :max")
                .expression_attribute_values(":code", s(digest))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":max", n(max_wrong_tries))
                .build()
                .map_err(backend)?;
            items.push(TransactWriteItem::builder().delete(consume).build());
        }
        match self.transact(items).await {
            Ok(()) => Ok(next),
            Err(t) if t.condition_failed(0) => Err(ProofWriteError::LimitReached),
            Err(t) if t.condition_failed(3) => Err(ProofWriteError::CodeNotLive),
            Err(t) if t.condition_failed(1) => Err(ProofWriteError::UserChanged),
            Err(t) => Err(t.into_store_error().into()),
        }
    }

    async fn record_wrong_secret(
        &self,
        window: &Window,
        code_of: Option<&UserId>,
        max_wrong_tries: u32,
    ) -> Result<(), ProofWriteError> {
        let count = Update::builder()
            .table_name(&self.tables.counters)
            .key("counterId", s(&window.counter))
            .update_expression("ADD #count :one SET expiresAt = if_not_exists(expiresAt, :ends)")
            .condition_expression("attribute_not_exists(counterId) OR #count < :quota")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":quota", n(window.quota))
            .expression_attribute_values(":ends", n(window.ends_at))
            .build()
            .map_err(backend)?;
        let mut items = vec![TransactWriteItem::builder().update(count.clone()).build()];
        if let Some(user_id) = code_of {
            let tries = Update::builder()
                .table_name(&self.tables.tokens)
                .key("tokenId", s(&reset_code_id(user_id)))
                .update_expression("ADD wrongTries :one")
                .condition_expression("attribute_exists(tokenId) AND wrongTries < :max")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":max", n(max_wrong_tries))
                .build()
                .map_err(backend)?;
            items.push(TransactWriteItem::builder().update(tries).build());
        }
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(t) if t.condition_failed(0) => Err(ProofWriteError::LimitReached),
            // The code is gone or already dead: the wrong attempt still counts.
            Err(t) if t.condition_failed(1) => match self
                .transact(vec![TransactWriteItem::builder().update(count).build()])
                .await
            {
                Ok(()) => Ok(()),
                Err(t) if t.condition_failed(0) => Err(ProofWriteError::LimitReached),
                Err(t) => Err(t.into_store_error().into()),
            },
            Err(t) => Err(t.into_store_error().into()),
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

fn reset_code_id(user_id: &UserId) -> String {
    format!("reset-code#{user_id}")
}

fn pin_counter_id(user_id: &UserId) -> String {
    format!("pin-failures#{user_id}")
}

/// One key of a strongly consistent `BatchGetItem`.
fn consistent_keys(key: Item) -> Result<KeysAndAttributes, StoreError> {
    KeysAndAttributes::builder()
        .keys(key)
        .consistent_read(true)
        .build()
        .map_err(backend)
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

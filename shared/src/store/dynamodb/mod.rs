//! The DynamoDB adapter: the only module that speaks the SDK's types. One
//! struct, its role implementations split by area (users, tokens, counters,
//! the PIN proof, reset codes, the device OTP), over the transaction machinery
//! and the item codec.

mod codec;
mod counters;
mod device_otp;
mod pin;
mod reset_codes;
mod round_trips;
mod tokens;
mod transaction;
mod users;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Update};
use aws_sdk_dynamodb::Client;

use crate::clock::Millis;
use crate::config::Tables;
use crate::domain::AuditEventType;
use crate::store::{PasswordWrite, StoreError, WriteError};
use codec::{backend, consistent_key, n, s, strings, Item};
use round_trips::RoundTrips;
use transaction::{Transaction, UserChange};

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    tables: Tables,
}

impl DynamoStore {
    /// The store over `client`, its requests counted in each invocation's
    /// metrics (DynamoDB round trips).
    pub fn new(client: Client, tables: Tables) -> Self {
        let counted = client.config().to_builder().interceptor(RoundTrips).build();
        Self {
            client: Client::from_conf(counted),
            tables,
        }
    }

    /// Reads single items, at most one per table, in one strongly consistent
    /// `BatchGetItem`: each `(table, key attribute, key)`. Returns the items
    /// found, by table.
    async fn read_items(
        &self,
        keys: &[(&str, &str, &str)],
    ) -> Result<HashMap<String, Item>, StoreError> {
        let mut request = self.client.batch_get_item();
        for (table, name, value) in keys {
            request = request.request_items(*table, consistent_key(name, value)?);
        }
        let output = request.send().await.map_err(backend)?;
        if output.unprocessed_keys().is_some_and(|k| !k.is_empty()) {
            return Err(StoreError(
                "DynamoDB left keys unprocessed; try again".into(),
            ));
        }
        Ok(output
            .responses
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(table, items)| Some((table, items.into_iter().next()?)))
            .collect())
    }

    /// Writes `change`, with the other items of `transaction`; where a
    /// secret proved it, on condition that its wrong-secret window is still
    /// not full (`LimitReached`). `Conflict` if the user changed.
    async fn commit_change(
        &self,
        change: UserChange,
        mut transaction: Transaction,
        proven: Option<&crate::rate_limit::Window>,
    ) -> Result<u64, WriteError> {
        if let Some(window) = proven {
            transaction.check(transaction::Slot::Window, self.window_not_full(window)?);
        }
        let next = self.add_change(change, &mut transaction)?;
        transaction.commit(&self.client).await.map_err(|c| {
            c.meaning(&[
                (transaction::Slot::Window, WriteError::LimitReached),
                (transaction::Slot::User, WriteError::Conflict),
                // The counter it clears moved (the operator's unlock).
                (transaction::Slot::Counter, WriteError::Conflict),
            ])
        })?;
        Ok(next)
    }

    /// The condition that a rate-limit window is not full.
    fn window_not_full(
        &self,
        window: &crate::rate_limit::Window,
    ) -> Result<aws_sdk_dynamodb::types::ConditionCheck, StoreError> {
        aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.tables.counters)
            .key("counterId", s(&window.counter))
            .condition_expression(codec::BELOW_QUOTA)
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":quota", n(window.quota))
            .build()
            .map_err(backend)
    }

    /// Deletes the user's reset code, whatever its state: every password
    /// write kills it (a code must not outlive the password it could reset).
    fn kill_reset_code(
        &self,
        user_id: &crate::domain::UserId,
        transaction: &mut Transaction,
    ) -> Result<(), StoreError> {
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.tables.tokens)
            .key("tokenId", s(&codec::reset_code_id(user_id)))
            .build()
            .map_err(backend)?;
        transaction.delete(transaction::Slot::Code, delete);
        Ok(())
    }

    /// One conditional update on its own (a single write costs less than a
    /// transaction of one); its condition failing is `Conflict`.
    async fn update_one(&self, update: Update) -> Result<(), WriteError> {
        let result = self
            .client
            .update_item()
            .table_name(update.table_name())
            .set_key(Some(update.key().clone()))
            .update_expression(update.update_expression())
            .set_condition_expression(update.condition_expression().map(str::to_string))
            .set_expression_attribute_names(update.expression_attribute_names().cloned())
            .set_expression_attribute_values(update.expression_attribute_values().cloned())
            .send()
            .await;
        single_write(result)
    }

    /// One conditional delete on its own; its condition failing is `Conflict`.
    async fn delete_one(&self, delete: Delete) -> Result<(), WriteError> {
        let result = self
            .client
            .delete_item()
            .table_name(delete.table_name())
            .set_key(Some(delete.key().clone()))
            .set_condition_expression(delete.condition_expression().map(str::to_string))
            .set_expression_attribute_names(delete.expression_attribute_names().cloned())
            .set_expression_attribute_values(delete.expression_attribute_values().cloned())
            .send()
            .await;
        single_write(result)
    }

    /// Adds `change` to `transaction`, in this store's tables.
    fn add_change(
        &self,
        change: UserChange,
        transaction: &mut Transaction,
    ) -> Result<u64, StoreError> {
        change.add_to(transaction, &self.tables.users, &self.tables.audit)
    }
}

/// A single write's outcome: its condition failing is `Conflict`.
fn single_write<O, E, R>(result: Result<O, SdkError<E, R>>) -> Result<(), WriteError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(e))
            if e.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Err(WriteError::Conflict)
        }
        Err(e) => Err(backend(e).into()),
    }
}

/// The change every password write makes: the hash and what goes with it,
/// the session cut-off where the write ends sessions, and the deletion of
/// the critical data where it goes with it (a second event).
fn password_change(write: &PasswordWrite) -> UserChange {
    let mut change = UserChange::new(
        &write.user_id,
        write.expected_sequence,
        write.event,
        &write.actor,
        write.at,
    )
    .set("passwordHash", s(&write.password_hash))
    .set(
        "changeRequired",
        AttributeValue::Bool(write.change_required),
    )
    .set("passwordChangedAt", n(write.at));
    if let Some(not_before) = write.sessions_not_before {
        change = change.set("sessionsNotBefore", n(not_before));
    }
    if write.delete_critical_data {
        change = deleting_critical_data(
            change.and_event(AuditEventType::CriticalDataDeleted),
            write.at,
        );
    }
    change
}

/// `change` also deletes the payment methods and marks when.
fn deleting_critical_data(change: UserChange, at: Millis) -> UserChange {
    change
        .set("paymentMethods", strings(&[]))
        .set("criticalDataDeletedAt", n(at))
}

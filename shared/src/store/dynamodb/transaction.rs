//! The transaction machinery: items pushed under named slots, so a cancelled
//! transaction says which condition failed by name, not by position; and the
//! one builder of "a change to the user plus its audit events, at the next
//! sequences".

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;

use super::codec::{backend, n, s, Item};
use crate::clock::Millis;
use crate::domain::{random_hex, AuditEventType, UserId};
pub(super) use crate::store::Slot;
use crate::store::{StoreError, WriteError};

/// Submissions of a transaction that DynamoDB cancelled for a conflict.
const MAX_CONFLICT_ATTEMPTS: u64 = 4;

/// The items of one `TransactWriteItems`, each under its slot.
#[derive(Default)]
pub(super) struct Transaction {
    items: Vec<(Slot, TransactWriteItem)>,
}

impl Transaction {
    pub fn put(&mut self, slot: Slot, put: Put) {
        self.items
            .push((slot, TransactWriteItem::builder().put(put).build()));
    }

    pub fn update(&mut self, slot: Slot, update: Update) {
        self.items
            .push((slot, TransactWriteItem::builder().update(update).build()));
    }

    pub fn delete(&mut self, slot: Slot, delete: Delete) {
        self.items
            .push((slot, TransactWriteItem::builder().delete(delete).build()));
    }

    pub fn check(&mut self, slot: Slot, check: ConditionCheck) {
        self.items.push((
            slot,
            TransactWriteItem::builder().condition_check(check).build(),
        ));
    }

    /// Writes every item or none. DynamoDB cancels a transaction that meets
    /// another on the same item at the same moment (`TransactionConflict`);
    /// its conditions are evaluated afresh on every submission, so sending it
    /// again is safe, and it is, a few times.
    ///
    /// Every submission carries the same `ClientRequestToken` (128 bits, in
    /// DynamoDB's 36-character limit): DynamoDB answers a repeated token
    /// with the first success without applying it again. So an attempt that
    /// lands late, after the SDK moved on, cannot be applied a second time by
    /// a later submission, which then answers success, the truth. And a
    /// submission whose outcome is unknown (every attempt of the SDK timed
    /// out, lost its connection or met a 500) is sent once more, so the
    /// answer says what happened. Without these, a wrong PIN was counted
    /// under a 501, and a late first attempt behind a conflict the loop
    /// resubmitted could be applied twice (an admin reset done twice).
    pub async fn commit(self, client: &Client) -> Result<(), Cancelled> {
        let (slots, items): (Vec<Slot>, Vec<TransactWriteItem>) = self.items.into_iter().unzip();
        let token = random_hex(16);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut result = submit(client, &items, &token).await;
            if result.as_ref().is_err_and(outcome_unknown) {
                tracing::warn!("transaction outcome unknown: sent again under its token");
                result = submit(client, &items, &token).await;
            }
            let reasons: Vec<Option<String>> = match result {
                Ok(_) => return Ok(()),
                Err(SdkError::ServiceError(service)) => match service.err() {
                    TransactWriteItemsError::TransactionCanceledException(cancelled) => cancelled
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().map(str::to_string))
                        .collect(),
                    other => {
                        return Err(Cancelled::Backend(StoreError(
                            DisplayErrorContext(other).to_string(),
                        )))
                    }
                },
                Err(other) => return Err(Cancelled::Backend(backend(other))),
            };
            let failed: Vec<Slot> = reasons
                .iter()
                .zip(&slots)
                .filter(|(reason, _)| reason.as_deref() == Some("ConditionalCheckFailed"))
                .map(|(_, slot)| *slot)
                .collect();
            let conflicted = reasons
                .iter()
                .any(|r| r.as_deref() == Some("TransactionConflict"));
            if !failed.is_empty() || !conflicted || attempt == MAX_CONFLICT_ATTEMPTS {
                return Err(Cancelled::Conditions(failed));
            }
            tokio::time::sleep(Duration::from_millis(10 * attempt)).await;
        }
    }
}

async fn submit(
    client: &Client,
    items: &[TransactWriteItem],
    token: &str,
) -> Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError, HttpResponse>> {
    client
        .transact_write_items()
        .set_transact_items(Some(items.to_vec()))
        .client_request_token(token)
        .send()
        .await
}

/// Whether a failed submission may still have been applied: no answer (a
/// timeout, a lost connection, an unreadable response), a 5xx, or the same
/// token still in progress. A 4xx answer (cancelled, throttled, invalid)
/// means nothing was written.
fn outcome_unknown(error: &SdkError<TransactWriteItemsError, HttpResponse>) -> bool {
    match error {
        SdkError::ServiceError(service) => {
            service.raw().status().is_server_error()
                || matches!(
                    service.err(),
                    TransactWriteItemsError::TransactionInProgressException(_)
                )
        }
        SdkError::ConstructionFailure(_) => false,
        _ => true,
    }
}

/// How a transaction failed: the slots whose conditions did not hold, or
/// any other failure.
#[derive(Debug)]
pub(super) enum Cancelled {
    Conditions(Vec<Slot>),
    Backend(StoreError),
}

impl Cancelled {
    /// What the failure means to the caller: the first of `meanings` whose
    /// slot failed. A cancellation no meaning names (a conflict that did not
    /// settle, or a condition no caller expects to fail) is a backend error.
    pub fn meaning(self, meanings: &[(Slot, WriteError)]) -> WriteError {
        match self {
            Cancelled::Backend(e) => WriteError::Store(e),
            Cancelled::Conditions(failed) => meanings
                .iter()
                .find(|(slot, _)| failed.contains(slot))
                .map(|(_, meaning)| meaning.clone())
                .unwrap_or_else(|| {
                    WriteError::Store(StoreError(format!("transaction cancelled: {failed:?}")))
                }),
        }
    }

    /// For writes that expect no refusal at all.
    pub fn into_store_error(self) -> StoreError {
        match self.meaning(&[]) {
            WriteError::Store(e) => e,
            other => StoreError(other.to_string()),
        }
    }

    /// For writes whose only expected refusal is a concurrent change.
    pub fn conflict(self) -> WriteError {
        match self {
            Cancelled::Backend(e) => WriteError::Store(e),
            Cancelled::Conditions(_) => WriteError::Conflict,
        }
    }
}

/// A change to a user, decided on the sequence read: the update of the
/// user's record (on condition that the sequence is unchanged, bumping it by
/// one per event) and its audit events at the next sequences. Every write to
/// a user goes through here.
pub(super) struct UserChange {
    user_id: UserId,
    expected_sequence: u64,
    events: Vec<AuditEventType>,
    actor: String,
    at: Millis,
    set: Vec<&'static str>,
    remove: Vec<&'static str>,
    conditions: Vec<&'static str>,
    values: HashMap<String, AttributeValue>,
}

impl UserChange {
    pub fn new(
        user_id: &UserId,
        expected_sequence: u64,
        event: AuditEventType,
        actor: &str,
        at: Millis,
    ) -> Self {
        Self {
            user_id: user_id.clone(),
            expected_sequence,
            events: vec![event],
            actor: actor.to_string(),
            at,
            set: Vec::new(),
            remove: Vec::new(),
            conditions: Vec::new(),
            values: HashMap::new(),
        }
    }

    /// A second event recorded by the same change (its own sequence).
    pub fn and_event(mut self, event: AuditEventType) -> Self {
        self.events.push(event);
        self
    }

    /// Sets `attribute` to `value`.
    pub fn set(mut self, attribute: &'static str, value: AttributeValue) -> Self {
        self.set.push(attribute);
        self.values.insert(format!(":{attribute}"), value);
        self
    }

    pub fn remove(mut self, attribute: &'static str) -> Self {
        self.remove.push(attribute);
        self
    }

    /// One more condition the user's record must meet, naming its values
    /// (`:name`) and attributes directly.
    pub fn require(mut self, condition: &'static str) -> Self {
        self.conditions.push(condition);
        self
    }

    /// A value a [`UserChange::require`] condition names.
    pub fn value(mut self, name: &str, value: AttributeValue) -> Self {
        self.values.insert(name.to_string(), value);
        self
    }

    /// The user's sequence once the change is written.
    pub fn next_sequence(&self) -> u64 {
        self.expected_sequence + self.events.len() as u64
    }

    /// Adds the update (slot `User`) and the audit events (slot `Audit`) to
    /// `transaction`; returns the sequence the change leads to.
    pub fn add_to(
        self,
        transaction: &mut Transaction,
        users_table: &str,
        audit_table: &str,
    ) -> Result<u64, StoreError> {
        let next = self.next_sequence();
        let mut set: Vec<String> = self.set.iter().map(|a| format!("{a} = :{a}")).collect();
        set.push("#seq = :next".into());
        let mut expression = format!("SET {}", set.join(", "));
        if !self.remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", self.remove.join(", ")));
        }
        let mut condition = String::from("attribute_exists(userId) AND #seq = :expected");
        for extra in &self.conditions {
            condition.push_str(" AND ");
            condition.push_str(extra);
        }
        let update = Update::builder()
            .table_name(users_table)
            .key("userId", s(self.user_id.as_str()))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_names("#seq", "sequence")
            .set_expression_attribute_values(Some(self.values))
            .expression_attribute_values(":expected", n(self.expected_sequence))
            .expression_attribute_values(":next", n(next))
            .build()
            .map_err(backend)?;
        transaction.update(Slot::User, update);
        for (offset, event) in self.events.iter().enumerate() {
            let sequence = self.expected_sequence + 1 + offset as u64;
            transaction.put(
                Slot::Audit,
                audit_put(
                    audit_table,
                    &self.user_id,
                    sequence,
                    *event,
                    &self.actor,
                    self.at,
                )?,
            );
        }
        Ok(next)
    }
}

/// An audit event, on condition that its sequence is not taken.
pub(super) fn audit_put(
    audit_table: &str,
    user_id: &UserId,
    sequence: u64,
    event: AuditEventType,
    actor: &str,
    at: Millis,
) -> Result<Put, StoreError> {
    let item: Item = HashMap::from([
        ("userId".into(), s(user_id.as_str())),
        ("sequence".into(), n(sequence)),
        ("eventType".into(), s(event.as_str())),
        ("at".into(), n(at)),
        ("actor".into(), s(actor)),
    ]);
    Put::builder()
        .table_name(audit_table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(userId)")
        .build()
        .map_err(backend)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_submission_without_an_answer_may_have_been_applied() {
        let timed_out = SdkError::timeout_error("no answer within the attempt timeout");
        assert!(outcome_unknown(&timed_out));
    }

    #[test]
    fn a_request_that_was_never_built_was_not_applied() {
        let unbuilt = SdkError::construction_failure("missing field");
        assert!(!outcome_unknown(&unbuilt));
    }
}

//! The PIN rule's failure counter, and the deletion its last step makes in
//! the same transaction.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Update};

use super::codec::{backend, get_n, n, pin_counter_id, s, user_from_item};
use super::deleting_critical_data;
use super::transaction::{Slot, Transaction, UserChange};
use super::DynamoStore;
use crate::clock::Millis;
use crate::domain::{AuditEventType, User, UserId};
use crate::store::{PinFailures, PinProofs, StoreError, WriteError};

/// The failure counter still holds the count a decision was made on, in a
/// live window.
const STILL_AS_SEEN: &str = "#count = :seen AND expiresAt > :now";

/// The counter cleared by a right proof after failures, as an item of a
/// transaction that writes the proof's own change (the OTP's step).
pub(super) fn clearing_failures(
    counters_table: &str,
    id: &UserId,
    seen: PinFailures,
    now: i64,
) -> Result<Delete, StoreError> {
    Delete::builder()
        .table_name(counters_table)
        .key("counterId", s(&pin_counter_id(id)))
        .condition_expression(STILL_AS_SEEN)
        .expression_attribute_names("#count", "count")
        .expression_attribute_values(":seen", n(seen.count))
        .expression_attribute_values(":now", n(now))
        .build()
        .map_err(backend)
}

/// No failure window is live: the check a right proof seen with no failures
/// makes, as an item of the transaction that writes the proof's own change,
/// so that it never succeeds after failures it did not see (a deletion
/// among them).
pub(super) fn no_live_failures(
    counters_table: &str,
    id: &UserId,
    now: i64,
) -> Result<ConditionCheck, StoreError> {
    ConditionCheck::builder()
        .table_name(counters_table)
        .key("counterId", s(&pin_counter_id(id)))
        .condition_expression("attribute_not_exists(counterId) OR expiresAt <= :now")
        .expression_attribute_values(":now", n(now))
        .build()
        .map_err(backend)
}

#[async_trait]
impl PinProofs for DynamoStore {
    async fn user_with_pin_failures(
        &self,
        id: &UserId,
        now: i64,
    ) -> Result<Option<(User, PinFailures)>, StoreError> {
        let counter = pin_counter_id(id);
        let mut items = self
            .read_items(&[
                (&self.tables.users, "userId", id.as_str()),
                (&self.tables.counters, "counterId", &counter),
            ])
            .await?;
        let Some(user_item) = items.remove(&self.tables.users) else {
            return Ok(None);
        };
        let failures = match items.get(&self.tables.counters) {
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
        Ok(Some((user_from_item(&user_item)?, failures)))
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
        let count = Update::builder()
            .table_name(&self.tables.counters)
            .key("counterId", s(&pin_counter_id(&user.id)))
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

        let mut transaction = Transaction::default();
        transaction.update(Slot::Counter, count);
        if seen.count + 1 > max_failures {
            // The failure past the limit: the deletion goes in the same transaction.
            let change = UserChange::new(
                &user.id,
                user.sequence,
                AuditEventType::CriticalDataDeleted,
                user.id.as_str(),
                at,
            );
            self.add_change(deleting_critical_data(change, at), &mut transaction)?;
        }
        transaction
            .commit(&self.client)
            .await
            .map_err(|c| c.conflict())
    }

    async fn unlock_pin_failures(
        &self,
        user: &User,
        seen: PinFailures,
        now: i64,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError> {
        let counter = clearing_failures(&self.tables.counters, &user.id, seen, now)?;
        let mut transaction = Transaction::default();
        transaction.delete(Slot::Counter, counter);
        let change = UserChange::new(
            &user.id,
            user.sequence,
            AuditEventType::PinUnlocked,
            actor,
            at,
        );
        self.commit_change(change, transaction, None).await
    }

    async fn replace_pin_digest(
        &self,
        id: &UserId,
        old: &str,
        new: &str,
    ) -> Result<(), WriteError> {
        let update = Update::builder()
            .table_name(&self.tables.users)
            .key("userId", s(id.as_str()))
            .update_expression("SET pinHmac = :new")
            .condition_expression("pinHmac = :old")
            .expression_attribute_values(":old", s(old))
            .expression_attribute_values(":new", s(new))
            .build()
            .map_err(backend)?;
        self.update_one(update).await
    }

    async fn clear_pin_failures(
        &self,
        id: &UserId,
        seen: PinFailures,
        now: i64,
    ) -> Result<(), WriteError> {
        self.delete_one(clearing_failures(&self.tables.counters, id, seen, now)?)
            .await
    }
}

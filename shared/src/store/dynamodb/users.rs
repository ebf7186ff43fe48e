//! Users: creation, reads, the audit trail, and the changes that are not
//! part of another area's flow.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, Update};

use super::codec::{backend, get_n, get_s, n, s, user_from_item, user_to_item, Item};
use super::transaction::{audit_put, Cancelled, Slot, Transaction, UserChange};
use super::{deleting_critical_data, password_change, DynamoStore};
use crate::clock::Millis;
use crate::domain::{AuditEvent, AuditEventType, User, UserId};
use crate::rate_limit::Window;
use crate::store::{PasswordWrite, StoreError, Users, WriteError};

#[async_trait]
impl Users for DynamoStore {
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
        let mut transaction = Transaction::default();
        transaction.put(Slot::User, put);
        transaction.put(
            Slot::Audit,
            audit_put(
                &self.tables.audit,
                &user.id,
                1,
                AuditEventType::UserCreated,
                actor,
                at,
            )?,
        );
        transaction
            .commit(&self.client)
            .await
            .map_err(Cancelled::into_store_error)
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

    async fn user_with_count(
        &self,
        id: &UserId,
        counter: &str,
    ) -> Result<Option<(User, u32)>, StoreError> {
        let items = self
            .read_items(&[
                (&self.tables.users, "userId", id.as_str()),
                (&self.tables.counters, "counterId", counter),
            ])
            .await?;
        let Some(user) = items.get(&self.tables.users) else {
            return Ok(None);
        };
        let count = items
            .get(&self.tables.counters)
            .map(|item| get_n(item, "count"))
            .transpose()?
            .unwrap_or(0);
        Ok(Some((user_from_item(user)?, count)))
    }

    async fn audit_events(&self, id: &UserId) -> Result<Vec<AuditEvent>, StoreError> {
        self.query_audit(id, false, None).await
    }

    async fn latest_audit_events(
        &self,
        id: &UserId,
        limit: Option<usize>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.query_audit(id, true, limit).await
    }

    async fn replace_password(&self, write: &PasswordWrite) -> Result<u64, WriteError> {
        let mut transaction = Transaction::default();
        self.kill_reset_code(&write.user_id, &mut transaction)?;
        self.commit_change(password_change(write), transaction, None)
            .await
    }

    async fn rehash_password(
        &self,
        id: &UserId,
        current_hash: &str,
        new_hash: &str,
    ) -> Result<(), WriteError> {
        let update = Update::builder()
            .table_name(&self.tables.users)
            .key("userId", s(id.as_str()))
            .update_expression("SET passwordHash = :new")
            .condition_expression("passwordHash = :current")
            .expression_attribute_values(":new", s(new_hash))
            .expression_attribute_values(":current", s(current_hash))
            .build()
            .map_err(backend)?;
        self.update_one(update).await
    }

    async fn delete_critical_data(
        &self,
        user: &User,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError> {
        let change = UserChange::new(
            &user.id,
            user.sequence,
            AuditEventType::CriticalDataDeleted,
            actor,
            at,
        );
        self.commit_change(
            deleting_critical_data(change, at),
            Transaction::default(),
            None,
        )
        .await
    }

    async fn set_pin(
        &self,
        user: &User,
        pin_digest: &str,
        actor: &str,
        at: Millis,
        window: Option<&Window>,
    ) -> Result<u64, WriteError> {
        let change = UserChange::new(&user.id, user.sequence, AuditEventType::PinSet, actor, at)
            .set("pinHmac", s(pin_digest));
        self.commit_change(change, Transaction::default(), window)
            .await
    }
}

fn audit_event(id: &UserId, item: &Item) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        user_id: id.clone(),
        sequence: get_n(item, "sequence")?,
        event_type: get_s(item, "eventType")?,
        at: get_n(item, "at")?,
        actor: get_s(item, "actor")?,
    })
}

impl DynamoStore {
    /// The user's audit trail, oldest or newest first, at most `limit` events.
    async fn query_audit(
        &self,
        id: &UserId,
        newest_first: bool,
        limit: Option<usize>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut events = Vec::new();
        if limit == Some(0) {
            return Ok(events); // DynamoDB refuses a Limit of 0.
        }
        let mut start: Option<Item> = None;
        loop {
            let wanted = limit.map(|limit| limit - events.len());
            let page = self
                .client
                .query()
                .table_name(&self.tables.audit)
                .key_condition_expression("userId = :u")
                .expression_attribute_values(":u", s(id.as_str()))
                .scan_index_forward(!newest_first)
                .set_limit(wanted.map(|n| i32::try_from(n).unwrap_or(i32::MAX)))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            for item in page.items() {
                events.push(audit_event(id, item)?);
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() && limit.is_none_or(|l| events.len() < l) => {
                    start = Some(key.clone())
                }
                _ => break,
            }
        }
        Ok(events)
    }
}

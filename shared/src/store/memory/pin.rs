//! The twin's the PIN rule's failure counter and its deletion.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl PinProofs for MemoryStore {
    async fn user_with_pin_failures(
        &self,
        id: &UserId,
        now: i64,
    ) -> Result<Option<(User, PinFailures)>, StoreError> {
        let tables = self.tables();
        let Some(user) = tables.users.get(id) else {
            return Ok(None);
        };
        let failures = match tables.counters.get(&pin_counter_id(id)) {
            Some(counter) if counter.expires_at > now => PinFailures {
                count: u32::try_from(counter.count)
                    .map_err(|_| StoreError("attribute count is not a number".into()))?,
                window_ends_at: Some(counter.expires_at),
            },
            _ => PinFailures::default(),
        };
        Ok(Some((user.clone(), failures)))
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
        let mut tables = self.tables();
        let counter_id = pin_counter_id(&user.id);
        let mut failed = Failed::default();
        if seen.count == 0 {
            // A first failure (re)opens the window, replacing an expired one.
            failed.unless(
                Slot::Counter,
                tables
                    .counters
                    .get(&counter_id)
                    .is_none_or(|c| c.expires_at <= now),
            );
        } else {
            failed.unless(
                Slot::Counter,
                tables.failures_still_as_seen(&user.id, seen, now),
            );
        }
        // The failure past the limit deletes in the same transaction.
        let deletion = (seen.count + 1 > max_failures).then(|| {
            UserChange::of(
                user,
                AuditEventType::CriticalDataDeleted,
                user.id.as_str(),
                at,
            )
        });
        if let Some(change) = &deletion {
            change.check(&tables, |_| true, &mut failed);
        }
        failed.conflict()?;
        let next = i64::from(seen.count + 1);
        match tables.counters.get_mut(&counter_id) {
            Some(counter) if seen.count > 0 => counter.count = next,
            _ => {
                tables.counters.insert(
                    counter_id,
                    Counter {
                        count: next,
                        expires_at: window_ends_at,
                    },
                );
            }
        }
        if let Some(change) = deletion {
            change.apply(&mut tables, |user| delete_critical_data(user, at));
        }
        Ok(())
    }

    async fn unlock_pin_failures(
        &self,
        user: &User,
        seen: PinFailures,
        now: i64,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError> {
        let mut tables = self.tables();
        let mut failed = Failed::default();
        failed.unless(
            Slot::Counter,
            tables.failures_still_as_seen(&user.id, seen, now),
        );
        let change = UserChange::of(user, AuditEventType::PinUnlocked, actor, at);
        change.check(&tables, |_| true, &mut failed);
        // As the trait documents it: a moved counter is a conflict too.
        failed.meaning(&[
            (Slot::User, WriteError::Conflict),
            (Slot::Counter, WriteError::Conflict),
        ])?;
        tables.counters.remove(&pin_counter_id(&user.id));
        Ok(change.apply(&mut tables, |_| {}))
    }

    async fn replace_pin_digest(
        &self,
        id: &UserId,
        old: &str,
        new: &str,
    ) -> Result<(), WriteError> {
        let mut tables = self.tables();
        match tables.users.get_mut(id) {
            Some(user) if user.pin_hmac.as_deref() == Some(old) => {
                user.pin_hmac = Some(new.to_string());
                Ok(())
            }
            _ => Err(WriteError::Conflict),
        }
    }

    async fn clear_pin_failures(
        &self,
        id: &UserId,
        seen: PinFailures,
        now: i64,
    ) -> Result<(), WriteError> {
        let mut tables = self.tables();
        if !tables.failures_still_as_seen(id, seen, now) {
            return Err(WriteError::Conflict);
        }
        tables.counters.remove(&pin_counter_id(id));
        Ok(())
    }
}

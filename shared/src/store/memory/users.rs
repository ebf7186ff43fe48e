//! The twin's the users and their audit trail.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl Users for MemoryStore {
    async fn create_user(&self, user: &User, actor: &str, at: Millis) -> Result<(), StoreError> {
        let mut tables = self.tables();
        let mut failed = Failed::default();
        failed.unless(Slot::User, !tables.users.contains_key(&user.id));
        failed.unless(
            Slot::Audit,
            tables
                .audit
                .get(&user.id)
                .is_none_or(|trail| !trail.contains_key(&1)),
        );
        failed.into_store_error()?;
        let mut stored = user.clone();
        stored.sequence = 1;
        tables.users.insert(user.id.clone(), stored);
        tables.audit.entry(user.id.clone()).or_default().insert(
            1,
            audit_event(&user.id, 1, AuditEventType::UserCreated, actor, at),
        );
        Ok(())
    }

    async fn get_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.tables().users.get(id).cloned())
    }

    async fn user_with_count(
        &self,
        id: &UserId,
        counter: &str,
    ) -> Result<Option<(User, u32)>, StoreError> {
        let tables = self.tables();
        let Some(user) = tables.users.get(id) else {
            return Ok(None);
        };
        Ok(Some((user.clone(), tables.count_of(counter)?)))
    }

    async fn audit_events(&self, id: &UserId) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(self
            .tables()
            .audit
            .get(id)
            .map(|trail| trail.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn latest_audit_events(
        &self,
        id: &UserId,
        limit: Option<usize>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(self
            .tables()
            .audit
            .get(id)
            .map(|trail| {
                trail
                    .values()
                    .rev()
                    .take(limit.unwrap_or(usize::MAX))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn replace_password(&self, write: &PasswordWrite) -> Result<u64, WriteError> {
        let mut tables = self.tables();
        let change = password_change(write);
        change.check_unconditional(&tables, None)?;
        // Every password write kills the reset code, whatever its state.
        tables.tokens.remove(&reset_code_id(&write.user_id));
        Ok(change.apply(&mut tables, |user| write_password(user, write)))
    }

    async fn rehash_password(
        &self,
        id: &UserId,
        current_hash: &str,
        new_hash: &str,
    ) -> Result<(), WriteError> {
        let mut tables = self.tables();
        match tables.users.get_mut(id) {
            Some(user) if user.password_hash.as_deref() == Some(current_hash) => {
                user.password_hash = Some(new_hash.to_string());
                Ok(())
            }
            _ => Err(WriteError::Conflict),
        }
    }

    async fn delete_critical_data(
        &self,
        user: &User,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError> {
        let mut tables = self.tables();
        let change = UserChange::of(user, AuditEventType::CriticalDataDeleted, actor, at);
        change.check_unconditional(&tables, None)?;
        Ok(change.apply(&mut tables, |user| delete_critical_data(user, at)))
    }

    async fn set_pin(
        &self,
        user: &User,
        pin_digest: &str,
        actor: &str,
        at: Millis,
        window: Option<&Window>,
    ) -> Result<u64, WriteError> {
        let mut tables = self.tables();
        let change = UserChange::of(user, AuditEventType::PinSet, actor, at);
        change.check_unconditional(&tables, window)?;
        Ok(change.apply(&mut tables, |user| {
            user.pin_hmac = Some(pin_digest.to_string())
        }))
    }
}

//! The twin's set-password tokens, and the rate-limit counters.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl SetPasswordTokens for MemoryStore {
    async fn issue_set_password_token(
        &self,
        user: &User,
        digest: &str,
        expires_at: i64,
    ) -> Result<(), WriteError> {
        let mut tables = self.tables();
        let mut failed = Failed::default();
        failed.unless(Slot::Token, !tables.tokens.contains_key(digest));
        failed.unless(
            Slot::User,
            tables
                .users
                .get(&user.id)
                .is_some_and(|stored| !stored.has_password()),
        );
        failed.meaning(&[(Slot::User, WriteError::NotEligible)])?;
        // The previous token as the caller read it: the pointer alone already
        // kills whichever one is stored.
        if let Some(previous) = user
            .set_password_token_hash
            .as_deref()
            .filter(|p| *p != digest)
        {
            tables.tokens.remove(previous);
        }
        tables.tokens.insert(
            digest.to_string(),
            TokenItem {
                user_id: user.id.clone(),
                expires_at,
                kind: TokenKind::SetPassword {
                    issued_to: IssuedTo {
                        email: user.email.clone(),
                        locale: user.locale,
                        sequence: user.sequence,
                    },
                },
            },
        );
        if let Some(stored) = tables.users.get_mut(&user.id) {
            stored.set_password_token_hash = Some(digest.to_string());
        }
        Ok(())
    }

    async fn find_set_password_token(
        &self,
        digest: &str,
    ) -> Result<Option<TokenRecord>, StoreError> {
        // Expired or not, as DynamoDB returns an item its TTL has not yet
        // deleted: the caller judges `expires_at`.
        Ok(match self.tables().tokens.get(digest) {
            Some(TokenItem {
                user_id,
                expires_at,
                kind: TokenKind::SetPassword { issued_to },
            }) => Some(TokenRecord {
                user_id: user_id.clone(),
                expires_at: *expires_at,
                issued_to: Some(issued_to.clone()),
            }),
            _ => None,
        })
    }

    async fn set_password_with_token(
        &self,
        digest: &str,
        now: i64,
        write: &PasswordWrite,
    ) -> Result<u64, WriteError> {
        let mut tables = self.tables();
        let mut failed = Failed::default();
        failed.unless(
            Slot::Token,
            tables
                .tokens
                .get(digest)
                .is_some_and(|t| t.expires_at > now && t.user_id == write.user_id),
        );
        let change = password_change(write);
        change.check(
            &tables,
            |user| user.set_password_token_hash.as_deref() == Some(digest) && !user.has_password(),
            &mut failed,
        );
        failed.meaning(&[
            (Slot::Token, WriteError::TokenNotLive),
            (Slot::User, WriteError::Conflict),
        ])?;
        tables.tokens.remove(digest);
        tables.tokens.remove(&reset_code_id(&write.user_id));
        Ok(change.apply(&mut tables, |user| {
            write_password(user, write);
            user.set_password_token_hash = None;
        }))
    }
}

#[async_trait]
impl Counters for MemoryStore {
    async fn take_from_counter(
        &self,
        counter: &str,
        limit: u32,
        expires_at: i64,
    ) -> Result<bool, CounterError> {
        Ok(self.tables().take(counter, limit, expires_at))
    }

    async fn give_back_to_counter(&self, counter: &str) -> Result<(), CounterError> {
        // Nothing to give back where the window is gone or empty.
        if let Some(existing) = self.tables().counters.get_mut(counter) {
            if existing.count > 0 {
                existing.count -= 1;
            }
        }
        Ok(())
    }
}

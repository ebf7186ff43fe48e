//! Reset codes (Z1) and the password replacements a proof allows (Z2): the
//! code consumed and the wrong-secret window checked in the same transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, Update};

use super::codec::{backend, get_n, get_s, n, reset_code_id, s, user_from_item, BELOW_QUOTA};
use super::password_change;
use super::transaction::{Slot, Transaction, UserChange};
use super::DynamoStore;
use crate::clock::Millis;
use crate::domain::{AuditEventType, User, UserId};
use crate::rate_limit::Window;
use crate::store::{
    PasswordWrite, Proof, ResetCode, ResetCodes, ResetState, StoreError, WriteError,
};

#[async_trait]
impl ResetCodes for DynamoStore {
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
        let mut transaction = Transaction::default();
        transaction.put(Slot::Code, code);
        let change = UserChange::new(
            &user.id,
            user.sequence,
            AuditEventType::ResetCodeIssued,
            actor,
            at,
        );
        self.commit_change(change, transaction, None).await
    }

    async fn reset_state(
        &self,
        id: &UserId,
        wrong_secrets_counter: &str,
    ) -> Result<Option<ResetState>, StoreError> {
        let code_id = reset_code_id(id);
        let items = self
            .read_items(&[
                (&self.tables.users, "userId", id.as_str()),
                (&self.tables.tokens, "tokenId", &code_id),
                (&self.tables.counters, "counterId", wrong_secrets_counter),
            ])
            .await?;
        let Some(user) = items.get(&self.tables.users) else {
            return Ok(None);
        };
        let code = items
            .get(&self.tables.tokens)
            .map(|item| {
                Ok::<_, StoreError>(ResetCode {
                    digest: get_s(item, "codeHmac")?,
                    expires_at: get_n(item, "expiresAt")?,
                    wrong_tries: get_n(item, "wrongTries")?,
                })
            })
            .transpose()?;
        let wrong_secrets = items
            .get(&self.tables.counters)
            .map(|item| get_n(item, "count"))
            .transpose()?
            .unwrap_or(0);
        Ok(Some(ResetState {
            user: user_from_item(user)?,
            code,
            wrong_secrets,
        }))
    }

    async fn replace_password_with_proof(
        &self,
        write: &PasswordWrite,
        proof: Proof<'_>,
        window: &Window,
    ) -> Result<u64, WriteError> {
        let mut transaction = Transaction::default();
        transaction.check(Slot::Window, self.window_not_full(window)?);
        let next = self.add_change(password_change(write), &mut transaction)?;
        if let Proof::CurrentPassword = proof {
            self.kill_reset_code(&write.user_id, &mut transaction)?;
        }
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
            transaction.delete(Slot::Code, consume);
        }
        transaction.commit(&self.client).await.map_err(|c| {
            c.meaning(&[
                (Slot::Window, WriteError::LimitReached),
                (Slot::Code, WriteError::CodeNotLive),
                (Slot::User, WriteError::Conflict),
            ])
        })?;
        Ok(next)
    }

    async fn record_wrong_secret(
        &self,
        window: &Window,
        code_of: Option<&UserId>,
        max_wrong_tries: u32,
    ) -> Result<(), WriteError> {
        let count = Update::builder()
            .table_name(&self.tables.counters)
            .key("counterId", s(&window.counter))
            .update_expression("ADD #count :one SET expiresAt = if_not_exists(expiresAt, :ends)")
            .condition_expression(BELOW_QUOTA)
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":quota", n(window.quota))
            .expression_attribute_values(":ends", n(window.ends_at))
            .build()
            .map_err(backend)?;
        let mut transaction = Transaction::default();
        transaction.update(Slot::Counter, count.clone());
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
            transaction.update(Slot::Code, tries);
        }
        let meanings = [
            (Slot::Counter, WriteError::LimitReached),
            (Slot::Code, WriteError::CodeNotLive),
        ];
        match transaction.commit(&self.client).await {
            Ok(()) => Ok(()),
            Err(cancelled) => match cancelled.meaning(&meanings) {
                // The code is gone or already dead: the wrong attempt still counts.
                WriteError::CodeNotLive => {
                    let mut alone = Transaction::default();
                    alone.update(Slot::Counter, count);
                    alone
                        .commit(&self.client)
                        .await
                        .map_err(|c| c.meaning(&meanings))
                }
                other => Err(other),
            },
        }
    }
}

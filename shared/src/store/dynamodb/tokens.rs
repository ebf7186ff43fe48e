//! Set-password tokens: the token item keyed by its digest, and the user's
//! pointer to the one live token.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, Update};

use super::codec::{backend, get_n, get_s, n, opt_n, opt_s, parse_user_id, s};
use super::password_change;
use super::transaction::{Slot, Transaction};
use super::DynamoStore;
use crate::domain::{Email, Locale, User};
use crate::store::{
    IssuedTo, PasswordWrite, SetPasswordTokens, StoreError, TokenRecord, WriteError,
};

const SET_PASSWORD_PURPOSE: &str = "set-password";

#[async_trait]
impl SetPasswordTokens for DynamoStore {
    async fn issue_set_password_token(
        &self,
        user: &User,
        digest: &str,
        expires_at: i64,
    ) -> Result<(), WriteError> {
        let token = Put::builder()
            .table_name(&self.tables.tokens)
            .set_item(Some(HashMap::from([
                ("tokenId".into(), s(digest)),
                ("purpose".into(), s(SET_PASSWORD_PURPOSE)),
                ("userId".into(), s(user.id.as_str())),
                ("expiresAt".into(), n(expires_at)),
                ("email".into(), s(user.email.as_str())),
                ("locale".into(), s(user.locale.as_str())),
                ("userSequence".into(), n(user.sequence)),
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
        let mut transaction = Transaction::default();
        transaction.put(Slot::Token, token);
        transaction.update(Slot::User, pointer);
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
            transaction.delete(Slot::Token, delete);
        }
        transaction
            .commit(&self.client)
            .await
            .map_err(|c| c.meaning(&[(Slot::User, WriteError::NotEligible)]))
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
        let issued_to = match (opt_s(item, "email")?, opt_n(item, "userSequence")?) {
            (Some(email), Some(sequence)) => Some(IssuedTo {
                email: Email::parse(&email)
                    .ok_or_else(|| StoreError("stored email is malformed".into()))?,
                locale: opt_s(item, "locale")?
                    .and_then(|l| Locale::parse(&l))
                    .unwrap_or_default(),
                sequence,
            }),
            _ => None,
        };
        Ok(Some(TokenRecord {
            user_id: parse_user_id(&get_s(item, "userId")?)?,
            expires_at: get_n(item, "expiresAt")?,
            issued_to,
        }))
    }

    async fn set_password_with_token(
        &self,
        digest: &str,
        now: i64,
        write: &PasswordWrite,
    ) -> Result<u64, WriteError> {
        let consume = Delete::builder()
            .table_name(&self.tables.tokens)
            .key("tokenId", s(digest))
            .condition_expression("attribute_exists(tokenId) AND expiresAt > :now AND userId = :u")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":u", s(write.user_id.as_str()))
            .build()
            .map_err(backend)?;
        let change = password_change(write)
            .require("setPasswordTokenHash = :token")
            .require("attribute_not_exists(passwordHash)")
            .value(":token", s(digest))
            .remove("setPasswordTokenHash");
        let mut transaction = Transaction::default();
        transaction.delete(Slot::Token, consume);
        self.kill_reset_code(&write.user_id, &mut transaction)?;
        let next = self.add_change(change, &mut transaction)?;
        transaction.commit(&self.client).await.map_err(|c| {
            c.meaning(&[
                (Slot::Token, WriteError::TokenNotLive),
                (Slot::User, WriteError::Conflict),
            ])
        })?;
        Ok(next)
    }
}

//! The twin's reset codes and the proof that consumes one.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl ResetCodes for MemoryStore {
    async fn issue_reset_code(
        &self,
        user: &User,
        digest: &str,
        expires_at: i64,
        actor: &str,
        at: Millis,
    ) -> Result<u64, WriteError> {
        let mut tables = self.tables();
        let change = UserChange::of(user, AuditEventType::ResetCodeIssued, actor, at);
        change.check_unconditional(&tables, None)?;
        // The new code replaces any other, tries and all.
        tables.tokens.insert(
            reset_code_id(&user.id),
            TokenItem {
                user_id: user.id.clone(),
                expires_at,
                kind: TokenKind::ResetCode {
                    digest: digest.to_string(),
                    wrong_tries: 0,
                },
            },
        );
        Ok(change.apply(&mut tables, |_| {}))
    }

    async fn reset_state(
        &self,
        id: &UserId,
        wrong_secrets_counter: &str,
    ) -> Result<Option<ResetState>, StoreError> {
        let tables = self.tables();
        let Some(user) = tables.users.get(id) else {
            return Ok(None);
        };
        // The code as stored, expired or not: the caller judges it.
        let code = match tables.tokens.get(&reset_code_id(id)) {
            Some(TokenItem {
                expires_at,
                kind:
                    TokenKind::ResetCode {
                        digest,
                        wrong_tries,
                    },
                ..
            }) => Some(ResetCode {
                digest: digest.clone(),
                expires_at: *expires_at,
                wrong_tries: *wrong_tries,
            }),
            Some(_) => return Err(StoreError("attribute codeHmac missing".into())),
            None => None,
        };
        Ok(Some(ResetState {
            user: user.clone(),
            code,
            wrong_secrets: tables.count_of(wrong_secrets_counter)?,
        }))
    }

    async fn replace_password_with_proof(
        &self,
        write: &PasswordWrite,
        proof: Proof<'_>,
        window: &Window,
    ) -> Result<u64, WriteError> {
        let mut tables = self.tables();
        let mut failed = Failed::default();
        failed.unless(Slot::Window, tables.window_not_full(window));
        let change = password_change(write);
        change.check(&tables, |_| true, &mut failed);
        if let Proof::Code {
            digest,
            max_wrong_tries,
            now,
        } = proof
        {
            let live = matches!(
                tables.tokens.get(&reset_code_id(&write.user_id)),
                Some(TokenItem {
                    expires_at,
                    kind: TokenKind::ResetCode { digest: stored, wrong_tries },
                    ..
                }) if stored == digest && *expires_at > now && *wrong_tries < max_wrong_tries
            );
            failed.unless(Slot::Code, live);
        }
        failed.meaning(&[
            (Slot::Window, WriteError::LimitReached),
            (Slot::Code, WriteError::CodeNotLive),
            (Slot::User, WriteError::Conflict),
        ])?;
        // Either proof ends the code: consumed, or killed by the new password.
        tables.tokens.remove(&reset_code_id(&write.user_id));
        Ok(change.apply(&mut tables, |user| write_password(user, write)))
    }

    async fn record_wrong_secret(
        &self,
        window: &Window,
        code_of: Option<&UserId>,
        max_wrong_tries: u32,
    ) -> Result<(), WriteError> {
        let mut tables = self.tables();
        if !tables.take(&window.counter, window.quota, window.ends_at) {
            return Err(WriteError::LimitReached);
        }
        // The code is gone or already dead: the wrong attempt still counts.
        if let Some(TokenItem {
            kind: TokenKind::ResetCode { wrong_tries, .. },
            ..
        }) = code_of.and_then(|id| tables.tokens.get_mut(&reset_code_id(id)))
        {
            if *wrong_tries < max_wrong_tries {
                *wrong_tries += 1;
            }
        }
        Ok(())
    }
}

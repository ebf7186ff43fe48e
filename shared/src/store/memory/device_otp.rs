//! The twin's the device OTP: enrolment, activation, accepted steps.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl DeviceOtps for MemoryStore {
    async fn start_otp_enrolment(
        &self,
        user: &User,
        sealed_secret: &str,
        expires_at: i64,
        at: Millis,
        proven: Option<&Window>,
    ) -> Result<u64, WriteError> {
        let mut tables = self.tables();
        let change = UserChange::of(
            user,
            AuditEventType::OtpEnrolmentStarted,
            user.id.as_str(),
            at,
        );
        change.check_unconditional(&tables, proven)?;
        // A new enrolment replaces a pending one.
        tables.tokens.insert(
            otp_enrolment_id(&user.id),
            TokenItem {
                user_id: user.id.clone(),
                expires_at,
                kind: TokenKind::OtpEnrolment {
                    sealed_secret: sealed_secret.to_string(),
                },
            },
        );
        Ok(change.apply(&mut tables, |_| {}))
    }

    async fn user_with_otp_enrolment(
        &self,
        id: &UserId,
        now: i64,
    ) -> Result<Option<(User, Option<PendingEnrolment>)>, StoreError> {
        let tables = self.tables();
        let Some(user) = tables.users.get(id) else {
            return Ok(None);
        };
        let pending = match tables.tokens.get(&otp_enrolment_id(id)) {
            Some(TokenItem {
                expires_at,
                kind: TokenKind::OtpEnrolment { sealed_secret },
                ..
            }) => (*expires_at > now).then(|| PendingEnrolment {
                sealed_secret: sealed_secret.clone(),
                expires_at: *expires_at,
            }),
            Some(_) => return Err(StoreError("attribute sealedSecret missing".into())),
            None => None,
        };
        Ok(Some((user.clone(), pending)))
    }

    async fn activate_otp(
        &self,
        user: &User,
        pending: &PendingEnrolment,
        step: u64,
        now: i64,
        at: Millis,
    ) -> Result<u64, WriteError> {
        let mut tables = self.tables();
        let key = otp_enrolment_id(&user.id);
        let mut failed = Failed::default();
        let still_pending = matches!(
            tables.tokens.get(&key),
            Some(TokenItem {
                expires_at,
                kind: TokenKind::OtpEnrolment { sealed_secret },
                ..
            }) if *sealed_secret == pending.sealed_secret && *expires_at > now
        );
        failed.unless(Slot::Token, still_pending);
        let change = UserChange::of(user, AuditEventType::OtpActivated, user.id.as_str(), at);
        change.check(&tables, |_| true, &mut failed);
        failed.meaning(&[
            (Slot::User, WriteError::Conflict),
            (Slot::Audit, WriteError::Conflict),
            (Slot::Token, WriteError::EnrolmentNotPending),
        ])?;
        tables.tokens.remove(&key);
        Ok(change.apply(&mut tables, |user| {
            user.otp_device = Some(OtpDevice {
                sealed_secret: pending.sealed_secret.clone(),
                last_accepted_step: Some(step),
            })
        }))
    }

    async fn remove_otp(
        &self,
        user: &User,
        at: Millis,
        proven: Option<&Window>,
    ) -> Result<u64, WriteError> {
        let mut tables = self.tables();
        let change = UserChange::of(user, AuditEventType::OtpRemoved, user.id.as_str(), at);
        change.check_unconditional(&tables, proven)?;
        tables.tokens.remove(&otp_enrolment_id(&user.id));
        Ok(change.apply(&mut tables, |user| user.otp_device = None))
    }

    async fn accept_otp_step(
        &self,
        user: &User,
        step: u64,
        failures: PinFailures,
        now: i64,
    ) -> Result<(), WriteError> {
        let device = user.otp_device.as_ref().ok_or(WriteError::Conflict)?;
        let mut tables = self.tables();
        let mut failed = Failed::default();
        // The device is still the one read, and `step` is after its last
        // accepted step: RFC 6238's replay rule.
        let step_is_new = tables
            .users
            .get(&user.id)
            .and_then(|stored| stored.otp_device.as_ref())
            .is_some_and(|stored| {
                stored.sealed_secret == device.sealed_secret
                    && stored.last_accepted_step.is_none_or(|last| last < step)
            });
        failed.unless(Slot::User, step_is_new);
        let failures_as_seen = if failures.count == 0 {
            tables.no_live_failures(&user.id, now)
        } else {
            tables.failures_still_as_seen(&user.id, failures, now)
        };
        failed.unless(Slot::Counter, failures_as_seen);
        failed.conflict()?;
        if failures.count > 0 {
            tables.counters.remove(&pin_counter_id(&user.id));
        }
        if let Some(stored) = tables
            .users
            .get_mut(&user.id)
            .and_then(|stored| stored.otp_device.as_mut())
        {
            stored.last_accepted_step = Some(step);
        }
        Ok(())
    }
}

//! The device OTP: the pending enrolment is an item of the tokens table
//! (`otp-enrolment#<user>`, expiring by TTL and checked on read); the device
//! itself lives on the user's record (`otpSecret`, sealed, and
//! `otpLastAcceptedStep`), so P5 reads it with the user and the failure
//! counter in one round trip.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, Update};

use super::codec::{backend, get_n, get_s, n, otp_enrolment_id, s, user_from_item};
use super::pin::{clearing_failures, no_live_failures};
use super::transaction::{Slot, Transaction, UserChange};
use super::DynamoStore;
use crate::clock::Millis;
use crate::domain::{AuditEventType, User, UserId};
use crate::rate_limit::Window;
use crate::store::{DeviceOtps, PendingEnrolment, PinFailures, StoreError, WriteError};

/// The device is still the one read, and `:step` is after its last accepted
/// step: the replay rule of RFC 6238 section 5.2 as one condition.
const STEP_IS_NEW: &str = "otpSecret = :sealed AND \
     (attribute_not_exists(otpLastAcceptedStep) OR otpLastAcceptedStep < :step)";

#[async_trait]
impl DeviceOtps for DynamoStore {
    async fn start_otp_enrolment(
        &self,
        user: &User,
        sealed_secret: &str,
        expires_at: i64,
        at: Millis,
        proven: Option<&Window>,
    ) -> Result<u64, WriteError> {
        // Unconditional: a new enrolment replaces a pending one.
        let pending = Put::builder()
            .table_name(&self.tables.tokens)
            .set_item(Some(HashMap::from([
                ("tokenId".into(), s(&otp_enrolment_id(&user.id))),
                ("purpose".into(), s("otp-enrolment")),
                ("userId".into(), s(user.id.as_str())),
                ("sealedSecret".into(), s(sealed_secret)),
                ("expiresAt".into(), n(expires_at)),
            ])))
            .build()
            .map_err(backend)?;
        let mut transaction = Transaction::default();
        transaction.put(Slot::Token, pending);
        let change = UserChange::new(
            &user.id,
            user.sequence,
            AuditEventType::OtpEnrolmentStarted,
            user.id.as_str(),
            at,
        );
        self.commit_change(change, transaction, proven).await
    }

    async fn user_with_otp_enrolment(
        &self,
        id: &UserId,
        now: i64,
    ) -> Result<Option<(User, Option<PendingEnrolment>)>, StoreError> {
        let enrolment = otp_enrolment_id(id);
        let items = self
            .read_items(&[
                (&self.tables.users, "userId", id.as_str()),
                (&self.tables.tokens, "tokenId", &enrolment),
            ])
            .await?;
        let Some(user) = items.get(&self.tables.users) else {
            return Ok(None);
        };
        let pending = match items.get(&self.tables.tokens) {
            Some(item) => {
                let pending = PendingEnrolment {
                    sealed_secret: get_s(item, "sealedSecret")?,
                    expires_at: get_n(item, "expiresAt")?,
                };
                (pending.expires_at > now).then_some(pending)
            }
            None => None,
        };
        Ok(Some((user_from_item(user)?, pending)))
    }

    async fn activate_otp(
        &self,
        user: &User,
        pending: &PendingEnrolment,
        step: u64,
        now: i64,
        at: Millis,
    ) -> Result<u64, WriteError> {
        let consume = Delete::builder()
            .table_name(&self.tables.tokens)
            .key("tokenId", s(&otp_enrolment_id(&user.id)))
            .condition_expression("sealedSecret = :sealed AND expiresAt > :now")
            .expression_attribute_values(":sealed", s(&pending.sealed_secret))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(backend)?;
        let mut transaction = Transaction::default();
        transaction.delete(Slot::Token, consume);
        // The secret moves as sealed: its associated data is the user id,
        // the same for the device as for the enrolment.
        let change = UserChange::new(
            &user.id,
            user.sequence,
            AuditEventType::OtpActivated,
            user.id.as_str(),
            at,
        )
        .set("otpSecret", s(&pending.sealed_secret))
        .set("otpLastAcceptedStep", n(step));
        let next = self.add_change(change, &mut transaction)?;
        transaction.commit(&self.client).await.map_err(|c| {
            c.meaning(&[
                (Slot::User, WriteError::Conflict),
                (Slot::Audit, WriteError::Conflict),
                (Slot::Token, WriteError::EnrolmentNotPending),
            ])
        })?;
        Ok(next)
    }

    async fn remove_otp(
        &self,
        user: &User,
        at: Millis,
        proven: Option<&Window>,
    ) -> Result<u64, WriteError> {
        let withdraw = Delete::builder()
            .table_name(&self.tables.tokens)
            .key("tokenId", s(&otp_enrolment_id(&user.id)))
            .build()
            .map_err(backend)?;
        let mut transaction = Transaction::default();
        transaction.delete(Slot::Token, withdraw);
        let change = UserChange::new(
            &user.id,
            user.sequence,
            AuditEventType::OtpRemoved,
            user.id.as_str(),
            at,
        )
        .remove("otpSecret")
        .remove("otpLastAcceptedStep");
        self.commit_change(change, transaction, proven).await
    }

    async fn accept_otp_step(
        &self,
        user: &User,
        step: u64,
        failures: PinFailures,
        now: i64,
    ) -> Result<(), WriteError> {
        let device = user.otp_device.as_ref().ok_or(WriteError::Conflict)?;
        // Not a change of the user (no sequence, no event): the replay guard
        // moves with every accepted code, as the failure counter does with
        // every wrong one. Always a transaction, even alone: its
        // ClientRequestToken makes a submission whose answer was lost answer
        // success when sent again, where a plain conditional update would
        // fail its own condition and turn a right code into a refused one.
        let step_update = Update::builder()
            .table_name(&self.tables.users)
            .key("userId", s(user.id.as_str()))
            .update_expression("SET otpLastAcceptedStep = :step")
            .condition_expression(STEP_IS_NEW)
            .expression_attribute_values(":sealed", s(&device.sealed_secret))
            .expression_attribute_values(":step", n(step))
            .build()
            .map_err(backend)?;
        let mut transaction = Transaction::default();
        transaction.update(Slot::User, step_update);
        if failures.count == 0 {
            transaction.check(
                Slot::Counter,
                no_live_failures(&self.tables.counters, &user.id, now)?,
            );
        } else {
            transaction.delete(
                Slot::Counter,
                clearing_failures(&self.tables.counters, &user.id, failures, now)?,
            );
        }
        transaction
            .commit(&self.client)
            .await
            .map_err(|c| c.conflict())
    }
}

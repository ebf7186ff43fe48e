//! The store's in-memory twin, for tests that need no emulator. It keeps the
//! DynamoDB adapter's layout (users, audit trail, tokens, counters) and its
//! semantics: each method is one conditional write or transaction, all or
//! nothing, under one lock; a transaction's conditions are all judged on the
//! state before it, and when several fail, the refusal is the one the
//! adapter's method names first. Nothing expires by itself: as DynamoDB's TTL
//! may lag, an expired item stays until something deletes it, and the reads
//! that judge expiry by `now` do so here as they do there.
//!
//! `tests/src/store_contract.rs` runs the same cases against this twin and
//! the adapter on the emulator.
//!
//! It is built with every build of the crate, behind no feature: a feature
//! that only the tests turned on made cargo build the crate a second time,
//! without it, for pwctl and each function run during `make test`. No
//! function names it, so release builds drop it as dead code.

mod device_otp;
mod pin;
mod reset_codes;
mod tokens;
mod users;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::{
    DeviceOtps, IssuedTo, PasswordWrite, PendingEnrolment, PinFailures, PinProofs, Proof,
    ResetCode, ResetCodes, ResetState, SetPasswordTokens, Slot, StoreError, TokenRecord, Users,
    WriteError,
};
use crate::clock::Millis;
use crate::domain::{AuditEvent, AuditEventType, OtpDevice, User, UserId};
use crate::rate_limit::{CounterError, Counters, Window};

/// Every table of the store, behind one lock: a method holds it from its
/// first condition to its last write, as one DynamoDB request would.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        // A test that panicked while holding the lock left no half-written
        // change behind: every method checks all its conditions before it
        // writes anything.
        self.tables
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Default)]
struct Tables {
    users: HashMap<UserId, User>,
    /// Each user's events by sequence (the audit table's sort key).
    audit: HashMap<UserId, BTreeMap<u64, AuditEvent>>,
    /// Set-password tokens by digest, reset codes and OTP enrolments by
    /// their per-user keys: one table, as in DynamoDB.
    tokens: HashMap<String, TokenItem>,
    /// Rate-limit windows and PIN failure counters, by counter id.
    counters: HashMap<String, Counter>,
}

struct TokenItem {
    user_id: UserId,
    /// Unix seconds.
    expires_at: i64,
    kind: TokenKind,
}

enum TokenKind {
    SetPassword { issued_to: IssuedTo },
    ResetCode { digest: String, wrong_tries: u32 },
    OtpEnrolment { sealed_secret: String },
}

struct Counter {
    /// Never below 0: a give-back needs a unit to give.
    count: i64,
    /// Unix seconds: set by the write that creates the counter.
    expires_at: i64,
}

// The adapter's keys, so a test that inspects both sees the same layout.
fn reset_code_id(user_id: &UserId) -> String {
    format!("reset-code#{user_id}")
}

fn otp_enrolment_id(user_id: &UserId) -> String {
    format!("otp-enrolment#{user_id}")
}

fn pin_counter_id(user_id: &UserId) -> String {
    format!("pin-failures#{user_id}")
}

/// The conditions of one transaction that did not hold.
#[derive(Default)]
struct Failed(Vec<Slot>);

impl Failed {
    fn unless(&mut self, slot: Slot, holds: bool) {
        if !holds && !self.0.contains(&slot) {
            self.0.push(slot);
        }
    }

    /// `Ok` when every condition held; otherwise the first of `meanings`
    /// whose slot failed, and a backend error where none names one (the
    /// adapter's `Cancelled::meaning`).
    fn meaning(self, meanings: &[(Slot, WriteError)]) -> Result<(), WriteError> {
        if self.0.is_empty() {
            return Ok(());
        }
        Err(meanings
            .iter()
            .find(|(slot, _)| self.0.contains(slot))
            .map(|(_, meaning)| meaning.clone())
            .unwrap_or_else(|| {
                WriteError::Store(StoreError(format!("transaction cancelled: {:?}", self.0)))
            }))
    }

    /// For writes that expect no refusal at all.
    fn into_store_error(self) -> Result<(), StoreError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(StoreError(format!("transaction cancelled: {:?}", self.0)))
        }
    }

    /// For writes whose only expected refusal is a concurrent change.
    fn conflict(self) -> Result<(), WriteError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(WriteError::Conflict)
        }
    }
}

/// A change to a user decided on the sequence read: the user must exist at
/// `expected_sequence` (and meet the change's own conditions), each event
/// takes the next sequence, and no event may land on a sequence taken.
struct UserChange<'a> {
    user_id: &'a UserId,
    expected_sequence: u64,
    events: Vec<AuditEventType>,
    actor: &'a str,
    at: Millis,
}

impl<'a> UserChange<'a> {
    fn new(
        user_id: &'a UserId,
        expected_sequence: u64,
        event: AuditEventType,
        actor: &'a str,
        at: Millis,
    ) -> Self {
        Self {
            user_id,
            expected_sequence,
            events: vec![event],
            actor,
            at,
        }
    }

    /// A change to `user` as read (its sequence the one expected).
    fn of(user: &'a User, event: AuditEventType, actor: &'a str, at: Millis) -> Self {
        Self::new(&user.id, user.sequence, event, actor, at)
    }

    /// Judges a change with no condition of its own on the user, made on a
    /// proven current password's wrong-secret window where `proven` gives
    /// one: a full window refuses it (`LimitReached`), then a moved user
    /// (`Conflict`), as the adapter's transaction answers.
    fn check_unconditional(
        &self,
        tables: &Tables,
        proven: Option<&Window>,
    ) -> Result<(), WriteError> {
        let mut failed = Failed::default();
        if let Some(window) = proven {
            failed.unless(Slot::Window, tables.window_not_full(window));
        }
        self.check(tables, |_| true, &mut failed);
        failed.meaning(&[
            (Slot::Window, WriteError::LimitReached),
            (Slot::User, WriteError::Conflict),
        ])
    }

    fn and_event(mut self, event: AuditEventType) -> Self {
        self.events.push(event);
        self
    }

    fn next_sequence(&self) -> u64 {
        self.expected_sequence + self.events.len() as u64
    }

    /// Judges the change's conditions, `require` being its own on the user.
    fn check(&self, tables: &Tables, require: impl FnOnce(&User) -> bool, failed: &mut Failed) {
        let user_holds = tables
            .users
            .get(self.user_id)
            .is_some_and(|user| user.sequence == self.expected_sequence && require(user));
        failed.unless(Slot::User, user_holds);
        let trail = tables.audit.get(self.user_id);
        let sequences_free = (1..=self.events.len() as u64).all(|offset| {
            trail.is_none_or(|trail| !trail.contains_key(&(self.expected_sequence + offset)))
        });
        failed.unless(Slot::Audit, sequences_free);
    }

    /// Writes the change (after [`UserChange::check`] passed): `edit` on the
    /// user, the sequence bump, the events. Returns the new sequence.
    fn apply(self, tables: &mut Tables, edit: impl FnOnce(&mut User)) -> u64 {
        let next = self.next_sequence();
        let user = tables
            .users
            .get_mut(self.user_id)
            .expect("checked: the user exists");
        edit(user);
        user.sequence = next;
        let trail = tables.audit.entry(self.user_id.clone()).or_default();
        for (offset, event) in self.events.iter().enumerate() {
            let sequence = self.expected_sequence + 1 + offset as u64;
            trail.insert(
                sequence,
                audit_event(self.user_id, sequence, *event, self.actor, self.at),
            );
        }
        next
    }
}

fn audit_event(
    user_id: &UserId,
    sequence: u64,
    event: AuditEventType,
    actor: &str,
    at: Millis,
) -> AuditEvent {
    AuditEvent {
        user_id: user_id.clone(),
        sequence,
        event_type: event.as_str().to_string(),
        at,
        actor: actor.to_string(),
    }
}

/// The change every password write makes (the adapter's `password_change`).
fn password_change(write: &PasswordWrite) -> UserChange<'_> {
    let change = UserChange::new(
        &write.user_id,
        write.expected_sequence,
        write.event,
        &write.actor,
        write.at,
    );
    if write.delete_critical_data {
        change.and_event(AuditEventType::CriticalDataDeleted)
    } else {
        change
    }
}

fn write_password(user: &mut User, write: &PasswordWrite) {
    user.password_hash = Some(write.password_hash.clone());
    user.change_required = write.change_required;
    user.password_changed_at = Some(write.at);
    if let Some(not_before) = write.sessions_not_before {
        user.sessions_not_before = Some(not_before);
    }
    if write.delete_critical_data {
        delete_critical_data(user, write.at);
    }
}

fn delete_critical_data(user: &mut User, at: Millis) {
    user.payment_methods.clear();
    user.critical_data_deleted_at = Some(at);
}

impl Tables {
    /// The condition that a rate-limit window is not full: a window not yet
    /// counted in is empty.
    fn window_not_full(&self, window: &Window) -> bool {
        self.counters
            .get(&window.counter)
            .is_none_or(|counter| counter.count < i64::from(window.quota))
    }

    /// Counts one unit in the window `counter` unless it holds `limit`; a
    /// first unit opens it until `expires_at`.
    fn take(&mut self, counter: &str, limit: u32, expires_at: i64) -> bool {
        match self.counters.get_mut(counter) {
            Some(existing) if existing.count < i64::from(limit) => {
                existing.count += 1;
                true
            }
            Some(_) => false,
            // A window not yet counted in holds 0, which a limit of 0 fills.
            None if limit > 0 => {
                self.counters.insert(
                    counter.to_string(),
                    Counter {
                        count: 1,
                        expires_at,
                    },
                );
                true
            }
            None => false,
        }
    }

    /// The PIN failure counter still holds `seen.count` in a window live at
    /// `now` (the adapter's `STILL_AS_SEEN`).
    fn failures_still_as_seen(&self, id: &UserId, seen: PinFailures, now: i64) -> bool {
        self.counters
            .get(&pin_counter_id(id))
            .is_some_and(|c| c.count == i64::from(seen.count) && c.expires_at > now)
    }

    /// No PIN failure window is live at `now`.
    fn no_live_failures(&self, id: &UserId, now: i64) -> bool {
        self.counters
            .get(&pin_counter_id(id))
            .is_none_or(|c| c.expires_at <= now)
    }

    /// The count a window holds, live or not (a window's key names its
    /// start, so a later window is another counter).
    fn count_of(&self, counter: &str) -> Result<u32, StoreError> {
        self.counters.get(counter).map_or(Ok(0), |c| {
            u32::try_from(c.count).map_err(|_| StoreError("attribute count is not a number".into()))
        })
    }
}

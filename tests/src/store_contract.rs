//! The store's contract: what every implementation of the `Store` port must
//! do, as cases that take the store under test. `tests/api/store_contract.rs`
//! runs each case against the DynamoDB adapter on the emulator and against
//! the in-memory twin; the twin is trusted because it passes what the
//! adapter passes.
//!
//! Each case works on users, tokens and counters of its own (fresh ids), so
//! the cases can run in parallel on one emulator. Time is the wall clock's:
//! an item's expiry is judged by the `now` a case passes, never by the
//! emulator, and what a case lets expire expires within seconds of now.

use password_service::clock::{Clock, Millis, SystemClock};
use password_service::domain::{
    random_hex, AuditEvent, AuditEventType, Email, Locale, OtpDevice, User, UserId,
};
use password_service::rate_limit::Window;
use password_service::store::{
    PasswordWrite, PendingEnrolment, PinFailures, Proof, ResetCode, Store, WriteError,
};

use crate::unique_email;

/// The PIN rule's limit (SPEC section 5): the fourth failure deletes.
const MAX_PIN_FAILURES: u32 = 3;
const DAY: i64 = 86_400;
const MAX_WRONG_TRIES: u32 = 5;

macro_rules! assert_refused {
    ($result:expr, $refusal:pat) => {{
        let result = $result;
        assert!(
            matches!(result, Err($refusal)),
            "expected {}, got {result:?}",
            stringify!($refusal)
        );
    }};
}

fn now() -> i64 {
    SystemClock.now_seconds()
}

fn at() -> Millis {
    SystemClock.now_millis()
}

/// A new user (address from `name`), not stored.
fn new_user(name: &str) -> User {
    User::new(
        Email::parse(&unique_email(name)).unwrap(),
        Locale::En,
        "org-contract".into(),
    )
}

/// A new user, stored, as read back.
async fn created(store: &dyn Store, name: &str, adjust: impl FnOnce(&mut User)) -> User {
    let mut user = new_user(name);
    adjust(&mut user);
    store
        .create_user(&user, "contract", at())
        .await
        .expect("a new user is stored");
    stored(store, &user.id).await
}

async fn stored(store: &dyn Store, id: &UserId) -> User {
    store
        .get_user(id)
        .await
        .unwrap()
        .expect("the user is stored")
}

/// The user's trail as (sequence, type), oldest first.
async fn trail(store: &dyn Store, id: &UserId) -> Vec<(u64, String)> {
    store
        .audit_events(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.sequence, e.event_type))
        .collect()
}

fn event(sequence: u64, event: AuditEventType) -> (u64, String) {
    (sequence, event.as_str().to_string())
}

fn password_write(user: &User, event: AuditEventType, hash: &str) -> PasswordWrite {
    PasswordWrite {
        user_id: user.id.clone(),
        expected_sequence: user.sequence,
        password_hash: hash.into(),
        change_required: false,
        sessions_not_before: None,
        event,
        actor: "contract".into(),
        at: at(),
        delete_critical_data: false,
    }
}

fn digest() -> String {
    random_hex(32)
}

/// A window of its own, live for the next hour.
fn window(quota: u32) -> Window {
    let now = now();
    Window {
        counter: format!("contract#{}#{now}", random_hex(8)),
        quota,
        ends_at: now + 3600,
        now,
    }
}

/// A window of its own (as [`window`]) with all of its `quota` taken.
async fn full_window(store: &dyn Store, quota: u32) -> Window {
    let window = window(quota);
    for _ in 0..quota {
        assert!(store
            .take_from_counter(&window.counter, quota, window.ends_at)
            .await
            .unwrap());
    }
    window
}

/// Another change of the user after the read `user` (a PIN set): what the
/// store holds moves on to the next sequence.
async fn change_behind(store: &dyn Store, user: &User) {
    store
        .set_pin(user, "pin", "contract", at(), None)
        .await
        .unwrap();
}

async fn count(store: &dyn Store, user: &User, counter: &str) -> u32 {
    store
        .user_with_count(&user.id, counter)
        .await
        .unwrap()
        .expect("the user")
        .1
}

async fn pin_failures(store: &dyn Store, user: &User, now: i64) -> PinFailures {
    store
        .user_with_pin_failures(&user.id, now)
        .await
        .unwrap()
        .expect("the user")
        .1
}

/// The first wrong PIN of a window that ends at `ends_at`, recorded at `now`
/// on a counter read as empty.
async fn first_pin_failure(store: &dyn Store, user: &User, now: i64, ends_at: i64) {
    store
        .record_pin_failure(
            user,
            PinFailures::default(),
            MAX_PIN_FAILURES,
            now,
            ends_at,
            at(),
        )
        .await
        .unwrap();
}

/// Records `times` wrong PINs, each on the counter as read, in a day's window.
async fn fail_pin(store: &dyn Store, user: &User, times: u32) {
    for _ in 0..times {
        let now = now();
        let (user, seen) = store
            .user_with_pin_failures(&user.id, now)
            .await
            .unwrap()
            .unwrap();
        store
            .record_pin_failure(&user, seen, MAX_PIN_FAILURES, now, now + DAY, at())
            .await
            .expect("a counted failure");
    }
}

/// Records `times` wrong PINs (as [`fail_pin`]), then reads the counter: the
/// `now` it was read at and what it holds.
async fn failed_pins(store: &dyn Store, user: &User, times: u32) -> (i64, PinFailures) {
    fail_pin(store, user, times).await;
    let now = now();
    (now, pin_failures(store, user, now).await)
}

async fn reset_code(store: &dyn Store, user: &User) -> Option<ResetCode> {
    store
        .reset_state(&user.id, "contract#none")
        .await
        .unwrap()
        .expect("the user")
        .code
}

/// A user with a reset code `digest`, live for an hour.
async fn with_reset_code(store: &dyn Store, name: &str, digest: &str) -> User {
    let user = created(store, name, |u| u.password_hash = Some("hash-old".into())).await;
    store
        .issue_reset_code(&user, digest, now() + 3600, "contract", at())
        .await
        .unwrap();
    stored(store, &user.id).await
}

/// A wrong secret counted in `window` and against `user`'s code.
async fn wrong_secret(store: &dyn Store, window: &Window, user: &User) {
    store
        .record_wrong_secret(window, Some(&user.id), MAX_WRONG_TRIES)
        .await
        .unwrap();
}

/// A proof by the reset code `digest`, now, with the usual tries.
fn code_proof(digest: &str) -> Proof<'_> {
    Proof::Code {
        digest,
        max_wrong_tries: MAX_WRONG_TRIES,
        now: now(),
    }
}

/// A new set-password token for `user`, live for a day.
async fn issue_token(store: &dyn Store, user: &User) -> String {
    let token = digest();
    store
        .issue_set_password_token(user, &token, now() + DAY)
        .await
        .unwrap();
    token
}

/// Whether `token` is found as a set-password token.
async fn token_found(store: &dyn Store, token: &str) -> bool {
    store
        .find_set_password_token(token)
        .await
        .unwrap()
        .is_some()
}

async fn pending_enrolment(store: &dyn Store, user: &User, now: i64) -> Option<PendingEnrolment> {
    store
        .user_with_otp_enrolment(&user.id, now)
        .await
        .unwrap()
        .expect("the user")
        .1
}

/// An enrolment of `sealed` started for `user`, live for ten minutes: the
/// user as read after it, and the enrolment.
async fn enrol(store: &dyn Store, user: &User, sealed: &str) -> (User, PendingEnrolment) {
    let expires_at = now() + 600;
    store
        .start_otp_enrolment(user, sealed, expires_at, at(), None)
        .await
        .unwrap();
    let pending = PendingEnrolment {
        sealed_secret: sealed.into(),
        expires_at,
    };
    (stored(store, &user.id).await, pending)
}

/// A user whose device is `sealed`, its last accepted step `step`.
async fn with_device(store: &dyn Store, name: &str, sealed: &str, step: u64) -> User {
    let user = created(store, name, |_| {}).await;
    let (user, pending) = enrol(store, &user, sealed).await;
    store
        .activate_otp(&user, &pending, step, now(), at())
        .await
        .unwrap();
    stored(store, &user.id).await
}

// Users

pub async fn a_created_user_is_stored_at_sequence_one_with_its_created_event(store: &dyn Store) {
    let at = at();
    let mut user = new_user("created");
    user.locale = Locale::De;
    user.sequence = 7;
    user.payment_methods = vec!["pm_1".into(), "pm_2".into()];
    user.linked_identities = vec!["google".into()];
    user.pin_hmac = Some("pin-digest".into());

    store.create_user(&user, "operator", at).await.unwrap();

    assert_eq!(
        stored(store, &user.id).await,
        User {
            sequence: 1,
            ..user.clone()
        }
    );
    let events = store.audit_events(&user.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].user_id, user.id);
    assert_eq!(events[0].sequence, 1);
    assert_eq!(events[0].event_type, "user.created");
    assert_eq!(events[0].actor, "operator");
    assert_eq!(events[0].at, at);
}

pub async fn creating_a_user_twice_fails_and_keeps_the_first(store: &dyn Store) {
    let first = created(store, "twice", |_| {}).await;
    let mut second = first.clone();
    second.email = Email::parse(&unique_email("second")).unwrap();

    assert!(store.create_user(&second, "contract", at()).await.is_err());

    assert_eq!(stored(store, &first.id).await, first);
    assert_eq!(
        trail(store, &first.id).await,
        [event(1, AuditEventType::UserCreated)]
    );
}

pub async fn an_unknown_user_reads_as_none_everywhere(store: &dyn Store) {
    let id = UserId::generate();
    let now = now();

    assert!(store.get_user(&id).await.unwrap().is_none());
    assert!(store
        .user_with_count(&id, "contract#x")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .user_with_pin_failures(&id, now)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .reset_state(&id, "contract#x")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .user_with_otp_enrolment(&id, now)
        .await
        .unwrap()
        .is_none());
    assert!(store.audit_events(&id).await.unwrap().is_empty());
    assert!(store
        .latest_audit_events(&id, None)
        .await
        .unwrap()
        .is_empty());
}

pub async fn the_trail_reads_oldest_first_and_its_latest_newest_first(store: &dyn Store) {
    let user = created(store, "trail", |u| u.payment_methods = vec!["pm".into()]).await;
    let at = at();
    store
        .set_pin(&user, "pin", "contract", at, None)
        .await
        .unwrap();
    let user = stored(store, &user.id).await;
    store
        .delete_critical_data(&user, "contract", at)
        .await
        .unwrap();
    let user = stored(store, &user.id).await;
    store
        .issue_reset_code(&user, &digest(), now() + 3600, "contract", at)
        .await
        .unwrap();

    let sequences = |events: Vec<AuditEvent>| events.iter().map(|e| e.sequence).collect::<Vec<_>>();
    assert_eq!(
        trail(store, &user.id).await,
        [
            event(1, AuditEventType::UserCreated),
            event(2, AuditEventType::PinSet),
            event(3, AuditEventType::CriticalDataDeleted),
            event(4, AuditEventType::ResetCodeIssued),
        ]
    );
    let latest = |limit| store.latest_audit_events(&user.id, limit);
    assert_eq!(sequences(latest(None).await.unwrap()), [4, 3, 2, 1]);
    assert_eq!(sequences(latest(Some(2)).await.unwrap()), [4, 3]);
    assert_eq!(sequences(latest(Some(10)).await.unwrap()), [4, 3, 2, 1]);
    assert!(latest(Some(0)).await.unwrap().is_empty());
}

pub async fn a_replaced_password_steps_the_sequence_and_kills_the_reset_code(store: &dyn Store) {
    let user = with_reset_code(store, "replaced", &digest()).await;
    let write = PasswordWrite {
        change_required: true,
        sessions_not_before: Some(now()),
        ..password_write(&user, AuditEventType::PasswordChanged, "hash-new")
    };

    assert_eq!(store.replace_password(&write).await.unwrap(), 3);

    let after = stored(store, &user.id).await;
    assert_eq!(after.password_hash.as_deref(), Some("hash-new"));
    assert!(after.change_required);
    assert_eq!(after.password_changed_at, Some(write.at));
    assert_eq!(after.sessions_not_before, write.sessions_not_before);
    assert_eq!(after.sequence, 3);
    let events = store.latest_audit_events(&user.id, Some(1)).await.unwrap();
    assert_eq!(events[0].sequence, 3);
    assert_eq!(events[0].event_type, "user.password.changed");
    assert_eq!(
        (events[0].actor.as_str(), events[0].at),
        ("contract", write.at)
    );
    assert_eq!(reset_code(store, &user).await, None);
}

pub async fn a_password_write_without_a_session_cut_keeps_the_previous_cut(store: &dyn Store) {
    let user = created(store, "cut", |u| {
        u.password_hash = Some("hash-old".into());
        u.sessions_not_before = Some(1_700_000_000);
        u.change_required = true;
    })
    .await;

    let write = password_write(&user, AuditEventType::PasswordChanged, "hash-new");
    store.replace_password(&write).await.unwrap();

    let after = stored(store, &user.id).await;
    assert_eq!(after.sessions_not_before, Some(1_700_000_000));
    assert!(!after.change_required);
}

pub async fn a_password_write_on_a_moved_sequence_is_a_conflict(store: &dyn Store) {
    let code = digest();
    let user = with_reset_code(store, "moved", &code).await;
    let stale = User {
        sequence: 1,
        ..user.clone()
    };

    assert_refused!(
        store
            .replace_password(&password_write(
                &stale,
                AuditEventType::PasswordChanged,
                "h"
            ))
            .await,
        WriteError::Conflict
    );

    assert_eq!(stored(store, &user.id).await, user);
    assert_eq!(trail(store, &user.id).await.len(), 2);
    assert_eq!(reset_code(store, &user).await.unwrap().digest, code);
}

pub async fn a_password_write_for_an_unknown_user_is_a_conflict(store: &dyn Store) {
    let ghost = new_user("ghost");

    assert_refused!(
        store
            .replace_password(&password_write(&ghost, AuditEventType::PasswordReset, "h"))
            .await,
        WriteError::Conflict
    );

    assert!(store.get_user(&ghost.id).await.unwrap().is_none());
    assert!(store.audit_events(&ghost.id).await.unwrap().is_empty());
}

pub async fn a_reset_that_deletes_critical_data_records_two_events_in_one_write(store: &dyn Store) {
    let user = created(store, "reset-delete", |u| {
        u.password_hash = Some("hash-old".into());
        u.payment_methods = vec!["pm_1".into(), "pm_2".into()];
    })
    .await;
    let write = PasswordWrite {
        delete_critical_data: true,
        ..password_write(&user, AuditEventType::PasswordReset, "hash-new")
    };

    let sequence = store.replace_password(&write).await.unwrap();

    assert_eq!(sequence, 3);
    assert_eq!(sequence, write.next_sequence());
    let after = stored(store, &user.id).await;
    assert!(after.payment_methods.is_empty());
    assert_eq!(after.critical_data_deleted_at, Some(write.at));
    assert_eq!(after.password_hash.as_deref(), Some("hash-new"));
    assert_eq!(after.sequence, 3);
    assert_eq!(
        trail(store, &user.id).await[1..],
        [
            event(2, AuditEventType::PasswordReset),
            event(3, AuditEventType::CriticalDataDeleted),
        ]
    );
}

pub async fn a_rehash_replaces_the_hash_without_a_change_of_the_user(store: &dyn Store) {
    let user = created(store, "rehash", |u| {
        u.password_hash = Some("hash-v1".into())
    })
    .await;

    store
        .rehash_password(&user.id, "hash-v1", "hash-v2")
        .await
        .unwrap();

    assert_eq!(
        stored(store, &user.id).await,
        User {
            password_hash: Some("hash-v2".into()),
            ..user.clone()
        }
    );
    assert_eq!(trail(store, &user.id).await.len(), 1);
}

pub async fn a_rehash_of_a_moved_hash_or_an_unknown_user_is_a_conflict(store: &dyn Store) {
    let user = created(store, "rehash-moved", |u| {
        u.password_hash = Some("hash-v2".into())
    })
    .await;
    let ghost = UserId::generate();

    assert_refused!(
        store.rehash_password(&user.id, "hash-v1", "hash-v3").await,
        WriteError::Conflict
    );
    assert_refused!(
        store.rehash_password(&ghost, "hash-v1", "hash-v3").await,
        WriteError::Conflict
    );

    assert_eq!(stored(store, &user.id).await, user);
    assert!(store.get_user(&ghost).await.unwrap().is_none());
}

pub async fn deleting_critical_data_empties_the_payment_methods_and_marks_when(store: &dyn Store) {
    let user = created(store, "delete", |u| u.payment_methods = vec!["pm_1".into()]).await;
    let at = at();

    assert_eq!(
        store
            .delete_critical_data(&user, "the-user", at)
            .await
            .unwrap(),
        2
    );

    let after = stored(store, &user.id).await;
    assert!(after.payment_methods.is_empty());
    assert_eq!(after.critical_data_deleted_at, Some(at));
    let events = store.latest_audit_events(&user.id, Some(1)).await.unwrap();
    assert_eq!(events[0].event_type, "user.critical_data.deleted");
    assert_eq!((events[0].actor.as_str(), events[0].at), ("the-user", at));
}

pub async fn deleting_critical_data_on_a_moved_sequence_is_a_conflict(store: &dyn Store) {
    let user = created(store, "delete-moved", |u| {
        u.payment_methods = vec!["pm".into()]
    })
    .await;
    change_behind(store, &user).await;

    assert_refused!(
        store.delete_critical_data(&user, "contract", at()).await,
        WriteError::Conflict
    );

    let after = stored(store, &user.id).await;
    assert_eq!(after.payment_methods, ["pm"]);
    assert_eq!(after.critical_data_deleted_at, None);
    assert_eq!(after.sequence, 2);
}

pub async fn a_pin_is_set_with_its_event_behind_a_window_not_full(store: &dyn Store) {
    let user = created(store, "pin", |_| {}).await;
    let window = window(2);
    store
        .take_from_counter(&window.counter, window.quota, window.ends_at)
        .await
        .unwrap();

    assert_eq!(
        store
            .set_pin(&user, "pin-1", "the-user", at(), Some(&window))
            .await
            .unwrap(),
        2
    );
    let user = stored(store, &user.id).await;
    assert_eq!(
        store
            .set_pin(&user, "pin-2", "the-user", at(), None)
            .await
            .unwrap(),
        3
    );

    let after = stored(store, &user.id).await;
    assert_eq!(after.pin_hmac.as_deref(), Some("pin-2"));
    assert_eq!(
        trail(store, &user.id).await[1..],
        [
            event(2, AuditEventType::PinSet),
            event(3, AuditEventType::PinSet)
        ]
    );
}

pub async fn a_pin_behind_a_full_window_is_limit_reached_before_a_conflict(store: &dyn Store) {
    let user = created(store, "pin-full", |_| {}).await;
    let window = full_window(store, 2).await;
    let stale = User {
        sequence: 0,
        ..user.clone()
    };

    assert_refused!(
        store
            .set_pin(&user, "pin", "contract", at(), Some(&window))
            .await,
        WriteError::LimitReached
    );
    assert_refused!(
        store
            .set_pin(&stale, "pin", "contract", at(), Some(&window))
            .await,
        WriteError::LimitReached
    );

    assert_eq!(stored(store, &user.id).await, user);
    assert_eq!(trail(store, &user.id).await.len(), 1);
}

pub async fn a_pin_on_a_moved_sequence_is_a_conflict(store: &dyn Store) {
    let user = created(store, "pin-moved", |_| {}).await;
    store
        .set_pin(&user, "pin-1", "contract", at(), None)
        .await
        .unwrap();

    assert_refused!(
        store
            .set_pin(&user, "pin-2", "contract", at(), Some(&window(5)))
            .await,
        WriteError::Conflict
    );

    assert_eq!(
        stored(store, &user.id).await.pin_hmac.as_deref(),
        Some("pin-1")
    );
}

// Set-password tokens

pub async fn an_issued_token_is_the_users_pointer_and_records_who_it_was_issued_to(
    store: &dyn Store,
) {
    let user = created(store, "token", |u| u.locale = Locale::De).await;
    let token = digest();
    let expires_at = now() + DAY;

    store
        .issue_set_password_token(&user, &token, expires_at)
        .await
        .unwrap();

    let record = store
        .find_set_password_token(&token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.user_id, user.id);
    assert_eq!(record.expires_at, expires_at);
    let issued_to = record.issued_to.expect("what the token records");
    assert_eq!(issued_to.email, user.email);
    assert_eq!(issued_to.locale, Locale::De);
    assert_eq!(issued_to.sequence, 1);
    let after = stored(store, &user.id).await;
    assert_eq!(
        after.set_password_token_hash.as_deref(),
        Some(token.as_str())
    );
    // Not a change of the user.
    assert_eq!(after.sequence, 1);
    assert_eq!(trail(store, &user.id).await.len(), 1);
}

pub async fn a_new_token_retires_the_previous_one(store: &dyn Store) {
    let user = created(store, "token-again", |_| {}).await;
    let first = issue_token(store, &user).await;
    let user = stored(store, &user.id).await;

    let second = issue_token(store, &user).await;

    assert!(!token_found(store, &first).await);
    assert!(token_found(store, &second).await);
    let write = password_write(&user, AuditEventType::PasswordSet, "hash");
    assert_refused!(
        store.set_password_with_token(&first, now(), &write).await,
        WriteError::TokenNotLive
    );
    assert_eq!(
        store
            .set_password_with_token(&second, now(), &write)
            .await
            .unwrap(),
        2
    );
}

pub async fn a_token_issued_on_a_stale_read_still_retires_the_previous_one(store: &dyn Store) {
    let read_before = created(store, "token-stale", |_| {}).await;
    let first = issue_token(store, &read_before).await;

    // Issued on a read from before the first token: it does not know it.
    let second = issue_token(store, &read_before).await;

    let write = password_write(&read_before, AuditEventType::PasswordSet, "hash");
    assert_refused!(
        store.set_password_with_token(&first, now(), &write).await,
        WriteError::Conflict
    );
    assert_eq!(
        store
            .set_password_with_token(&second, now(), &write)
            .await
            .unwrap(),
        2
    );
}

pub async fn a_user_with_a_password_or_unknown_is_not_eligible_for_a_token(store: &dyn Store) {
    let user = created(store, "token-has", |u| {
        u.password_hash = Some("hash".into())
    })
    .await;
    let ghost = new_user("token-ghost");
    let (token, ghost_token) = (digest(), digest());

    assert_refused!(
        store
            .issue_set_password_token(&user, &token, now() + DAY)
            .await,
        WriteError::NotEligible
    );
    assert_refused!(
        store
            .issue_set_password_token(&ghost, &ghost_token, now() + DAY)
            .await,
        WriteError::NotEligible
    );

    assert!(!token_found(store, &token).await);
    assert!(!token_found(store, &ghost_token).await);
    assert_eq!(stored(store, &user.id).await, user);
    assert!(store.get_user(&ghost.id).await.unwrap().is_none());
}

pub async fn only_set_password_tokens_are_found_by_digest(store: &dyn Store) {
    let user = with_reset_code(store, "token-kinds", &digest()).await;
    enrol(store, &user, "sealed").await;

    assert!(!token_found(store, &digest()).await);
    for key in ["reset-code", "otp-enrolment"] {
        let other_kind = format!("{key}#{}", user.id);
        assert!(!token_found(store, &other_kind).await);
    }
}

pub async fn the_first_password_set_with_a_live_token_consumes_it(store: &dyn Store) {
    let user = created(store, "first", |_| {}).await;
    store
        .issue_reset_code(&user, &digest(), now() + 3600, "contract", at())
        .await
        .unwrap();
    let user = stored(store, &user.id).await;
    let token = issue_token(store, &user).await;
    let write = password_write(&user, AuditEventType::PasswordSet, "hash-first");

    assert_eq!(
        store
            .set_password_with_token(&token, now(), &write)
            .await
            .unwrap(),
        3
    );

    let after = stored(store, &user.id).await;
    assert_eq!(after.password_hash.as_deref(), Some("hash-first"));
    assert_eq!(after.password_changed_at, Some(write.at));
    assert_eq!(after.set_password_token_hash, None);
    assert_eq!(after.sequence, 3);
    assert_eq!(
        trail(store, &user.id).await.last(),
        Some(&event(3, AuditEventType::PasswordSet))
    );
    assert!(!token_found(store, &token).await);
    assert_eq!(reset_code(store, &user).await, None);
    // Single use.
    let again = password_write(&after, AuditEventType::PasswordSet, "hash-again");
    assert_refused!(
        store.set_password_with_token(&token, now(), &again).await,
        WriteError::TokenNotLive
    );
}

pub async fn a_token_is_live_until_its_expiry_and_found_as_stored_after(store: &dyn Store) {
    let user = created(store, "token-expiry", |_| {}).await;
    let token = digest();
    let expires_at = now();
    store
        .issue_set_password_token(&user, &token, expires_at)
        .await
        .unwrap();
    let user = stored(store, &user.id).await;
    let write = password_write(&user, AuditEventType::PasswordSet, "hash");

    assert_refused!(
        store
            .set_password_with_token(&token, expires_at, &write)
            .await,
        WriteError::TokenNotLive
    );

    // Until TTL deletes it, the expired token reads as stored: the reader
    // judges its expiry.
    let record = store
        .find_set_password_token(&token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.expires_at, expires_at);
    assert_eq!(stored(store, &user.id).await, user);
    assert_eq!(
        store
            .set_password_with_token(&token, expires_at - 1, &write)
            .await
            .unwrap(),
        2
    );
}

pub async fn another_users_token_is_not_live_for_this_one(store: &dyn Store) {
    let owner = created(store, "token-owner", |_| {}).await;
    let other = created(store, "token-other", |_| {}).await;
    let token = issue_token(store, &owner).await;

    let write = password_write(&other, AuditEventType::PasswordSet, "hash");
    assert_refused!(
        store.set_password_with_token(&token, now(), &write).await,
        WriteError::TokenNotLive
    );

    assert_eq!(stored(store, &other.id).await, other);
    assert!(token_found(store, &token).await);
}

pub async fn a_token_for_a_user_who_has_a_password_by_now_is_a_conflict(store: &dyn Store) {
    let user = created(store, "token-raced", |_| {}).await;
    let token = issue_token(store, &user).await;
    let user = stored(store, &user.id).await;
    store
        .replace_password(&password_write(
            &user,
            AuditEventType::PasswordReset,
            "hash-admin",
        ))
        .await
        .unwrap();
    let user = stored(store, &user.id).await;

    let write = password_write(&user, AuditEventType::PasswordSet, "hash-link");
    assert_refused!(
        store.set_password_with_token(&token, now(), &write).await,
        WriteError::Conflict
    );

    assert_eq!(stored(store, &user.id).await, user);
    assert!(token_found(store, &token).await);
}

pub async fn a_token_on_a_moved_sequence_is_a_conflict_and_stays_live(store: &dyn Store) {
    let user = created(store, "token-moved", |_| {}).await;
    let token = issue_token(store, &user).await;
    let read = stored(store, &user.id).await;
    change_behind(store, &read).await;

    let stale = password_write(&read, AuditEventType::PasswordSet, "hash");
    assert_refused!(
        store.set_password_with_token(&token, now(), &stale).await,
        WriteError::Conflict
    );

    let fresh = password_write(
        &stored(store, &user.id).await,
        AuditEventType::PasswordSet,
        "hash",
    );
    assert_eq!(
        store
            .set_password_with_token(&token, now(), &fresh)
            .await
            .unwrap(),
        3
    );
}

// Rate-limit counters

pub async fn a_counter_takes_units_up_to_its_limit_and_counts_apart(store: &dyn Store) {
    let user = created(store, "counter", |_| {}).await;
    let (one, other) = (window(3), window(3));

    for _ in 0..3 {
        assert!(store
            .take_from_counter(&one.counter, 3, one.ends_at)
            .await
            .unwrap());
    }
    assert!(!store
        .take_from_counter(&one.counter, 3, one.ends_at)
        .await
        .unwrap());

    assert_eq!(count(store, &user, &one.counter).await, 3);
    assert_eq!(count(store, &user, &other.counter).await, 0);
    assert!(store
        .take_from_counter(&other.counter, 3, other.ends_at)
        .await
        .unwrap());
    assert_eq!(count(store, &user, &other.counter).await, 1);
}

pub async fn a_unit_given_back_can_be_taken_again_and_a_count_never_goes_below_zero(
    store: &dyn Store,
) {
    let user = created(store, "give-back", |_| {}).await;
    let window = full_window(store, 2).await;

    store.give_back_to_counter(&window.counter).await.unwrap();
    assert_eq!(count(store, &user, &window.counter).await, 1);
    assert!(store
        .take_from_counter(&window.counter, 2, window.ends_at)
        .await
        .unwrap());
    assert!(!store
        .take_from_counter(&window.counter, 2, window.ends_at)
        .await
        .unwrap());

    for _ in 0..3 {
        store.give_back_to_counter(&window.counter).await.unwrap();
    }
    assert_eq!(count(store, &user, &window.counter).await, 0);
    let never_taken = self::window(1);
    store
        .give_back_to_counter(&never_taken.counter)
        .await
        .unwrap();
    assert_eq!(count(store, &user, &never_taken.counter).await, 0);
    assert!(store
        .take_from_counter(&never_taken.counter, 1, never_taken.ends_at)
        .await
        .unwrap());
}

pub async fn a_window_counts_by_its_key_whatever_its_expiry(store: &dyn Store) {
    let user = created(store, "window-expiry", |_| {}).await;
    let counter = format!("contract#{}#{}", random_hex(8), now() - 3600);
    let ended = now() - 10;

    // A window's key names its start, so a later window is another key; its
    // expiry only lets TTL clean it up, and no read or take judges it.
    assert!(store.take_from_counter(&counter, 1, ended).await.unwrap());
    assert!(!store.take_from_counter(&counter, 1, ended).await.unwrap());

    assert_eq!(count(store, &user, &counter).await, 1);
    let full = Window {
        counter,
        quota: 1,
        ends_at: ended,
        now: now(),
    };
    assert_refused!(
        store
            .set_pin(&user, "pin", "contract", at(), Some(&full))
            .await,
        WriteError::LimitReached
    );
}

pub async fn a_counter_with_a_limit_of_zero_takes_nothing(store: &dyn Store) {
    let user = created(store, "zero", |_| {}).await;
    let window = window(0);

    assert!(!store
        .take_from_counter(&window.counter, 0, window.ends_at)
        .await
        .unwrap());

    assert_eq!(count(store, &user, &window.counter).await, 0);
}

// The PIN rule's failure counter

pub async fn pin_failures_open_a_window_and_count_in_it(store: &dyn Store) {
    let user = created(store, "pin-count", |_| {}).await;
    let now = now();

    assert_eq!(
        pin_failures(store, &user, now).await,
        PinFailures::default()
    );
    first_pin_failure(store, &user, now, now + DAY).await;
    let seen = pin_failures(store, &user, now).await;
    assert_eq!(
        seen,
        PinFailures {
            count: 1,
            window_ends_at: Some(now + DAY)
        }
    );
    // A later failure counts in the same window; its own end is not used.
    store
        .record_pin_failure(&user, seen, MAX_PIN_FAILURES, now, now + 2 * DAY, at())
        .await
        .unwrap();

    assert_eq!(
        pin_failures(store, &user, now).await,
        PinFailures {
            count: 2,
            window_ends_at: Some(now + DAY)
        }
    );
    assert_eq!(stored(store, &user.id).await, user);
}

pub async fn a_pin_failure_on_a_moved_counter_is_a_conflict(store: &dyn Store) {
    let user = created(store, "pin-moved", |_| {}).await;
    let (now, live) = failed_pins(store, &user, 2).await;

    for seen in [
        PinFailures::default(),
        PinFailures { count: 1, ..live },
        PinFailures { count: 3, ..live },
    ] {
        assert_refused!(
            store
                .record_pin_failure(&user, seen, MAX_PIN_FAILURES, now, now + DAY, at())
                .await,
            WriteError::Conflict
        );
    }

    assert_eq!(pin_failures(store, &user, now).await, live);
}

pub async fn an_ended_pin_window_reads_as_zero_and_a_failure_reopens_it(store: &dyn Store) {
    let user = created(store, "pin-ended", |_| {}).await;
    let now = now();
    first_pin_failure(store, &user, now, now + 5).await;
    assert_eq!(pin_failures(store, &user, now + 4).await.count, 1);

    let later = now + 5;
    let ended = pin_failures(store, &user, later).await;
    assert_eq!(ended, PinFailures::default());
    // The ended window's count cannot be built on.
    let stale = PinFailures {
        count: 1,
        window_ends_at: Some(now + 5),
    };
    assert_refused!(
        store
            .record_pin_failure(&user, stale, MAX_PIN_FAILURES, later, later + DAY, at())
            .await,
        WriteError::Conflict
    );
    store
        .record_pin_failure(&user, ended, MAX_PIN_FAILURES, later, later + DAY, at())
        .await
        .unwrap();

    assert_eq!(
        pin_failures(store, &user, later).await,
        PinFailures {
            count: 1,
            window_ends_at: Some(later + DAY)
        }
    );
}

pub async fn the_failure_past_the_limit_deletes_the_critical_data_in_the_same_write(
    store: &dyn Store,
) {
    let user = created(store, "pin-delete", |u| {
        u.payment_methods = vec!["pm_1".into(), "pm_2".into()]
    })
    .await;
    let (now, seen) = failed_pins(store, &user, MAX_PIN_FAILURES).await;
    assert_eq!(stored(store, &user.id).await, user, "up to the limit: kept");
    let at = at();

    store
        .record_pin_failure(&user, seen, MAX_PIN_FAILURES, now, now + DAY, at)
        .await
        .unwrap();

    let after = stored(store, &user.id).await;
    assert!(after.payment_methods.is_empty());
    assert_eq!(after.critical_data_deleted_at, Some(at));
    assert_eq!(after.sequence, 2);
    let events = store.latest_audit_events(&user.id, None).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].sequence, 2);
    assert_eq!(events[0].event_type, "user.critical_data.deleted");
    assert_eq!(
        (events[0].actor.as_str(), events[0].at),
        (user.id.as_str(), at)
    );
    assert_eq!(pin_failures(store, &user, now).await.count, 4);
}

pub async fn the_failure_past_the_limit_on_a_moved_user_writes_nothing(store: &dyn Store) {
    let user = created(store, "pin-delete-moved", |u| {
        u.payment_methods = vec!["pm".into()]
    })
    .await;
    let (now, seen) = failed_pins(store, &user, MAX_PIN_FAILURES).await;
    change_behind(store, &user).await;

    assert_refused!(
        store
            .record_pin_failure(&user, seen, MAX_PIN_FAILURES, now, now + DAY, at())
            .await,
        WriteError::Conflict
    );

    let after = stored(store, &user.id).await;
    assert_eq!(after.payment_methods, ["pm"]);
    assert_eq!(after.critical_data_deleted_at, None);
    assert_eq!(after.sequence, 2);
    assert_eq!(
        trail(store, &user.id).await.last(),
        Some(&event(2, AuditEventType::PinSet))
    );
    assert_eq!(pin_failures(store, &user, now).await, seen);
}

pub async fn pin_failures_cleared_as_seen_are_gone_and_moved_ones_a_conflict(store: &dyn Store) {
    let user = created(store, "pin-clear", |_| {}).await;
    let (now, seen) = failed_pins(store, &user, 2).await;
    let moved = PinFailures { count: 1, ..seen };

    assert_refused!(
        store.clear_pin_failures(&user.id, moved, now).await,
        WriteError::Conflict
    );
    assert_eq!(pin_failures(store, &user, now).await, seen);

    store.clear_pin_failures(&user.id, seen, now).await.unwrap();
    assert_eq!(
        pin_failures(store, &user, now).await,
        PinFailures::default()
    );
    assert_refused!(
        store.clear_pin_failures(&user.id, seen, now).await,
        WriteError::Conflict
    );
    assert_eq!(stored(store, &user.id).await, user);
}

pub async fn clearing_an_ended_pin_window_is_a_conflict(store: &dyn Store) {
    let user = created(store, "pin-clear-ended", |_| {}).await;
    let now = now();
    first_pin_failure(store, &user, now, now + 5).await;
    let seen = pin_failures(store, &user, now).await;

    assert_refused!(
        store.clear_pin_failures(&user.id, seen, now + 5).await,
        WriteError::Conflict
    );

    assert_eq!(pin_failures(store, &user, now).await, seen);
}

pub async fn an_unlock_clears_the_window_as_a_recorded_change(store: &dyn Store) {
    let user = created(store, "unlock", |_| {}).await;
    let (now, seen) = failed_pins(store, &user, 2).await;
    let at = at();

    assert_eq!(
        store
            .unlock_pin_failures(&user, seen, now, "operator", at)
            .await
            .unwrap(),
        2
    );

    assert_eq!(
        pin_failures(store, &user, now).await,
        PinFailures::default()
    );
    assert_eq!(stored(store, &user.id).await.sequence, 2);
    let events = store.latest_audit_events(&user.id, Some(1)).await.unwrap();
    assert_eq!(events[0].event_type, "user.pin.unlocked");
    assert_eq!((events[0].actor.as_str(), events[0].at), ("operator", at));
}

pub async fn an_unlock_on_a_moved_user_is_a_conflict_and_keeps_the_window(store: &dyn Store) {
    let user = created(store, "unlock-user", |_| {}).await;
    let (now, seen) = failed_pins(store, &user, 2).await;
    change_behind(store, &user).await;

    assert_refused!(
        store
            .unlock_pin_failures(&user, seen, now, "operator", at())
            .await,
        WriteError::Conflict
    );

    assert_eq!(pin_failures(store, &user, now).await, seen);
    assert_eq!(trail(store, &user.id).await.len(), 2);
}

pub async fn an_unlock_on_a_moved_counter_is_a_conflict_and_records_nothing(store: &dyn Store) {
    let user = created(store, "unlock-counter", |_| {}).await;
    let (now, seen) = failed_pins(store, &user, 1).await;
    fail_pin(store, &user, 1).await;

    assert_refused!(
        store
            .unlock_pin_failures(&user, seen, now, "operator", at())
            .await,
        WriteError::Conflict
    );

    assert_eq!(pin_failures(store, &user, now).await.count, 2);
    assert_eq!(stored(store, &user.id).await, user);
    assert_eq!(trail(store, &user.id).await.len(), 1);
}

pub async fn a_pin_digest_is_replaced_as_it_was_read_without_a_change_of_the_user(
    store: &dyn Store,
) {
    let user = created(store, "pin-pepper", |u| {
        u.pin_hmac = Some("pin-key1".into())
    })
    .await;

    assert_refused!(
        store
            .replace_pin_digest(&user.id, "pin-key0", "pin-key2")
            .await,
        WriteError::Conflict
    );
    store
        .replace_pin_digest(&user.id, "pin-key1", "pin-key2")
        .await
        .unwrap();

    assert_eq!(
        stored(store, &user.id).await,
        User {
            pin_hmac: Some("pin-key2".into()),
            ..user.clone()
        }
    );
    assert_eq!(trail(store, &user.id).await.len(), 1);
    let ghost = UserId::generate();
    assert_refused!(
        store
            .replace_pin_digest(&ghost, "pin-key1", "pin-key2")
            .await,
        WriteError::Conflict
    );
    assert!(store.get_user(&ghost).await.unwrap().is_none());
}

// Reset codes

pub async fn a_new_reset_code_replaces_the_previous_one_and_its_tries(store: &dyn Store) {
    let user = with_reset_code(store, "code", &digest()).await;
    wrong_secret(store, &window(10), &user).await;
    let (code, expires_at, at) = (digest(), now() + 3600, at());

    assert_eq!(
        store
            .issue_reset_code(&user, &code, expires_at, "caller", at)
            .await
            .unwrap(),
        3
    );

    assert_eq!(
        reset_code(store, &user).await,
        Some(ResetCode {
            digest: code,
            expires_at,
            wrong_tries: 0
        })
    );
    let events = store.latest_audit_events(&user.id, Some(2)).await.unwrap();
    assert!(events
        .iter()
        .all(|e| e.event_type == "user.password.code.issued"));
    assert_eq!((events[0].actor.as_str(), events[0].at), ("caller", at));
}

pub async fn a_reset_code_on_a_moved_sequence_is_a_conflict(store: &dyn Store) {
    let user = created(store, "code-moved", |_| {}).await;
    change_behind(store, &user).await;

    assert_refused!(
        store
            .issue_reset_code(&user, &digest(), now() + 3600, "contract", at())
            .await,
        WriteError::Conflict
    );

    assert_eq!(reset_code(store, &user).await, None);
    assert_eq!(stored(store, &user.id).await.sequence, 2);
}

pub async fn reset_state_reads_the_user_their_code_as_stored_and_the_window(store: &dyn Store) {
    let code = digest();
    let user = created(store, "state", |_| {}).await;
    let expired = now() - 10;
    store
        .issue_reset_code(&user, &code, expired, "contract", at())
        .await
        .unwrap();
    let window = window(10);
    wrong_secret(store, &window, &user).await;

    let state = store
        .reset_state(&user.id, &window.counter)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(state.user, stored(store, &user.id).await);
    assert_eq!(
        state.code,
        Some(ResetCode {
            digest: code,
            expires_at: expired,
            wrong_tries: 1
        })
    );
    assert_eq!(state.wrong_secrets, 1);
}

pub async fn the_right_code_replaces_the_password_and_is_consumed(store: &dyn Store) {
    let code = digest();
    let user = with_reset_code(store, "code-right", &code).await;
    let write = password_write(&user, AuditEventType::PasswordReset, "hash-new");
    let proof = code_proof(&code);

    assert_eq!(
        store
            .replace_password_with_proof(&write, proof, &window(10))
            .await
            .unwrap(),
        3
    );

    let after = stored(store, &user.id).await;
    assert_eq!(after.password_hash.as_deref(), Some("hash-new"));
    assert_eq!(
        trail(store, &user.id).await.last(),
        Some(&event(3, AuditEventType::PasswordReset))
    );
    assert_eq!(reset_code(store, &user).await, None);
    let again = password_write(&after, AuditEventType::PasswordReset, "hash-again");
    assert_refused!(
        store
            .replace_password_with_proof(&again, proof, &window(10))
            .await,
        WriteError::CodeNotLive
    );
}

pub async fn a_wrong_expired_or_exhausted_code_is_not_live_and_writes_nothing(store: &dyn Store) {
    let code = digest();
    let user = with_reset_code(store, "code-dead", &code).await;
    let expires_at = reset_code(store, &user).await.unwrap().expires_at;
    let write = password_write(&user, AuditEventType::PasswordReset, "hash-new");
    let proof = |digest, max_wrong_tries, now| Proof::Code {
        digest,
        max_wrong_tries,
        now,
    };
    let window = window(10);
    wrong_secret(store, &window, &user).await;

    for dead in [
        code_proof("another-code"),
        proof(&code, MAX_WRONG_TRIES, expires_at),
        proof(&code, 1, now()),
    ] {
        assert_refused!(
            store
                .replace_password_with_proof(&write, dead, &window)
                .await,
            WriteError::CodeNotLive
        );
    }

    assert_eq!(stored(store, &user.id).await, user);
    assert_eq!(reset_code(store, &user).await.unwrap().wrong_tries, 1);
    // Still live within its expiry and tries.
    let live = proof(&code, 2, expires_at - 1);
    assert_eq!(
        store
            .replace_password_with_proof(&write, live, &window)
            .await
            .unwrap(),
        3
    );
}

pub async fn the_current_password_replaces_the_password_and_kills_the_code(store: &dyn Store) {
    let user = with_reset_code(store, "code-current", &digest()).await;
    let write = password_write(&user, AuditEventType::PasswordChanged, "hash-new");

    assert_eq!(
        store
            .replace_password_with_proof(&write, Proof::CurrentPassword, &window(10))
            .await
            .unwrap(),
        3
    );

    assert_eq!(
        stored(store, &user.id).await.password_hash.as_deref(),
        Some("hash-new")
    );
    assert_eq!(reset_code(store, &user).await, None);
}

pub async fn a_proof_behind_a_full_window_is_limit_reached_before_anything_else(store: &dyn Store) {
    let code = digest();
    let user = with_reset_code(store, "code-full", &code).await;
    let window = full_window(store, 2).await;
    let stale = User {
        sequence: 1,
        ..user.clone()
    };
    let dead_code = code_proof("another-code");

    for (read, proof) in [(&user, Proof::CurrentPassword), (&stale, dead_code)] {
        let write = password_write(read, AuditEventType::PasswordChanged, "hash-new");
        assert_refused!(
            store
                .replace_password_with_proof(&write, proof, &window)
                .await,
            WriteError::LimitReached
        );
    }

    assert_eq!(stored(store, &user.id).await, user);
    assert_eq!(reset_code(store, &user).await.unwrap().digest, code);
}

pub async fn a_proof_on_a_moved_sequence_is_a_conflict_and_keeps_the_code(store: &dyn Store) {
    let code = digest();
    let user = with_reset_code(store, "code-proof-moved", &code).await;
    let stale = User {
        sequence: 1,
        ..user.clone()
    };
    let write = password_write(&stale, AuditEventType::PasswordReset, "hash-new");
    let proof = code_proof(&code);

    assert_refused!(
        store
            .replace_password_with_proof(&write, proof, &window(10))
            .await,
        WriteError::Conflict
    );

    assert_eq!(stored(store, &user.id).await, user);
    assert_eq!(reset_code(store, &user).await.unwrap().digest, code);
}

pub async fn a_wrong_secret_counts_in_the_window_and_on_a_live_code(store: &dyn Store) {
    let user = with_reset_code(store, "wrong", &digest()).await;
    let window = window(10);

    wrong_secret(store, &window, &user).await;
    store
        .record_wrong_secret(&window, None, MAX_WRONG_TRIES)
        .await
        .unwrap();

    let state = store
        .reset_state(&user.id, &window.counter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.wrong_secrets, 2);
    assert_eq!(state.code.unwrap().wrong_tries, 1);
    assert_eq!(state.user, user);
}

pub async fn a_wrong_secret_against_a_dead_or_absent_code_still_counts(store: &dyn Store) {
    let user = with_reset_code(store, "wrong-dead", &digest()).await;
    let without_code = created(store, "wrong-none", |_| {}).await;
    let window = window(10);

    for _ in 0..3 {
        store
            .record_wrong_secret(&window, Some(&user.id), 2)
            .await
            .unwrap();
    }
    store
        .record_wrong_secret(&window, Some(&without_code.id), 2)
        .await
        .unwrap();

    assert_eq!(count(store, &user, &window.counter).await, 4);
    assert_eq!(reset_code(store, &user).await.unwrap().wrong_tries, 2);
    assert_eq!(reset_code(store, &without_code).await, None);
}

pub async fn a_wrong_secret_in_a_full_window_is_limit_reached_and_counts_nothing(
    store: &dyn Store,
) {
    let user = with_reset_code(store, "wrong-full", &digest()).await;
    let window = window(2);
    for _ in 0..2 {
        wrong_secret(store, &window, &user).await;
    }

    assert_refused!(
        store
            .record_wrong_secret(&window, Some(&user.id), MAX_WRONG_TRIES)
            .await,
        WriteError::LimitReached
    );

    assert_eq!(count(store, &user, &window.counter).await, 2);
    assert_eq!(reset_code(store, &user).await.unwrap().wrong_tries, 2);
}

// The device OTP

pub async fn an_enrolment_is_pending_until_its_expiry_as_a_recorded_change(store: &dyn Store) {
    let user = created(store, "enrol", |_| {}).await;
    let (expires_at, at) = (now() + 600, at());

    assert_eq!(
        store
            .start_otp_enrolment(&user, "sealed-1", expires_at, at, None)
            .await
            .unwrap(),
        2
    );

    let pending = PendingEnrolment {
        sealed_secret: "sealed-1".into(),
        expires_at,
    };
    assert_eq!(
        pending_enrolment(store, &user, expires_at - 1).await,
        Some(pending)
    );
    assert_eq!(pending_enrolment(store, &user, expires_at).await, None);
    let after = stored(store, &user.id).await;
    assert_eq!(after.otp_device, None);
    assert_eq!(after.sequence, 2);
    let events = store.latest_audit_events(&user.id, Some(1)).await.unwrap();
    assert_eq!(events[0].event_type, "user.otp.enrolment.started");
    assert_eq!(
        (events[0].actor.as_str(), events[0].at),
        (user.id.as_str(), at)
    );
}

pub async fn a_new_enrolment_replaces_the_pending_one(store: &dyn Store) {
    let user = created(store, "enrol-again", |_| {}).await;
    let (user, first) = enrol(store, &user, "sealed-1").await;
    store
        .start_otp_enrolment(&user, "sealed-2", first.expires_at, at(), Some(&window(5)))
        .await
        .unwrap();
    let user = stored(store, &user.id).await;

    assert_refused!(
        store.activate_otp(&user, &first, 1, now(), at()).await,
        WriteError::EnrolmentNotPending
    );

    assert_eq!(
        pending_enrolment(store, &user, now())
            .await
            .unwrap()
            .sealed_secret,
        "sealed-2"
    );
    assert_eq!(stored(store, &user.id).await, user);
}

pub async fn an_enrolment_behind_a_full_window_or_on_a_moved_user_is_refused(store: &dyn Store) {
    let user = created(store, "enrol-refused", |_| {}).await;
    let full = full_window(store, 1).await;
    let stale = User {
        sequence: 0,
        ..user.clone()
    };

    assert_refused!(
        store
            .start_otp_enrolment(&stale, "sealed", now() + 600, at(), Some(&full))
            .await,
        WriteError::LimitReached
    );
    assert_refused!(
        store
            .start_otp_enrolment(&stale, "sealed", now() + 600, at(), Some(&window(1)))
            .await,
        WriteError::Conflict
    );

    assert_eq!(pending_enrolment(store, &user, now()).await, None);
    assert_eq!(stored(store, &user.id).await, user);
}

pub async fn activation_makes_the_enrolment_the_device_and_consumes_it(store: &dyn Store) {
    let user = created(store, "activate", |_| {}).await;
    let (user, _) = enrol(store, &user, "sealed-1").await;
    let pending = pending_enrolment(store, &user, now()).await.unwrap();
    let at = at();

    assert_eq!(
        store
            .activate_otp(&user, &pending, 100, now(), at)
            .await
            .unwrap(),
        3
    );

    let after = stored(store, &user.id).await;
    assert_eq!(
        after.otp_device,
        Some(OtpDevice {
            sealed_secret: "sealed-1".into(),
            last_accepted_step: Some(100)
        })
    );
    assert_eq!(pending_enrolment(store, &user, now()).await, None);
    let events = store.latest_audit_events(&user.id, Some(1)).await.unwrap();
    assert_eq!(events[0].event_type, "user.otp.activated");
    assert_eq!(
        (events[0].actor.as_str(), events[0].at),
        (user.id.as_str(), at)
    );
    assert_refused!(
        store.activate_otp(&after, &pending, 101, now(), at).await,
        WriteError::EnrolmentNotPending
    );
}

pub async fn an_expired_enrolment_is_not_pending_and_a_moved_user_is_a_conflict_first(
    store: &dyn Store,
) {
    let user = created(store, "activate-late", |_| {}).await;
    let (user, pending) = enrol(store, &user, "sealed-1").await;
    let expires_at = pending.expires_at;

    assert_refused!(
        store
            .activate_otp(&user, &pending, 1, expires_at, at())
            .await,
        WriteError::EnrolmentNotPending
    );
    let stale = User {
        sequence: 1,
        ..user.clone()
    };
    assert_refused!(
        store
            .activate_otp(&stale, &pending, 1, expires_at, at())
            .await,
        WriteError::Conflict
    );

    assert_eq!(stored(store, &user.id).await, user);
    assert_eq!(
        pending_enrolment(store, &user, expires_at - 1).await,
        Some(pending)
    );
}

pub async fn removing_the_device_removes_a_pending_enrolment_with_it(store: &dyn Store) {
    let user = with_device(store, "remove", "sealed-1", 100).await;
    let (user, _) = enrol(store, &user, "sealed-2").await;
    let at = at();

    assert_eq!(
        store.remove_otp(&user, at, Some(&window(5))).await.unwrap(),
        5
    );

    let after = stored(store, &user.id).await;
    assert_eq!(after.otp_device, None);
    assert_eq!(pending_enrolment(store, &user, now()).await, None);
    let events = store.latest_audit_events(&user.id, Some(1)).await.unwrap();
    assert_eq!(events[0].event_type, "user.otp.removed");
    assert_eq!(
        (events[0].actor.as_str(), events[0].at),
        (user.id.as_str(), at)
    );
}

pub async fn a_removal_behind_a_full_window_or_on_a_moved_user_is_refused(store: &dyn Store) {
    let user = with_device(store, "remove-refused", "sealed-1", 100).await;
    let full = full_window(store, 1).await;
    let stale = User {
        sequence: 2,
        ..user.clone()
    };

    assert_refused!(
        store.remove_otp(&user, at(), Some(&full)).await,
        WriteError::LimitReached
    );
    assert_refused!(
        store.remove_otp(&stale, at(), None).await,
        WriteError::Conflict
    );

    assert_eq!(stored(store, &user.id).await, user);
}

pub async fn a_right_code_moves_the_accepted_step_without_a_change_of_the_user(store: &dyn Store) {
    let user = with_device(store, "accept", "sealed-1", 100).await;

    store
        .accept_otp_step(&user, 101, PinFailures::default(), now())
        .await
        .unwrap();

    let after = stored(store, &user.id).await;
    assert_eq!(after.otp_device.unwrap().last_accepted_step, Some(101));
    assert_eq!(after.sequence, user.sequence);
    assert_eq!(trail(store, &user.id).await.len(), 3);
}

pub async fn a_code_at_or_before_the_last_accepted_step_is_a_replay(store: &dyn Store) {
    let user = with_device(store, "replay", "sealed-1", 100).await;

    for step in [100, 99] {
        assert_refused!(
            store
                .accept_otp_step(&user, step, PinFailures::default(), now())
                .await,
            WriteError::Conflict
        );
    }

    assert_eq!(stored(store, &user.id).await, user);
}

pub async fn a_right_code_clears_the_failures_it_saw_and_no_others(store: &dyn Store) {
    let user = with_device(store, "accept-failures", "sealed-1", 100).await;
    let (now, seen) = failed_pins(store, &user, 2).await;

    for unseen in [PinFailures::default(), PinFailures { count: 1, ..seen }] {
        assert_refused!(
            store.accept_otp_step(&user, 101, unseen, now).await,
            WriteError::Conflict
        );
    }
    assert_eq!(stored(store, &user.id).await, user);
    assert_eq!(pin_failures(store, &user, now).await, seen);

    store.accept_otp_step(&user, 101, seen, now).await.unwrap();

    assert_eq!(
        pin_failures(store, &user, now).await,
        PinFailures::default()
    );
    assert_eq!(
        stored(store, &user.id)
            .await
            .otp_device
            .unwrap()
            .last_accepted_step,
        Some(101)
    );
}

pub async fn a_right_code_for_a_device_replaced_or_not_read_is_a_conflict(store: &dyn Store) {
    let user = with_device(store, "accept-replaced", "sealed-1", 100).await;
    let (current, pending) = enrol(store, &user, "sealed-2").await;
    store
        .activate_otp(&current, &pending, 50, now(), at())
        .await
        .unwrap();
    let without_device = User {
        otp_device: None,
        ..stored(store, &user.id).await
    };

    assert_refused!(
        store
            .accept_otp_step(&user, 101, PinFailures::default(), now())
            .await,
        WriteError::Conflict
    );
    assert_refused!(
        store
            .accept_otp_step(&without_device, 101, PinFailures::default(), now())
            .await,
        WriteError::Conflict
    );

    assert_eq!(
        stored(store, &user.id).await.otp_device,
        Some(OtpDevice {
            sealed_secret: "sealed-2".into(),
            last_accepted_step: Some(50)
        })
    );
}

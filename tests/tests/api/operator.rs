//! The operator's changes and reads (`pwctl user unlock`, `pwctl audit`),
//! through the same flow and store operations the CLI calls.

use integration_tests::{json_body, spawn_app, unique_email, TestApp};
use password_service::clock::Clock;
use password_service::domain::{random_hex, User, UserId};
use password_service::error::ServiceError;
use password_service::flows::pin_unlock::{self, Unlocked};
use serde_json::json;

const PIN: &str = "2468";
const WRONG_PIN: &str = "1357";

async fn user_with_pin(app: &TestApp) -> User {
    app.create_user_with_pin(&unique_email("operator"), PIN, |u| {
        u.payment_methods = vec!["pm_card_visa_4242".into()];
    })
    .await
}

/// The operator's unlock of `user`'s failure window, as `pwctl user unlock`
/// calls it.
async fn unlock(app: &TestApp, user: &UserId) -> Result<Unlocked, ServiceError> {
    pin_unlock::unlock(&*app.services, user, "operator").await
}

async fn prove(app: &TestApp, user: &User, pin: &str) -> (u16, serde_json::Value) {
    let response = app
        .p5_callback(
            &app.token_for(user.id.as_str()),
            &json!({ "pin": pin }).to_string(),
        )
        .await;
    (response.status().as_u16(), json_body(&response))
}

async fn pin_failures(app: &TestApp, user: &User) -> u32 {
    let now = app.clock.now_seconds();
    let (_, failures) = app
        .services
        .store
        .user_with_pin_failures(&user.id, now)
        .await
        .unwrap()
        .unwrap();
    failures.count
}

#[tokio::test]
async fn an_unlock_lets_a_locked_out_user_prove_their_pin_again_and_is_audited() {
    let app = spawn_app().await;
    let user = user_with_pin(&app).await;
    for _ in 0..4 {
        prove(&app, &user, WRONG_PIN).await;
    }
    assert_eq!(
        prove(&app, &user, PIN).await.0,
        410,
        "locked for the window"
    );
    let before = app.stored_user(&user).await.sequence;

    let unlocked = unlock(&app, &user.id).await.unwrap();

    assert_eq!(
        unlocked,
        Unlocked {
            cleared_failures: 4,
            sequence: before + 1
        }
    );
    assert_eq!(app.stored_user(&user).await.sequence, before + 1);
    assert_eq!(pin_failures(&app, &user).await, 0);
    let latest = app
        .services
        .store
        .latest_audit_events(&user.id, Some(2))
        .await
        .unwrap();
    let trail: Vec<(u64, &str, &str)> = latest
        .iter()
        .map(|e| (e.sequence, e.event_type.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        trail,
        [
            (before + 1, "user.pin.unlocked", "operator"),
            (before, "user.critical_data.deleted", user.id.as_str()),
        ]
    );
    // A fresh count: a wrong PIN has all its attempts again, the right one passes.
    let (status, body) = prove(&app, &user, WRONG_PIN).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["meta"]["remainingAttempts"], 2);
    assert_eq!(prove(&app, &user, PIN).await.0, 204);
    assert!(
        app.stored_user(&user).await.payment_methods.is_empty(),
        "deleted data stays deleted"
    );
}

mod twin {
    use super::*;
    use integration_tests::spawn_twin;

    #[tokio::test]
    async fn an_unlock_without_a_live_window_changes_nothing() {
        let app = spawn_twin().await;
        let user = user_with_pin(&app).await;
        let unlocked = unlock(&app, &user.id).await.unwrap();
        assert_eq!(
            unlocked,
            Unlocked {
                cleared_failures: 0,
                sequence: user.sequence
            }
        );
        let events = app.services.store.audit_events(&user.id).await.unwrap();
        assert_eq!(events.len(), 1, "only user.created: {events:?}");
    }

    #[tokio::test]
    async fn an_unlock_of_an_unknown_user_is_refused() {
        let app = spawn_twin().await;
        let unknown = UserId::parse(&random_hex(12)).unwrap();
        let refused = unlock(&app, &unknown).await;
        assert!(
            matches!(refused, Err(ServiceError::UserNotFound)),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn the_latest_audit_events_come_newest_first_up_to_the_limit() {
        let app = spawn_twin().await;
        let user = user_with_pin(&app).await;
        for _ in 0..3 {
            prove(&app, &user, WRONG_PIN).await;
        }
        app.p6_set_pin(
            &app.token_for(user.id.as_str()),
            &json!({ "pin": "8642" }).to_string(),
        )
        .await;
        unlock(&app, &user.id).await.unwrap();
        let store = &app.services.store;
        let mut oldest_first = store.audit_events(&user.id).await.unwrap();
        assert_eq!(oldest_first.len(), 3, "created, PIN set, unlocked");
        oldest_first.reverse();
        assert_eq!(
            store.latest_audit_events(&user.id, None).await.unwrap(),
            oldest_first
        );
        assert_eq!(
            store.latest_audit_events(&user.id, Some(2)).await.unwrap(),
            oldest_first[..2]
        );
        assert!(store
            .latest_audit_events(&user.id, Some(0))
            .await
            .unwrap()
            .is_empty());
    }
}

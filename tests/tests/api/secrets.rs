//! Secrets read at run time from the emulator's Secrets Manager: a rotation
//! reaches a warm function without a deployment, digests under an older
//! pepper key keep working (and a PIN's moves to the current key), and a
//! secret that cannot be had is the service's fault, answered in the
//! family's shape (P: 501, Z: 500 INTERNAL) and never counted against the
//! user.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use integration_tests::{
    error_code, json_body, put_secret, random_secret_id, spawn_app_with, unique_email, TestApp,
};
use password_service::clock::Clock;
use password_service::domain::{Pepper, Purpose, Secret, User};
use serde_json::json;

const PIN: &str = "2468";
const PASSWORD: &str = "amber-harbor-lighthouse-7";
const NEW_PASSWORD: &str = "quiet-meadow-tractor-51";

/// A ring entry `<id>:<base64 of 32 random bytes>`.
fn ring_key(id: &str) -> String {
    let mut bytes = [0u8; 32];
    password_service::domain::fill_random(&mut bytes);
    format!("{id}:{}", STANDARD.encode(bytes))
}

/// An app whose pepper is a secret of its own holding `ring`, read again on
/// every use (`SECRETS_REFRESH_SECONDS=0`), so a rotation shows at once.
async fn app_with_pepper(ring: &str) -> (TestApp, String) {
    let id = random_secret_id("pepper");
    let settings = integration_tests::local_settings();
    put_secret(&settings, &id, ring).await;
    let pepper_id = id.clone();
    let app = spawn_app_with(move |s| {
        s.insert("PEPPER_SECRET_ID".into(), pepper_id);
        s.insert("SECRETS_REFRESH_SECONDS".into(), "0".into());
    })
    .await;
    (app, id)
}

/// A user with a PIN whose stored digest `digest` makes from their id.
async fn user_with_pin_digest(app: &TestApp, digest: impl FnOnce(&str) -> String) -> User {
    app.create_user_with(&unique_email("rotation"), |u| {
        u.pin_hmac = Some(digest(u.id.as_str()));
        u.payment_methods = vec!["pm_card_visa_4242".into()];
    })
    .await
}

fn digest_under(ring: &str, user: &str) -> String {
    Pepper::parse(ring)
        .unwrap()
        .digest(Purpose::Pin, user, &Secret::new(PIN))
}

async fn p5_pin(app: &TestApp, user: &User, pin: &str) -> u16 {
    let body = json!({ "pin": pin }).to_string();
    app.p5_callback(&app.token_for(user.id.as_str()), &body)
        .await
        .status()
        .as_u16()
}

async fn pin_failures(app: &TestApp, user: &User) -> u32 {
    let now = app.clock.now_seconds();
    let read = app.services.store.user_with_pin_failures(&user.id, now);
    read.await.unwrap().unwrap().1.count
}

#[tokio::test]
async fn a_pin_under_the_old_pepper_key_still_proves_and_moves_to_the_new_key() {
    let old = ring_key("k1");
    let (app, id) = app_with_pepper(&old).await;
    let user = user_with_pin_digest(&app, |user| digest_under(&old, user)).await;

    let new = ring_key("k2");
    put_secret(&app.settings, &id, &format!("{new},{old}")).await;
    assert_eq!(
        p5_pin(&app, &user, "1357").await,
        422,
        "a wrong PIN is wrong"
    );
    assert_eq!(pin_failures(&app, &user).await, 1);
    assert_eq!(p5_pin(&app, &user, PIN).await, 204);
    let stored = app.stored_user(&user).await;
    let digest = stored.pin_hmac.clone().unwrap();
    assert_eq!(digest, digest_under(&new, user.id.as_str()), "moved to k2");
    assert_eq!(stored.sequence, user.sequence, "not a change of the PIN");
    assert_eq!(stored.payment_methods, user.payment_methods);
    assert_eq!(pin_failures(&app, &user).await, 0);

    // The old key can now leave the ring.
    put_secret(&app.settings, &id, &new).await;
    assert_eq!(p5_pin(&app, &user, PIN).await, 204);
}

#[tokio::test]
async fn a_digest_from_before_key_ids_is_read_under_the_legacy_key() {
    let legacy = ring_key("legacy");
    let current = ring_key("k1");
    let (app, _) = app_with_pepper(&format!("{current},{legacy}")).await;
    // As stored before key ids: bare hex.
    let user = user_with_pin_digest(&app, |user| {
        let digest = digest_under(&legacy, user);
        digest.split_once(':').unwrap().1.to_owned()
    })
    .await;
    assert_eq!(p5_pin(&app, &user, "1357").await, 422);
    assert_eq!(p5_pin(&app, &user, PIN).await, 204);
    let digest = app.stored_user(&user).await.pin_hmac.unwrap();
    assert_eq!(digest, digest_under(&current, user.id.as_str()));
}

#[tokio::test]
async fn a_digest_under_a_key_dropped_from_the_ring_is_the_services_fault_and_never_counted() {
    let old = ring_key("k1");
    let (app, id) = app_with_pepper(&old).await;
    let user = user_with_pin_digest(&app, |user| digest_under(&old, user)).await;
    put_secret(&app.settings, &id, &ring_key("k2")).await;

    for pin in [PIN, "1357", "1357", "1357", "1357"] {
        let body = json!({ "pin": pin }).to_string();
        let response = app
            .p5_callback(&app.token_for(user.id.as_str()), &body)
            .await;
        // Family P answers the service's faults 501 (SPEC section 2).
        assert_eq!(response.status(), 501, "{}", json_body(&response));
        assert_eq!(error_code(&response), "internal-error");
    }
    assert_eq!(pin_failures(&app, &user).await, 0);
    let stored = app.stored_user(&user).await;
    assert_eq!(
        stored.payment_methods, user.payment_methods,
        "nothing deleted"
    );
}

#[tokio::test]
async fn a_pepper_that_cannot_be_read_is_the_services_fault_in_each_familys_shape() {
    let missing = random_secret_id("never-created");
    let app = spawn_app_with(move |s| {
        s.insert("PEPPER_SECRET_ID".into(), missing);
    })
    .await;
    let user = app
        .create_user_with_password(&unique_email("nosecret"), PASSWORD)
        .await;
    let me = app.token_for(user.id.as_str());
    let p5 = app.p5_callback(&me, r#"{"pin": "2468"}"#).await;
    assert_eq!(p5.status(), 501);
    assert_eq!(error_code(&p5), "internal-error");
    let z1 = app.z1_reset_code(&me, user.id.as_str(), "{}").await;
    assert_eq!(z1.status(), 500);
    assert_eq!(
        json_body(&z1)["code"],
        13,
        "gRPC INTERNAL: {}",
        json_body(&z1)
    );
    // No code was stored or mailed: the pepper is read before anything else.
    assert!(app.mails_to(user.email.as_str()).is_empty());
}

#[tokio::test]
async fn a_reset_code_issued_before_a_rotation_still_changes_the_password() {
    let old = ring_key("k1");
    let (app, id) = app_with_pepper(&old).await;
    let email = unique_email("zrotation");
    let user = app.create_user_with_password(&email, PASSWORD).await;
    let me = app.token_for(user.id.as_str());
    assert_eq!(
        app.z1_reset_code(&me, user.id.as_str(), "{}")
            .await
            .status(),
        200
    );
    let code = app.code_from_latest_mail(&email);
    put_secret(&app.settings, &id, &format!("{},{old}", ring_key("k2"))).await;
    let body = json!({ "newPassword": { "password": NEW_PASSWORD }, "verificationCode": code });
    let changed = app.z2_set_password(&me, user.id.as_str(), &body).await;
    assert_eq!(changed.status(), 200, "{}", json_body(&changed));
}

/// The key id a new enrolment of `user` is sealed under.
async fn sealed_under(app: &TestApp, user: User) -> String {
    let me = app.token_for(user.id.as_str());
    let body = json!({ "password": PASSWORD }).to_string();
    let started = app.p7_start_enrolment(&me, &body).await;
    assert_eq!(started.status(), 201, "{}", json_body(&started));
    let pending = app
        .services
        .store
        .user_with_otp_enrolment(&user.id, app.clock.now_seconds())
        .await
        .unwrap()
        .unwrap()
        .1
        .expect("a pending enrolment");
    pending.sealed_secret.split(':').nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn a_rotated_otp_key_ring_seals_new_enrolments_under_the_new_key() {
    let old = format!("k1:{}", STANDARD.encode([1u8; 32]));
    let id = random_secret_id("otp");
    let settings = integration_tests::local_settings();
    put_secret(&settings, &id, &old).await;
    let ring_id = id.clone();
    let app = spawn_app_with(move |s| {
        s.insert("OTP_ENCRYPTION_KEY_SECRET_ID".into(), ring_id);
        s.insert("SECRETS_REFRESH_SECONDS".into(), "0".into());
    })
    .await;
    let first = app
        .create_user_with_password(&unique_email("otpring"), PASSWORD)
        .await;
    assert_eq!(sealed_under(&app, first).await, "k1");
    put_secret(
        &app.settings,
        &id,
        &format!("k2:{},{old}", STANDARD.encode([2u8; 32])),
    )
    .await;
    let second = app
        .create_user_with_password(&unique_email("otpring"), PASSWORD)
        .await;
    assert_eq!(sealed_under(&app, second).await, "k2");
}

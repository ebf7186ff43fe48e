//! The device OTP: P7 `/user/otp` (enrol, activate, remove) and P5
//! `POST /callbacks/password-reset` with `otp`, under the PIN rule's one
//! failure counter (SPEC sections 4 and 5), against the emulator. Codes are
//! computed as an authenticator app would, at the app's injected clock.

use integration_tests::{
    error_code, json_body, spawn_app, spawn_app_unreachable, unique_email, Endpoint, TestApp,
};
use std::sync::Arc;

use lambda_http::{Body, Response};
use password_service::clock::Clock;
use password_service::domain::{totp, Locale, OtpCode, OtpDevice, OtpKeyRing, OtpSecret, User};
use password_service::error::ServiceError;
use password_service::flows::pin_proof::{check_proof, SecondFactor};
use serde_json::{json, Value};

const PASSWORD: &str = "amber-harbor-lighthouse-7";
const PIN: &str = "2468";
const WRONG_PIN: &str = "1357";

async fn keys(app: &TestApp) -> Arc<OtpKeyRing> {
    app.otp_keys().await
}

/// A user with a password, two payment methods and an activated device whose
/// secret is returned; `with_pin` gives them a PIN too.
async fn user_with_device(app: &TestApp, name: &str, with_pin: bool) -> (User, OtpSecret) {
    let secret = OtpSecret::generate();
    let hash = app.hash_of(PASSWORD).await;
    let keys = keys(app).await;
    let sealed_for = secret.clone();
    let email = unique_email(name);
    let adjust = |u: &mut User| {
        u.password_hash = Some(hash);
        u.payment_methods = vec!["pm_card_visa_4242".into(), "pm_sepa_de89".into()];
        u.otp_device = Some(OtpDevice {
            sealed_secret: keys.encrypt(&sealed_for, u.id.as_str()),
            last_accepted_step: None,
        });
    };
    let user = if with_pin {
        app.create_user_with_pin(&email, PIN, adjust).await
    } else {
        app.create_user_with(&email, adjust).await
    };
    (user, secret)
}

/// The code an app shows `steps` steps from the app's clock.
fn code(app: &TestApp, secret: &OtpSecret, steps: i64) -> String {
    let now = totp::step_at(app.clock.now_seconds() as u64);
    let step = now.checked_add_signed(steps).unwrap();
    totp::code_for_step(secret.expose_bytes(), step)
        .secret()
        .expose()
        .to_string()
}

/// Six digits that are no code of `secret` within three steps of now.
fn wrong_code(app: &TestApp, secret: &OtpSecret) -> String {
    let near: Vec<String> = (-3..=3).map(|s| code(app, secret, s)).collect();
    (0..)
        .map(|n| format!("{:06}", (n * 137_911 + 424_242) % 1_000_000))
        .find(|c| !near.contains(c))
        .unwrap()
}

async fn p5(app: &TestApp, user: &User, body: &Value) -> Response<Body> {
    app.p5_callback(&app.token_for(user.id.as_str()), &body.to_string())
        .await
}

async fn p5_otp(app: &TestApp, user: &User, otp: &str) -> Response<Body> {
    p5(app, user, &json!({ "otp": otp })).await
}

/// The subjects of the mails sent to `email`, oldest first.
fn subjects_to(app: &TestApp, email: &str) -> Vec<String> {
    app.mails_to(email).into_iter().map(|m| m.subject).collect()
}

async fn failures(app: &TestApp, user: &User) -> u32 {
    let now = app.clock.now_seconds();
    let found = app.services.store.user_with_pin_failures(&user.id, now);
    found.await.unwrap().unwrap().1.count
}

async fn events(app: &TestApp, user: &User, event_type: &str) -> usize {
    let events = app.services.store.audit_events(&user.id).await.unwrap();
    events.iter().filter(|e| e.event_type == event_type).count()
}

fn remaining_attempts(response: &Response<Body>) -> Value {
    json_body(response)["errors"][0]["meta"]["remainingAttempts"].clone()
}

/// P7 POST for `user` with `body`; on 201, the secret from the answer.
async fn start(app: &TestApp, user: &User, body: &Value) -> (Response<Body>, Option<OtpSecret>) {
    let token = app.token_for(user.id.as_str());
    let response = app.p7_start_enrolment(&token, &body.to_string()).await;
    let secret = json_body(&response)["data"]["attributes"]["secret"]
        .as_str()
        .map(|s| OtpSecret::from_base32(s).expect("base32 of a usable secret"));
    (response, secret)
}

async fn activate(app: &TestApp, user: &User, code: &str) -> Response<Body> {
    let body = json!({ "code": code }).to_string();
    app.p7_activate(&app.token_for(user.id.as_str()), &body)
        .await
}

async fn remove(app: &TestApp, user: &User, body: &Value) -> Response<Body> {
    app.p7_remove(&app.token_for(user.id.as_str()), &body.to_string())
        .await
}

// P7: enrolment.

#[tokio::test]
async fn enrolment_answers_the_secret_its_uri_and_a_qr_code_that_parses_as_svg() {
    let app = spawn_app().await;
    let email = unique_email("enrol");
    let user = app.create_user_with_password(&email, PASSWORD).await;

    let (response, secret) = start(&app, &user, &json!({ "password": PASSWORD })).await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.api+json"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let data = &json_body(&response)["data"];
    assert_eq!(data["type"], "otp-enrolments");
    let attributes = &data["attributes"];
    let base32 = attributes["secret"].as_str().unwrap();
    assert_eq!(base32.len(), 32, "160 bits in base32 without padding");
    assert_eq!(secret.unwrap().expose_bytes().len(), 20);
    let issuer = "Password%20Service%20%28local%29";
    assert_eq!(
        attributes["otpauthUri"],
        format!(
            "otpauth://totp/{issuer}:{email}?secret={base32}&issuer={issuer}\
             &algorithm=SHA1&digits=6&period=30"
        )
    );
    let expires_at = attributes["expiresAt"].as_str().unwrap();
    let expected = password_service::clock::rfc3339_millis((app.clock.now_seconds() + 600) * 1000);
    assert_eq!(expires_at, expected, "live ten minutes");

    let svg = attributes["qrCodeSvg"].as_str().unwrap();
    let document = roxmltree::Document::parse(svg).expect("the QR code is well-formed XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let width: u32 = root.attribute("width").unwrap().parse().unwrap();
    assert!(width >= 200, "scannable on a screen: {width}");
    let dark_modules = root
        .children()
        .filter(|n| n.has_tag_name("path") && n.attribute("fill") == Some("#000000"))
        .filter_map(|n| n.attribute("d"))
        .map(|d| d.matches('h').count())
        .sum::<usize>();
    assert!(dark_modules > 100, "the code has modules: {dark_modules}");

    let stored = app.stored_user(&user).await;
    assert!(stored.otp_device.is_none(), "not usable before activation");
    assert_eq!(stored.sequence, user.sequence + 1);
    assert_eq!(events(&app, &user, "user.otp.enrolment.started").await, 1);
    let subjects = subjects_to(&app, &email);
    assert_eq!(subjects, ["An authenticator app is being set up"]);
}

#[tokio::test]
async fn a_wrong_code_does_not_activate_and_the_right_one_does() {
    let app = spawn_app().await;
    let email = unique_email("activate");
    let user = app.create_user(&email).await;
    let (response, secret) = start(&app, &user, &json!({})).await;
    assert_eq!(response.status(), 201, "no password to prove");
    let secret = secret.unwrap();

    let wrong = activate(&app, &user, &wrong_code(&app, &secret)).await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(error_code(&wrong), "otp-invalid");
    assert_eq!(json_body(&wrong)["errors"][0]["source"]["pointer"], "/code");
    assert!(app.stored_user(&user).await.otp_device.is_none());

    assert_eq!(
        activate(&app, &user, &code(&app, &secret, 0))
            .await
            .status(),
        204
    );
    let stored = app.stored_user(&user).await;
    let device = stored.otp_device.expect("activated");
    let now = totp::step_at(app.clock.now_seconds() as u64);
    assert_eq!(device.last_accepted_step, Some(now));
    assert_eq!(
        keys(&app)
            .await
            .decrypt(&device.sealed_secret, user.id.as_str()),
        Ok(secret.clone())
    );
    // Sealed, not encoded: the secret's base32 is nowhere in it.
    assert!(!device.sealed_secret.contains(secret.to_base32().expose()));
    assert_eq!(stored.sequence, user.sequence + 2, "POST and PUT");
    assert_eq!(events(&app, &user, "user.otp.activated").await, 1);
    let subjects = subjects_to(&app, &email);
    assert_eq!(
        subjects,
        [
            "An authenticator app is being set up",
            "Your authenticator app was set up"
        ]
    );

    let again = activate(&app, &user, &code(&app, &secret, 1)).await;
    assert_eq!(again.status(), 409, "the enrolment was consumed");
    assert_eq!(error_code(&again), "otp-enrolment-not-pending");
}

#[tokio::test]
async fn removing_the_device_of_a_user_without_a_pin_leaves_nothing_to_prove() {
    let app = spawn_app().await;
    let email = unique_email("remove");
    let secret = OtpSecret::generate();
    let keys = keys(&app).await;
    let user = app
        .create_user_with(&email, |u| {
            u.locale = Locale::De;
            u.payment_methods = vec!["pm_1".into()];
            u.otp_device = Some(OtpDevice {
                sealed_secret: keys.encrypt(&secret, u.id.as_str()),
                last_accepted_step: None,
            });
        })
        .await;

    assert_eq!(remove(&app, &user, &json!({})).await.status(), 204);
    let stored = app.stored_user(&user).await;
    assert!(stored.otp_device.is_none());
    assert_eq!(stored.sequence, user.sequence + 1);
    assert_eq!(events(&app, &user, "user.otp.removed").await, 1);
    let subjects = subjects_to(&app, &email);
    assert_eq!(subjects, ["Ihre Authenticator-App wurde entfernt"]);

    let proof = p5_otp(&app, &user, &code(&app, &secret, 0)).await;
    assert_eq!(proof.status(), 404);
    assert_eq!(error_code(&proof), "no-proof-defined");
    let again = remove(&app, &user, &json!({})).await;
    assert_eq!(again.status(), 404);
    assert_eq!(error_code(&again), "otp-not-set");
    assert_eq!(app.stored_user(&user).await.payment_methods.len(), 1);
}

#[tokio::test]
async fn malformed_p7_requests_are_400_and_other_methods_405() {
    let app = spawn_app().await;
    let user = app.create_user(&unique_email("p7bad")).await;
    let (_, secret) = start(&app, &user, &json!({})).await;
    let right = code(&app, &secret.unwrap(), 0);
    let token = app.token_for(user.id.as_str());
    for body in [
        json!({}),
        json!({ "code": null }),
        json!({ "code": right.parse::<u32>().unwrap() }),
        json!({ "code": [right] }),
        json!({ "code": format!(" {right}") }),
        json!({ "code": &right[..5] }),
        json!({ "code": format!("{right}0") }),
        json!({ "code": "１２３４５６" }),
    ] {
        let response = app.p7_activate(&token, &body.to_string()).await;
        assert_eq!(response.status(), 400, "{body}");
    }
    assert_eq!(app.p7_activate(&token, "{\"code\": ").await.status(), 400);
    assert_eq!(
        app.p7_start_enrolment(&token, r#"{"password": 5}"#)
            .await
            .status(),
        400
    );
    let unsupported = app
        .call(Endpoint::P7Put)
        .bearer(&token)
        .header("content-type", "text/plain")
        .body(&json!({ "code": right }).to_string())
        .send()
        .await;
    assert_eq!(unsupported.status(), 415);
    assert_eq!(app.p7_activate("not-a-jwt", "{}").await.status(), 401);
    let get = app
        .call(Endpoint::P7Put)
        .method("GET")
        .bearer(&token)
        .send()
        .await;
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST, PUT, DELETE");
    assert!(app.stored_user(&user).await.otp_device.is_none());
    assert_eq!(
        activate(&app, &user, &right).await.status(),
        204,
        "still pending"
    );
}

// P5 with `otp`.

#[tokio::test]
async fn a_right_code_keeps_the_data_and_the_same_code_again_is_a_replay() {
    let app = spawn_app().await;
    let (user, secret) = user_with_device(&app, "replay", false).await;
    let current = code(&app, &secret, 0);
    assert_eq!(p5_otp(&app, &user, &current).await.status(), 204);
    let stored = app.stored_user(&user).await;
    assert_eq!(stored.payment_methods.len(), 2);
    assert_eq!(stored.sequence, user.sequence, "a proof is not a change");

    // A replay is refused and not counted, however often it comes.
    for _ in 0..5 {
        let replay = p5_otp(&app, &user, &current).await;
        assert_eq!(replay.status(), 422);
        assert_eq!(error_code(&replay), "otp-already-used");
        assert_eq!(json_body(&replay)["errors"][0]["source"]["pointer"], "/otp");
        assert_eq!(
            remaining_attempts(&replay),
            3,
            "a replay is not a wrong proof"
        );
    }
    let older = p5_otp(&app, &user, &code(&app, &secret, -1)).await;
    assert_eq!(older.status(), 422, "nothing before an accepted step");
    assert_eq!(error_code(&older), "otp-already-used");
    assert_eq!(failures(&app, &user).await, 0);
    let stored = app.stored_user(&user).await;
    assert_eq!(stored.payment_methods.len(), 2);
    assert_eq!(events(&app, &user, "user.critical_data.deleted").await, 0);

    let wrong = p5_otp(&app, &user, &wrong_code(&app, &secret)).await;
    assert_eq!(remaining_attempts(&wrong), 2);
    let replay = p5_otp(&app, &user, &current).await;
    assert_eq!(error_code(&replay), "otp-already-used");
    assert_eq!(
        remaining_attempts(&replay),
        2,
        "the attempts left, unchanged"
    );
    assert_eq!(failures(&app, &user).await, 1);

    app.clock.advance_seconds(30);
    assert_eq!(
        p5_otp(&app, &user, &code(&app, &secret, 0)).await.status(),
        204,
        "the next step's code, which also clears the counter"
    );
    assert_eq!(failures(&app, &user).await, 0);
}

#[tokio::test]
async fn a_right_code_decided_before_the_data_was_deleted_never_answers_204_after() {
    // The callback read the counter at 0; four wrong proofs then deleted the
    // data before its write: the write must see them.
    let app = spawn_app().await;
    let (user, secret) = user_with_device(&app, "late-right", true).await;
    let (read_user, read_failures) = {
        let now = app.clock.now_seconds();
        let found = app.services.store.user_with_pin_failures(&user.id, now);
        found.await.unwrap().unwrap()
    };
    assert_eq!(read_failures.count, 0);
    for _ in 0..4 {
        p5(&app, &user, &json!({ "pin": WRONG_PIN })).await;
    }
    assert!(app.stored_user(&user).await.payment_methods.is_empty());

    let right = code(&app, &secret, 0);
    let proof = SecondFactor::Otp(OtpCode::parse(&right).unwrap());
    let outcome = check_proof(&*app.services, read_user, read_failures, &proof).await;
    assert!(
        matches!(outcome, Err(ServiceError::CriticalDataDeleted { .. })),
        "{outcome:?}"
    );
    assert!(
        app.stored_user(&user)
            .await
            .otp_device
            .unwrap()
            .last_accepted_step
            .is_none(),
        "the code was not spent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_callbacks_with_one_right_code_accept_it_exactly_once() {
    let app = spawn_app().await;
    let (user, secret) = user_with_device(&app, "race-right", false).await;
    let current = code(&app, &secret, 0);
    let answers = app.p5_race(&user, &json!({ "otp": current }), 20).await;
    let count = |status| answers.iter().filter(|(s, _)| *s == status).count();
    let replays = answers.iter().filter(|(_, c)| c == "otp-already-used");
    assert_eq!(replays.count(), 19, "{answers:?}");
    assert_eq!(count(204), 1, "{answers:?}");
    // Every other request replays the accepted code: refused, not counted.
    assert_eq!(count(422), 19, "{answers:?}");
    assert_eq!(failures(&app, &user).await, 0);
    assert_eq!(app.stored_user(&user).await.payment_methods.len(), 2);
    assert_eq!(events(&app, &user, "user.critical_data.deleted").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_wrong_codes_answer_three_422_and_delete_the_data_once() {
    let app = spawn_app().await;
    let (user, secret) = user_with_device(&app, "race-wrong", false).await;
    let wrong = wrong_code(&app, &secret);
    let answers = app.p5_race(&user, &json!({ "otp": wrong }), 50).await;
    let wrong_answers = answers
        .iter()
        .filter(|(s, c)| *s == 422 && c == "otp-invalid");
    let gone = answers
        .iter()
        .filter(|(s, c)| *s == 410 && c == "critical-data-deleted");
    assert_eq!(
        (wrong_answers.count(), gone.count()),
        (3, 47),
        "{answers:?}"
    );
    let stored = app.stored_user(&user).await;
    assert!(stored.payment_methods.is_empty());
    assert_eq!(events(&app, &user, "user.critical_data.deleted").await, 1);
    assert_eq!(stored.sequence, user.sequence + 1);
    assert_eq!(failures(&app, &user).await, 4);
}

// Faults and cost.

#[tokio::test]
async fn with_the_database_unreachable_p7_and_p5_answer_501() {
    let healthy = spawn_app().await;
    let (user, secret) = user_with_device(&healthy, "nodb", false).await;
    let broken = spawn_app_unreachable("AWS_ENDPOINT_URL_DYNAMODB").await;
    let (enrolment, _) = start(&broken, &user, &json!({ "password": PASSWORD })).await;
    assert_eq!(enrolment.status(), 501);
    assert_eq!(error_code(&enrolment), "internal-error");
    let proof = p5_otp(&broken, &user, &code(&healthy, &secret, 0)).await;
    assert_eq!(proof.status(), 501);
    assert_eq!(
        p5_otp(&healthy, &user, &code(&healthy, &secret, 0))
            .await
            .status(),
        204,
        "the code was not spent"
    );
}

#[tokio::test]
async fn an_activation_stands_when_its_notice_cannot_be_sent() {
    let app = spawn_app_unreachable("AWS_ENDPOINT_URL_SESV2").await;
    let user = app.create_user(&unique_email("nomail")).await;
    let (started, secret) = start(&app, &user, &json!({})).await;
    assert_eq!(started.status(), 201);
    let secret = secret.unwrap();
    assert_eq!(
        activate(&app, &user, &code(&app, &secret, 0))
            .await
            .status(),
        204
    );
    assert!(app.stored_user(&user).await.otp_device.is_some());
}

#[tokio::test]
async fn a_callback_with_a_code_costs_the_same_two_round_trips_as_with_a_pin() {
    let app = spawn_app().await;
    let (user, secret) = user_with_device(&app, "trips", true).await;
    let wrong = wrong_code(&app, &secret);
    let calls = [
        ("PIN, right, no failures", json!({ "pin": PIN })),
        ("PIN, wrong", json!({ "pin": WRONG_PIN })),
        ("PIN, right after a failure", json!({ "pin": PIN })),
        (
            "OTP, right, no failures",
            json!({ "otp": code(&app, &secret, -1) }),
        ),
        ("OTP, wrong", json!({ "otp": wrong })),
        (
            "OTP, right after a failure",
            json!({ "otp": code(&app, &secret, 0) }),
        ),
        ("OTP, replayed", json!({ "otp": code(&app, &secret, 0) })),
    ];
    let trips = app.round_trips(Endpoint::P5, &user, calls).await;
    println!("DynamoDB round trips per P5 call: {trips:#?}");
    let statuses: Vec<u16> = trips.iter().map(|(_, s, _)| *s).collect();
    assert_eq!(statuses, [204, 422, 204, 204, 422, 204, 422]);
    let counts: Vec<u64> = trips.iter().map(|(_, _, n)| *n).collect();
    // A replay is refused on the read alone: nothing to write.
    assert_eq!(counts, [1, 2, 2, 2, 2, 2, 1], "{trips:?}");
}

#[tokio::test]
async fn pwctl_creates_a_user_with_a_device_and_shows_otp_set_without_the_secret() {
    let app = spawn_app().await;
    let secret = OtpSecret::generate();
    let base32 = secret.to_base32().expose().to_lowercase();
    let created = pwctl(&[
        "user",
        "create",
        "--email",
        &unique_email("pwctl"),
        "--otp-secret",
        &base32,
    ]);
    let id = created["userId"].as_str().unwrap().to_string();
    let shown = pwctl(&["user", "show", &id]);
    assert_eq!(shown["otpSet"], true, "{shown}");
    let stored = app
        .services
        .store
        .get_user(&password_service::domain::UserId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let sealed = &stored.otp_device.as_ref().unwrap().sealed_secret;
    let printed = shown.to_string().to_lowercase();
    assert!(!printed.contains(&base32) && !printed.contains(&sealed.to_lowercase()));
    assert_eq!(
        p5_otp(&app, &stored, &code(&app, &secret, 0))
            .await
            .status(),
        204
    );
}

/// Runs the operator CLI against the test's emulator; its JSON output.
fn pwctl(args: &[&str]) -> Value {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "run",
            "-q",
            "-p",
            "password-service",
            "--bin",
            "pwctl",
            "--",
        ])
        .args(args)
        .current_dir(integration_tests::repo_root())
        .output()
        .expect("cargo runs pwctl");
    assert!(
        output.status.success(),
        "pwctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("pwctl prints JSON")
}

mod twin {
    use super::*;
    use integration_tests::{spawn_twin, spawn_twin_with};

    #[tokio::test]
    async fn enrolment_and_removal_need_the_current_password_counted_like_p6() {
        let app = spawn_twin_with(|s| {
            s.insert("RATE_LIMIT_WRONG_SECRETS_PER_HOUR".into(), "2".into());
        })
        .await;
        let (user, _) = user_with_device(&app, "password", false).await;

        let (missing, _) = start(&app, &user, &json!({})).await;
        assert_eq!(missing.status(), 400);
        assert_eq!(error_code(&missing), "missing-field");
        let (wrong, _) = start(&app, &user, &json!({ "password": "not-the-password" })).await;
        assert_eq!(wrong.status(), 403);
        assert_eq!(error_code(&wrong), "password-invalid");
        let wrong = remove(&app, &user, &json!({ "password": "not-the-password" })).await;
        assert_eq!(wrong.status(), 403, "DELETE counts on the same limit");

        let (right, _) = start(&app, &user, &json!({ "password": PASSWORD })).await;
        assert_eq!(
            right.status(),
            429,
            "right or wrong, once the limit is reached"
        );
        assert!(right.headers().contains_key("retry-after"));
        let right = remove(&app, &user, &json!({ "password": PASSWORD })).await;
        assert_eq!(right.status(), 429);
        let stored = app.stored_user(&user).await;
        assert!(stored.otp_device.is_some());
        assert_eq!(stored.sequence, user.sequence, "nothing changed");
    }

    #[tokio::test]
    async fn an_enrolment_expires_after_ten_minutes_and_none_pending_is_409() {
        let app = spawn_twin().await;
        let user = app.create_user(&unique_email("expire")).await;
        let none = activate(&app, &user, "123456").await;
        assert_eq!(none.status(), 409);
        assert_eq!(error_code(&none), "otp-enrolment-not-pending");

        let (_, secret) = start(&app, &user, &json!({})).await;
        let secret = secret.unwrap();
        app.clock.advance_seconds(600);
        let late = activate(&app, &user, &code(&app, &secret, 0)).await;
        assert_eq!(late.status(), 409, "expired (checked on read, not by TTL)");
        assert!(app.stored_user(&user).await.otp_device.is_none());
    }

    #[tokio::test]
    async fn a_new_activation_replaces_the_previous_device() {
        let app = spawn_twin().await;
        let (user, old_secret) = user_with_device(&app, "replace", false).await;
        let (_, new_secret) = start(&app, &user, &json!({ "password": PASSWORD })).await;
        let new_secret = new_secret.unwrap();
        assert_eq!(
            p5_otp(&app, &user, &code(&app, &old_secret, 0))
                .await
                .status(),
            204,
            "the old device works until the new one is activated"
        );
        app.clock.advance_seconds(30);
        assert_eq!(
            activate(&app, &user, &code(&app, &new_secret, 0))
                .await
                .status(),
            204
        );
        app.clock.advance_seconds(30);
        let old = p5_otp(&app, &user, &code(&app, &old_secret, 0)).await;
        assert_eq!(old.status(), 422, "the old device's codes are wrong now");
        assert_eq!(error_code(&old), "otp-invalid");
        assert_eq!(
            p5_otp(&app, &user, &code(&app, &new_secret, 0))
                .await
                .status(),
            204
        );
    }

    #[tokio::test]
    async fn codes_one_step_away_are_accepted_and_two_steps_away_are_not() {
        let app = spawn_twin().await;
        for (steps, expected) in [(-1, 204), (1, 204), (-2, 422), (2, 422)] {
            let (user, secret) = user_with_device(&app, "skew", false).await;
            let response = p5_otp(&app, &user, &code(&app, &secret, steps)).await;
            assert_eq!(response.status(), expected, "{steps} steps from now");
        }
    }

    #[tokio::test]
    async fn two_wrong_pins_and_a_wrong_code_leave_no_attempt_and_the_next_wrong_code_is_410() {
        let app = spawn_twin().await;
        let (user, secret) = user_with_device(&app, "mixed", true).await;
        let wrong = wrong_code(&app, &secret);
        for remaining in [2, 1] {
            let response = p5(&app, &user, &json!({ "pin": WRONG_PIN })).await;
            assert_eq!(error_code(&response), "pin-invalid");
            assert_eq!(remaining_attempts(&response), remaining);
        }
        let third = p5_otp(&app, &user, &wrong).await;
        assert_eq!(third.status(), 422);
        assert_eq!(error_code(&third), "otp-invalid");
        assert_eq!(remaining_attempts(&third), 0);

        let fourth = p5_otp(&app, &user, &wrong).await;
        assert_eq!(fourth.status(), 410);
        assert_eq!(error_code(&fourth), "critical-data-deleted");
        assert!(app.stored_user(&user).await.payment_methods.is_empty());
        assert_eq!(events(&app, &user, "user.critical_data.deleted").await, 1);
        assert_eq!(
            p5_otp(&app, &user, &code(&app, &secret, 0)).await.status(),
            410,
            "the right code too, until the window ends"
        );
        assert_eq!(events(&app, &user, "user.critical_data.deleted").await, 1);
    }

    #[tokio::test]
    async fn a_proof_of_a_kind_the_user_lacks_is_a_wrong_one() {
        let app = spawn_twin().await;
        let (device_only, _) = user_with_device(&app, "kind", false).await;
        let response = p5(&app, &device_only, &json!({ "pin": PIN })).await;
        assert_eq!(response.status(), 422);
        assert_eq!(error_code(&response), "pin-invalid");

        let pin_only = app
            .create_user_with_pin(&unique_email("pinonly"), PIN, |_| {})
            .await;
        let response = p5_otp(&app, &pin_only, "123456").await;
        assert_eq!(response.status(), 422);
        assert_eq!(error_code(&response), "otp-invalid");
        assert_eq!(failures(&app, &pin_only).await, 1);
    }

    #[tokio::test]
    async fn malformed_otp_callbacks_are_400_and_leave_the_counter_alone() {
        let app = spawn_twin().await;
        let (user, secret) = user_with_device(&app, "p5bad", true).await;
        p5_otp(&app, &user, &wrong_code(&app, &secret)).await;
        let right = code(&app, &secret, 0);
        for body in [
            json!({ "otp": right.parse::<u32>().unwrap() }),
            json!({ "otp": &right[..5] }),
            json!({ "otp": format!("{right}1") }),
            json!({ "otp": "12345a" }),
            json!({ "otp": "１２３４５６" }),
            json!({ "otp": format!(" {right}") }),
            json!({ "otp": [right] }),
            json!({ "otp": { "value": right } }),
            json!({ "otp": true }),
            json!({ "otp": null }),
            json!({ "otp": right, "pin": PIN }),
            json!({ "otp": right, "skip": true }),
            json!({ "otp": right, "pin": PIN, "skip": true }),
        ] {
            let response = p5(&app, &user, &body).await;
            assert_eq!(response.status(), 400, "{body}");
            assert_eq!(json_body(&response)["errors"][0]["status"], "400");
        }
        assert_eq!(failures(&app, &user).await, 1);
        assert_eq!(app.stored_user(&user).await.payment_methods.len(), 2);
        let with_nulls = json!({ "otp": right, "pin": null, "skip": null });
        assert_eq!(
            p5(&app, &user, &with_nulls).await.status(),
            204,
            "null is absent"
        );
    }

    #[tokio::test]
    async fn a_failed_write_leaves_no_half_enrolled_device() {
        let app = spawn_twin().await;
        let email = unique_email("halfway");
        let user = app.create_user(&email).await;

        let failing = app.with_failing(&["start_otp_enrolment"]);
        let (response, _) = start(&failing, &user, &json!({})).await;
        assert_eq!(response.status(), 501);
        assert_eq!(
            activate(&app, &user, "123456").await.status(),
            409,
            "nothing pending"
        );

        let (_, secret) = start(&app, &user, &json!({})).await;
        let current = code(&app, &secret.unwrap(), 0);
        let failing = app.with_failing(&["activate_otp"]);
        assert_eq!(activate(&failing, &user, &current).await.status(), 501);
        let stored = app.stored_user(&user).await;
        assert!(stored.otp_device.is_none());
        assert_eq!(stored.sequence, user.sequence + 1, "only the enrolment");
        assert_eq!(events(&app, &user, "user.otp.activated").await, 0);
        assert_eq!(app.mails_to(&email).len(), 1, "no activation notice");
        assert_eq!(
            activate(&app, &user, &current).await.status(),
            204,
            "still pending"
        );

        let failing = app.with_failing(&["remove_otp"]);
        assert_eq!(remove(&failing, &user, &json!({})).await.status(), 501);
        assert!(app.stored_user(&user).await.otp_device.is_some());
    }

    #[tokio::test]
    async fn a_failed_step_write_at_the_callback_is_501_and_spends_nothing() {
        let app = spawn_twin().await;
        let (user, secret) = user_with_device(&app, "stepfail", false).await;
        let current = code(&app, &secret, 0);
        let failing = app.with_failing(&["accept_otp_step"]);
        assert_eq!(p5_otp(&failing, &user, &current).await.status(), 501);
        assert_eq!(failures(&app, &user).await, 0);
        let device = app.stored_user(&user).await.otp_device.unwrap();
        assert_eq!(device.last_accepted_step, None, "the code is not spent");
        assert_eq!(p5_otp(&app, &user, &current).await.status(), 204);
    }
}

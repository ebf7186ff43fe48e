//! PIN-protected recovery: P5 `POST /callbacks/password-reset`, P4
//! `PUT /user/password/reset` (deprecated) and P6 `PUT /user/pin`, under the
//! PIN rule of SPEC section 5, against the emulator.

use integration_tests::{error_code, json_body, spawn_app, unique_email, Endpoint, TestApp};
use lambda_http::{Body, Response};
use password_service::clock::Clock;
use password_service::domain::{Secret, User};
use serde_json::json;

const PIN: &str = "2468";
const WRONG: &str = "1357";
const PASSWORD: &str = "amber-harbor-lighthouse-7";
const NEW_PASSWORD: &str = "quiet-meadow-tractor-51";

/// A user with a PIN, a password and two payment methods.
async fn user_with_pin(app: &TestApp, name: &str) -> (User, String) {
    let email = unique_email(name);
    let hash = app.hash_of(PASSWORD).await;
    let user = app
        .create_user_with_pin(&email, PIN, |u| {
            u.password_hash = Some(hash);
            u.payment_methods = vec!["pm_card_visa_4242".into(), "pm_sepa_de89".into()];
        })
        .await;
    (user, email)
}

async fn p5(app: &TestApp, user: &User, body: &str) -> Response<Body> {
    app.p5_callback(&app.token_for(user.id.as_str()), body)
        .await
}

async fn p5_pin(app: &TestApp, user: &User, pin: &str) -> Response<Body> {
    p5(app, user, &json!({ "pin": pin }).to_string()).await
}

async fn p4(app: &TestApp, user: &User, query_pin: Option<&str>, body: &str) -> Response<Body> {
    app.p4_reset(&app.token_for(user.id.as_str()), query_pin, body)
        .await
}

async fn p6(app: &TestApp, user: &User, body: &str) -> Response<Body> {
    app.p6_set_pin(&app.token_for(user.id.as_str()), body).await
}

async fn pin_failures(app: &TestApp, user: &User) -> u32 {
    let now = app.clock.now_seconds();
    app.services
        .store
        .user_with_pin_failures(&user.id, now)
        .await
        .unwrap()
        .unwrap()
        .1
        .count
}

async fn deletion_events(app: &TestApp, user: &User) -> usize {
    let events = app.services.store.audit_events(&user.id).await.unwrap();
    events
        .iter()
        .filter(|e| e.event_type == "user.critical_data.deleted")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_wrong_pins_answer_three_422_and_delete_the_data_once() {
    let app = spawn_app().await;
    let (user, email) = user_with_pin(&app, "race").await;

    let answers = app.p5_race(&user, &json!({ "pin": WRONG }), 50).await;
    let wrong = answers.iter().filter(|(s, _)| *s == 422).count();
    let gone = answers.iter().filter(|(s, _)| *s == 410).count();
    assert_eq!((wrong, gone), (3, 47), "{answers:?}");
    assert!(answers
        .iter()
        .all(|(s, code)| (*s == 422 && code == "pin-invalid")
            || (*s == 410 && code == "critical-data-deleted")));

    let stored = app.stored_user(&user).await;
    assert!(stored.payment_methods.is_empty());
    assert!(stored.critical_data_deleted_at.is_some());
    assert_eq!(deletion_events(&app, &user).await, 1);
    assert_eq!(
        pin_failures(&app, &user).await,
        4,
        "the counter stops at the crossing"
    );
    assert_eq!(stored.sequence, user.sequence + 1);
    let notices = app
        .mails_to(&email)
        .iter()
        .filter(|m| m.subject.contains("payment methods"))
        .count();
    assert_eq!(notices, 1);
}

#[tokio::test]
async fn three_wrong_then_the_right_pin_keeps_the_data_and_clears_the_counter() {
    let app = spawn_app().await;
    let (user, _) = user_with_pin(&app, "three").await;
    for remaining in [2, 1, 0] {
        let response = p5_pin(&app, &user, WRONG).await;
        assert_eq!(response.status(), 422);
        let body = json_body(&response);
        assert_eq!(body["errors"][0]["code"], "pin-invalid");
        assert_eq!(body["errors"][0]["meta"]["remainingAttempts"], remaining);
    }
    assert_eq!(p5_pin(&app, &user, PIN).await.status(), 204);
    assert_eq!(pin_failures(&app, &user).await, 0);
    assert_eq!(app.stored_user(&user).await.payment_methods.len(), 2);
    assert_eq!(
        p5_pin(&app, &user, WRONG).await.status(),
        422,
        "a fresh count"
    );
}

#[tokio::test]
async fn four_wrong_then_the_right_pin_is_410() {
    let app = spawn_app().await;
    let (user, _) = user_with_pin(&app, "four").await;
    for _ in 0..3 {
        assert_eq!(p5_pin(&app, &user, WRONG).await.status(), 422);
    }
    assert_eq!(p5_pin(&app, &user, WRONG).await.status(), 410);
    assert!(app.stored_user(&user).await.payment_methods.is_empty());
    assert_eq!(
        p5_pin(&app, &user, PIN).await.status(),
        410,
        "no check until the window ends"
    );
}

// P4: the deprecated PIN-gated reset.

fn assert_deprecation_headers(response: &Response<Body>) {
    let headers = response.headers();
    assert_eq!(
        headers["deprecation"],
        "@1735689600",
        "{:?}",
        response.status()
    );
    assert_eq!(headers["sunset"], "Thu, 01 Jul 2027 00:00:00 GMT");
    assert_eq!(
        headers["link"],
        r#"<../../callbacks/password-reset>; rel="successor-version""#
    );
}

#[tokio::test]
async fn p4_with_the_right_pin_resets_the_password_and_keeps_the_data() {
    let app = spawn_app().await;
    let (user, email) = user_with_pin(&app, "p4right").await;
    let response = p4(
        &app,
        &user,
        Some(PIN),
        &json!({ "password": NEW_PASSWORD }).to_string(),
    )
    .await;
    assert_eq!(response.status(), 204);
    assert_deprecation_headers(&response);
    assert!(app.password_is(&user, NEW_PASSWORD).await);
    let stored = app.stored_user(&user).await;
    assert_eq!(stored.payment_methods.len(), 2);
    assert!(stored.sessions_not_before.is_some());
    assert_eq!(
        app.mails_to(&email).last().unwrap().subject,
        "Your password was reset"
    );
}

#[tokio::test]
async fn p4_carries_the_deprecation_headers_on_every_answer() {
    let app = spawn_app().await;
    let body = json!({ "password": NEW_PASSWORD }).to_string();

    let (user, _) = user_with_pin(&app, "hdr403").await;
    let wrong = p4(&app, &user, Some(WRONG), &body).await;
    assert_eq!(wrong.status(), 403);
    assert_eq!(error_code(&wrong), "pin-invalid");
    assert_deprecation_headers(&wrong);

    let no_pin_user = app.create_user(&unique_email("hdr404")).await;
    let not_found = p4(&app, &no_pin_user, Some(PIN), &body).await;
    assert_eq!(not_found.status(), 404);
    assert_deprecation_headers(&not_found);

    for _ in 0..3 {
        p4(&app, &user, Some(WRONG), &body).await;
    }
    let gone = p4(&app, &user, Some(PIN), &body).await;
    assert_eq!(gone.status(), 410);
    assert_deprecation_headers(&gone);

    let (fresh, _) = user_with_pin(&app, "hdr422").await;
    let rejected = p4(&app, &fresh, Some(PIN), r#"{"password": "short"}"#).await;
    assert_eq!(rejected.status(), 422);
    assert_eq!(error_code(&rejected), "password-too-short");
    assert_deprecation_headers(&rejected);
    assert_eq!(
        pin_failures(&app, &fresh).await,
        0,
        "a rejected password spends no PIN attempt"
    );

    let broken = app.with_failing(&["user_with_pin_failures", "get_user"]);
    let internal = p4(&broken, &fresh, Some(PIN), &body).await;
    assert_eq!(internal.status(), 501);
    assert_deprecation_headers(&internal);

    let ok = p4(&app, &fresh, Some(PIN), &body).await;
    assert_eq!(ok.status(), 204);
    assert_deprecation_headers(&ok);
}

// P6: setting the PIN.

#[tokio::test]
async fn a_user_without_a_password_sets_a_pin_that_then_works() {
    let app = spawn_app().await;
    let user = app
        .create_user_with(&unique_email("setpin"), |u| {
            u.payment_methods = vec!["pm_1".into()]
        })
        .await;
    assert_eq!(p6(&app, &user, r#"{"pin": "9753"}"#).await.status(), 204);
    let stored = app.stored_user(&user).await;
    // Exactly the PIN's keyed digest (HMAC under the pepper, bound to the
    // user): not the PIN, and compared whole (4 digits can stand inside a
    // hex digest by chance).
    let expected = app.pin_digest(&user.id, "9753").await;
    assert_eq!(stored.pin_hmac.as_deref(), Some(expected.as_str()));
    assert_eq!(stored.sequence, user.sequence + 1);
    let events = app.services.store.audit_events(&user.id).await.unwrap();
    assert_eq!(events.last().unwrap().event_type, "user.pin.set");
    assert_eq!(p5_pin(&app, &user, "9753").await.status(), 204);
}

#[tokio::test]
async fn a_callback_costs_at_most_two_dynamodb_round_trips() {
    let app = spawn_app().await;
    let (user, _) = user_with_pin(&app, "trips").await;
    let calls = [
        ("correct, no failures", json!({ "pin": PIN })),
        ("wrong", json!({ "pin": WRONG })),
        ("wrong again", json!({ "pin": WRONG })),
        ("correct after failures", json!({ "pin": PIN })),
        ("skip", json!({ "skip": true })),
    ];
    let trips = app.round_trips(Endpoint::P5, &user, calls).await;
    assert!(trips.iter().all(|(_, _, n)| *n <= 2), "{trips:?}");
    assert_eq!(
        trips.iter().map(|(_, s, _)| *s).collect::<Vec<_>>(),
        [204, 422, 422, 204, 204]
    );
    println!("DynamoDB round trips per P5 call: {trips:?}");
}

#[tokio::test]
async fn a_pin_change_costs_two_dynamodb_round_trips() {
    let app = spawn_app().await;
    let (user, _) = user_with_pin(&app, "p6trips").await;
    let calls = [
        (
            "right password",
            json!({ "pin": "1122", "password": PASSWORD }),
        ),
        (
            "wrong password",
            json!({ "pin": "3344", "password": "not-the-password" }),
        ),
    ];
    let trips = app.round_trips(Endpoint::P6, &user, calls).await;
    assert_eq!(
        trips.iter().map(|(_, s, n)| (*s, *n)).collect::<Vec<_>>(),
        [(204, 2), (403, 2)],
        "{trips:?}"
    );
    println!("DynamoDB round trips per P6 call: {trips:?}");
}

mod twin {
    use super::*;
    use integration_tests::{spawn_twin, spawn_twin_with};

    #[tokio::test]
    async fn after_24_hours_the_counter_is_fresh() {
        let app = spawn_twin().await;
        let (user, _) = user_with_pin(&app, "window").await;
        for _ in 0..4 {
            p5_pin(&app, &user, WRONG).await;
        }
        app.clock.advance_seconds(24 * 3600 - 1);
        assert_eq!(
            p5_pin(&app, &user, PIN).await.status(),
            410,
            "one second before the end"
        );
        app.clock.advance_seconds(1);
        assert_eq!(pin_failures(&app, &user).await, 0);
        let response = p5_pin(&app, &user, WRONG).await;
        assert_eq!(response.status(), 422);
        assert_eq!(
            json_body(&response)["errors"][0]["meta"]["remainingAttempts"],
            2
        );
        assert_eq!(p5_pin(&app, &user, PIN).await.status(), 204);
    }

    #[tokio::test]
    async fn p4_and_p5_share_one_counter() {
        let app = spawn_twin().await;
        let (user, _) = user_with_pin(&app, "shared").await;
        let body = json!({ "password": NEW_PASSWORD }).to_string();
        assert_eq!(p5_pin(&app, &user, WRONG).await.status(), 422);
        assert_eq!(p5_pin(&app, &user, WRONG).await.status(), 422);
        let third = p4(&app, &user, Some(WRONG), &body).await;
        assert_eq!(third.status(), 403);
        assert_eq!(
            json_body(&third)["errors"][0]["meta"]["remainingAttempts"],
            0
        );
        assert_eq!(p4(&app, &user, Some(WRONG), &body).await.status(), 410);
        assert!(app.stored_user(&user).await.payment_methods.is_empty());
        assert_eq!(deletion_events(&app, &user).await, 1);
        assert!(
            app.password_is(&user, PASSWORD).await,
            "the password is unchanged"
        );
    }

    #[tokio::test]
    async fn malformed_callback_bodies_are_400_and_leave_the_counter_alone() {
        let app = spawn_twin().await;
        let (user, _) = user_with_pin(&app, "malformed").await;
        p5_pin(&app, &user, WRONG).await;
        let bodies = [
            r#"{"pin": 1234}"#,
            r#"{"pin": "123"}"#,
            r#"{"pin": "12345"}"#,
            r#"{"pin": "12a4"}"#,
            r#"{"pin": "١٢٣٤"}"#,
            r#"{"pin": " 123"}"#,
            r#"{"pin": null}"#,
            r#"{"pin": null, "skip": false}"#,
            r#"{"pin": ["1234"]}"#,
            r#"{"pin": {"value": "1234"}}"#,
            r#"{}"#,
            r#"{"skip": false}"#,
            r#"{"skip": "true"}"#,
            r#"{"pin": "2468", "skip": true}"#,
            r#"[]"#,
            r#"{"pin": "#,
        ];
        for body in bodies {
            let response = p5(&app, &user, body).await;
            assert_eq!(response.status(), 400, "{body}");
            assert_eq!(
                response.headers()["content-type"],
                "application/vnd.api+json"
            );
            assert_eq!(json_body(&response)["errors"][0]["status"], "400", "{body}");
        }
        assert_eq!(pin_failures(&app, &user).await, 1);
        assert_eq!(app.stored_user(&user).await.payment_methods.len(), 2);
    }

    #[tokio::test]
    async fn skipping_the_proof_deletes_the_data() {
        let app = spawn_twin().await;
        let (user, email) = user_with_pin(&app, "skip").await;
        assert_eq!(p5(&app, &user, r#"{"skip": true}"#).await.status(), 204);
        let stored = app.stored_user(&user).await;
        assert!(stored.payment_methods.is_empty());
        assert!(stored.critical_data_deleted_at.is_some());
        assert_eq!(deletion_events(&app, &user).await, 1);
        assert_eq!(app.mails_to(&email).len(), 1);
    }

    #[tokio::test]
    async fn without_a_pin_the_callback_is_404_unless_skipping() {
        let app = spawn_twin().await;
        let user = app
            .create_user_with(&unique_email("nopin"), |u| {
                u.payment_methods = vec!["pm_1".into()]
            })
            .await;
        let response = p5_pin(&app, &user, PIN).await;
        assert_eq!(response.status(), 404);
        assert_eq!(error_code(&response), "no-proof-defined");
        assert_eq!(p5(&app, &user, r#"{"skip": true}"#).await.status(), 204);
        assert!(app.stored_user(&user).await.payment_methods.is_empty());
    }

    #[tokio::test]
    async fn a_required_scope_is_enforced_where_configured() {
        let app = spawn_twin_with(|s| {
            s.insert("CALLBACK_REQUIRED_SCOPE".into(), "password:callback".into());
        })
        .await;
        let (user, _) = user_with_pin(&app, "scoped").await;
        let response = p5_pin(&app, &user, PIN).await;
        assert_eq!(response.status(), 403);
        assert_eq!(error_code(&response), "insufficient-scope");
        let scoped = app.token_with(user.id.as_str(), |c| {
            c.insert("scope".into(), json!("password:callback"));
        });
        assert_eq!(
            app.p5_callback(&scoped, r#"{"pin":"2468"}"#).await.status(),
            204
        );
    }

    #[tokio::test]
    async fn a_failing_write_in_the_middle_of_a_pin_check_is_501_and_changes_nothing() {
        let app = spawn_twin().await;
        let (user, _) = user_with_pin(&app, "midfail").await;
        for _ in 0..3 {
            p5_pin(&app, &user, WRONG).await;
        }
        let failing = app.with_failing(&["record_pin_failure", "clear_pin_failures"]);
        assert_eq!(
            p5_pin(&failing, &user, WRONG).await.status(),
            501,
            "the deciding failure cannot be written"
        );
        assert_eq!(p5_pin(&failing, &user, PIN).await.status(), 501);
        assert_eq!(pin_failures(&app, &user).await, 3);
        let stored = app.stored_user(&user).await;
        assert_eq!(stored.payment_methods.len(), 2);
        assert_eq!(stored.sequence, user.sequence);
        assert_eq!(deletion_events(&app, &user).await, 0);
        assert_eq!(
            p5_pin(&app, &user, PIN).await.status(),
            204,
            "consistent afterwards"
        );
    }

    #[tokio::test]
    async fn p4_reads_the_pin_from_the_body_too() {
        let app = spawn_twin().await;
        let (user, _) = user_with_pin(&app, "p4body").await;
        let body = json!({ "password": NEW_PASSWORD, "pin": PIN }).to_string();
        assert_eq!(p4(&app, &user, None, &body).await.status(), 204);
        assert_eq!(app.stored_user(&user).await.payment_methods.len(), 2);
        let differing = json!({ "password": "another-fine-password-9", "pin": WRONG }).to_string();
        assert_eq!(p4(&app, &user, Some(PIN), &differing).await.status(), 400);
    }

    #[tokio::test]
    async fn a_wrong_pin_names_where_it_came_from() {
        let app = spawn_twin().await;
        let (user, _) = user_with_pin(&app, "p4source").await;
        let body = json!({ "password": NEW_PASSWORD }).to_string();
        let from_query = p4(&app, &user, Some(WRONG), &body).await;
        assert_eq!(from_query.status(), 403);
        let error = &json_body(&from_query)["errors"][0];
        assert_eq!(error["source"], json!({ "parameter": "pin" }), "{error}");

        let in_body = json!({ "password": NEW_PASSWORD, "pin": WRONG }).to_string();
        let from_body = p4(&app, &user, None, &in_body).await;
        assert_eq!(from_body.status(), 403);
        let error = &json_body(&from_body)["errors"][0];
        assert_eq!(error["source"], json!({ "pointer": "/pin" }), "{error}");
    }

    #[tokio::test]
    async fn null_means_absent_for_every_field_of_the_callback() {
        let app = spawn_twin().await;
        let (user, _) = user_with_pin(&app, "p5null").await;
        let absent = p5(&app, &user, "{}").await;
        let null = p5(&app, &user, r#"{"pin": null}"#).await;
        assert_eq!(null.status(), 400);
        assert_eq!(error_code(&null), error_code(&absent));
        assert_eq!(
            json_body(&null)["errors"][0]["source"],
            json_body(&absent)["errors"][0]["source"]
        );
        let skipped = p5(&app, &user, r#"{"pin": null, "skip": true}"#).await;
        assert_eq!(skipped.status(), 204, "as {{\"skip\": true}} alone");
        assert!(app.stored_user(&user).await.payment_methods.is_empty());
    }

    #[tokio::test]
    async fn p4_without_a_pin_resets_the_password_and_deletes_the_data() {
        let app = spawn_twin().await;
        let (user, email) = user_with_pin(&app, "p4nopin").await;
        let response = p4(
            &app,
            &user,
            None,
            &json!({ "password": NEW_PASSWORD }).to_string(),
        )
        .await;
        assert_eq!(response.status(), 204);
        assert!(app.password_is(&user, NEW_PASSWORD).await);
        let stored = app.stored_user(&user).await;
        assert!(stored.payment_methods.is_empty());
        assert_eq!(
            stored.sequence,
            user.sequence + 2,
            "two changes, two events"
        );
        let events = app.services.store.audit_events(&user.id).await.unwrap();
        let kinds: Vec<&str> = events
            .iter()
            .rev()
            .take(2)
            .map(|e| e.event_type.as_str())
            .collect();
        assert_eq!(kinds, ["user.critical_data.deleted", "user.password.reset"]);
        assert_eq!(app.mails_to(&email).len(), 2, "the reset and the deletion");
    }

    #[tokio::test]
    async fn replacing_a_pin_needs_the_current_password() {
        let app = spawn_twin().await;
        let (user, _) = user_with_pin(&app, "replace").await;
        let missing = p6(&app, &user, r#"{"pin": "1111"}"#).await;
        assert_eq!(missing.status(), 400);
        assert_eq!(
            json_body(&missing)["errors"][0]["source"]["pointer"],
            "/password"
        );
        let wrong = p6(
            &app,
            &user,
            r#"{"pin": "1111", "password": "not-my-password-1"}"#,
        )
        .await;
        assert_eq!(wrong.status(), 403);
        assert_eq!(error_code(&wrong), "password-invalid");
        let right = p6(
            &app,
            &user,
            &json!({ "pin": "1111", "password": PASSWORD }).to_string(),
        )
        .await;
        assert_eq!(right.status(), 204);
        assert_eq!(p5_pin(&app, &user, "1111").await.status(), 204);
        assert_eq!(
            p5_pin(&app, &user, PIN).await.status(),
            422,
            "the old PIN is gone"
        );
    }

    #[tokio::test]
    async fn a_password_hashed_with_older_parameters_is_rehashed_when_it_proves_a_pin_change() {
        let app = spawn_twin().await;
        let older = password_service::hashing::PasswordHasher::new(
            argon2::Params::new(1024, 1, 1, None).unwrap(),
        );
        let accepted = password_service::domain::PasswordPolicy::new(1)
            .accept(
                &Secret::new(PASSWORD),
                &password_service::domain::Email::parse("old.hash@example.com").unwrap(),
            )
            .unwrap();
        let old_hash = older.hash(accepted).await.unwrap();
        let user = app
            .create_user_with(&unique_email("oldhash"), |u| {
                u.password_hash = Some(old_hash.clone())
            })
            .await;
        let response = p6(
            &app,
            &user,
            &json!({ "pin": PIN, "password": PASSWORD }).to_string(),
        )
        .await;
        assert_eq!(response.status(), 204);
        let stored = app.stored_user(&user).await;
        let new_hash = stored.password_hash.clone().unwrap();
        assert!(
            new_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{new_hash}"
        );
        assert!(app.password_is(&user, PASSWORD).await, "the same password");
        assert_eq!(
            stored.sequence,
            user.sequence + 1,
            "only the PIN change counts"
        );

        let wrong = p6(
            &app,
            &user,
            &json!({ "pin": PIN, "password": "not-it-at-all" }).to_string(),
        )
        .await;
        assert_eq!(wrong.status(), 403);
        assert_eq!(app.stored_user(&user).await.password_hash, Some(new_hash));
    }

    #[tokio::test]
    async fn wrong_passwords_at_p6_hit_the_wrong_secret_limit() {
        let app = spawn_twin_with(|s| {
            s.insert("RATE_LIMIT_WRONG_SECRETS_PER_HOUR".into(), "2".into());
        })
        .await;
        let (user, _) = user_with_pin(&app, "p6limit").await;
        for _ in 0..2 {
            assert_eq!(
                p6(
                    &app,
                    &user,
                    r#"{"pin": "1111", "password": "wrong-password-x"}"#
                )
                .await
                .status(),
                403
            );
        }
        let right = p6(
            &app,
            &user,
            &json!({ "pin": "1111", "password": PASSWORD }).to_string(),
        )
        .await;
        assert_eq!(
            right.status(),
            429,
            "right or wrong, once the limit is reached"
        );
        assert!(right.headers().contains_key("retry-after"));
    }

    #[tokio::test]
    async fn malformed_pins_at_p6_are_400() {
        let app = spawn_twin().await;
        let user = app.create_user(&unique_email("p6bad")).await;
        for body in [
            r#"{"pin": 1234}"#,
            r#"{"pin": "12a4"}"#,
            r#"{"pin": null}"#,
            r#"{}"#,
            r#"{"pin": "1234", "password": 5}"#,
        ] {
            assert_eq!(p6(&app, &user, body).await.status(), 400, "{body}");
        }
        assert!(app.stored_user(&user).await.pin_hmac.is_none());
    }
}

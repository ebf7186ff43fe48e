//! O1 `POST /v1/users/{user_id}/reset-password`, the admin API: every status,
//! the SPEC's exact bodies, and what a reset stores and sends.

use integration_tests::{json_body, spawn_app, spawn_app_with, unique_email, Endpoint, TestApp};
use lambda_http::{Body, Response};
use serde_json::{json, Value};

const OLD_PASSWORD: &str = "amber-harbor-lighthouse-7";
const NEW_PASSWORD: &str = "quiet-meadow-tractor-51";

/// O1 by `admin`: `user_id`'s new password is `password`.
async fn reset(app: &TestApp, admin: &str, user_id: &str, password: &str) -> Response<Body> {
    let body = json!({ "new_password": password }).to_string();
    app.o1_admin_reset(Some(admin), user_id, &body).await
}

#[tokio::test]
async fn an_admin_resets_a_password() {
    let app = spawn_app().await;
    let email = unique_email("reset");
    let user = app.create_user_with_password(&email, OLD_PASSWORD).await;
    let admin = app.admin_token_for("admin-operator-1");
    let response = reset(&app, &admin, user.id.as_str(), NEW_PASSWORD).await;
    assert_eq!(response.status(), 204);
    assert!(response.body().is_empty());

    assert!(app.password_is(&user, NEW_PASSWORD).await);
    let stored = app.stored_user(&user).await;
    assert!(stored.change_required);
    assert_eq!(stored.sequence, user.sequence + 1);
    use password_service::clock::Clock;
    assert_eq!(stored.sessions_not_before, Some(app.clock.now_seconds()));
    let events = app.services.store.audit_events(&user.id).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (last.sequence, last.event_type.as_str(), last.actor.as_str()),
        (stored.sequence, "user.password.reset", "admin-operator-1")
    );
    let mails = app.mails_to(&email);
    assert_eq!(mails.last().unwrap().subject, "Your password was reset");
    assert!(!mails.last().unwrap().body.contains(NEW_PASSWORD));
}

#[tokio::test]
async fn no_or_invalid_token_is_401_in_the_admin_shape() {
    let app = spawn_app().await;
    let user = app.create_user(&unique_email("noauth")).await;
    for bearer in [None, Some("not.a.jwt")] {
        let response = app
            .o1_admin_reset(bearer, user.id.as_str(), r#"{"new_password":"x"}"#)
            .await;
        assert_eq!(response.status(), 401);
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        let body = json_body(&response);
        assert_eq!(body["code"], 401);
        assert_eq!(body["message"], "Unauthorized");
        assert!(body["description"].is_string());
    }
}

#[tokio::test]
async fn a_token_without_the_scope_is_403() {
    let app = spawn_app().await;
    let user = app.create_user(&unique_email("noscope")).await;
    let response = app
        .o1_admin_reset(
            Some(&app.token_for(user.id.as_str())),
            user.id.as_str(),
            &json!({"new_password": NEW_PASSWORD}).to_string(),
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(json_body(&response)["code"], 403);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    assert!(app.stored_user(&user).await.password_hash.is_none());
}

#[tokio::test]
async fn an_unknown_user_is_404() {
    let app = spawn_app().await;
    let response = reset(
        &app,
        &app.admin_token(),
        "0123456789abcdef01234567",
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(response.status(), 404);
    assert_eq!(json_body(&response)["code"], 404);
}

#[tokio::test]
async fn body_errors_have_the_exact_bodies_of_the_contract() {
    let app = spawn_app().await;
    let user = app.create_user(&unique_email("bodies")).await;
    let admin = app.admin_token();
    let missing = json!({"code": 400, "message": "Required fields were not provided...", "description": "new_password is required!"});
    let empty = json!({"code": 400, "message": "One or more request fields are invalid...", "description": "new_password must have at least one character!"});
    let not_string = json!({"code": 400, "message": "One or more request fields are invalid...", "description": "new_password must be a string!"});
    let cases = [
        ("{}", &missing),
        (r#"{"password": "x"}"#, &missing),
        (r#"{"new_password": ""}"#, &empty),
        (r#"{"new_password": 12345678}"#, &not_string),
        // `null` means absent, for every field of every family.
        (r#"{"new_password": null}"#, &missing),
        (r#"{"new_password": ["a", "b"]}"#, &not_string),
        (r#"{"new_password": {"nested": "object"}}"#, &not_string),
        (r#"{"new_password": true}"#, &not_string),
    ];
    for (request_body, expected) in cases {
        let response = app
            .o1_admin_reset(Some(&admin), user.id.as_str(), request_body)
            .await;
        assert_eq!(response.status(), 400, "{request_body}");
        assert_eq!(&json_body(&response), expected, "{request_body}");
        assert_eq!(response.headers()["content-type"], "application/json");
    }
    assert!(app.stored_user(&user).await.password_hash.is_none());
}

#[tokio::test]
async fn oversized_and_non_utf8_bodies_are_4xx_in_the_admin_shape() {
    let app = spawn_app().await;
    let user = app.create_user(&unique_email("big")).await;
    let big = json!({"new_password": "z".repeat(17 * 1024)}).to_string();
    let response = app
        .o1_admin_reset(Some(&app.admin_token()), user.id.as_str(), &big)
        .await;
    assert_eq!(response.status(), 413);
    assert_eq!(json_body(&response)["code"], 413);

    let response = app
        .call(Endpoint::O1)
        .bearer(&app.admin_token())
        .user(user.id.as_str())
        .without_header("content-type")
        .bytes(vec![b'{', 0xFF, 0xFE, b'}'])
        .send()
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(json_body(&response)["code"], 400);
}

#[tokio::test]
async fn admin_resets_are_limited_per_admin_per_minute() {
    let app = spawn_app_with(|s| {
        s.insert("RATE_LIMIT_ADMIN_RESETS_PER_MINUTE".into(), "3".into());
    })
    .await;
    let subject = format!("admin-{}", password_service::domain::random_hex(4));
    let admin = app.admin_token_for(&subject);
    let user = app.create_user(&unique_email("hammered")).await;
    for i in 0..3 {
        let password = format!("{NEW_PASSWORD}-{i}");
        let response = reset(&app, &admin, user.id.as_str(), &password).await;
        assert_eq!(response.status(), 204, "reset {i}");
    }
    let limited = reset(&app, &admin, user.id.as_str(), "another-good-one-77").await;
    assert_eq!(limited.status(), 429);
    assert_eq!(json_body(&limited)["code"], 429);
    let wait: i64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");

    app.clock.advance_seconds(wait);
    let response = reset(&app, &admin, user.id.as_str(), "another-good-one-77").await;
    assert_eq!(response.status(), 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twelve_concurrent_resets_against_a_limit_of_five_reset_exactly_five() {
    let app = spawn_app_with(|s| {
        s.insert("RATE_LIMIT_ADMIN_RESETS_PER_MINUTE".into(), "5".into());
    })
    .await;
    let admin = app.admin_token();
    let mut users = Vec::new();
    for i in 0..12 {
        users.push(app.create_user(&unique_email(&format!("bulk{i}"))).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for user in users.clone() {
        let (app, admin) = (app.clone(), admin.clone());
        tasks.spawn(async move {
            reset(&app, &admin, user.id.as_str(), NEW_PASSWORD)
                .await
                .status()
                .as_u16()
        });
    }
    let statuses = tasks.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        7,
        "{statuses:?}"
    );
    let mut with_password = 0;
    for user in &users {
        with_password += usize::from(app.stored_user(user).await.password_hash.is_some());
    }
    assert_eq!(with_password, 5);
}

mod twin {
    use super::*;
    use integration_tests::{spawn_twin, spawn_twin_with};

    #[tokio::test]
    async fn a_reset_ends_the_users_older_sessions() {
        let app = spawn_twin().await;
        let user = app
            .create_user_with_password(&unique_email("sessions"), OLD_PASSWORD)
            .await;
        let users_token = app.token_for(user.id.as_str());
        app.clock.advance_seconds(5);
        let response = reset(&app, &app.admin_token(), user.id.as_str(), NEW_PASSWORD).await;
        assert_eq!(response.status(), 204);
        assert_eq!(app.p1_request_link(&users_token).await.status(), 401);
        assert_eq!(
            app.p1_request_link(&app.token_for(user.id.as_str()))
                .await
                .status(),
            409,
            "a new token works"
        );
    }

    #[tokio::test]
    async fn with_the_flag_off_a_reset_that_happened_leaves_no_change_required() {
        let app = spawn_twin_with(|s| {
            s.insert("ADMIN_RESET_SETS_CHANGE_REQUIRED".into(), "false".into());
        })
        .await;
        let user = app
            .create_user_with_password(&unique_email("nochange"), OLD_PASSWORD)
            .await;
        let response = reset(&app, &app.admin_token(), user.id.as_str(), NEW_PASSWORD).await;
        // The flag is false after a reset that happened, not one that failed.
        assert_eq!(response.status(), 204);
        assert!(app.password_is(&user, NEW_PASSWORD).await);
        assert!(!app.stored_user(&user).await.change_required);
    }

    #[tokio::test]
    async fn a_user_without_a_password_gets_one() {
        let app = spawn_twin().await;
        let user = app.create_user(&unique_email("first")).await;
        let response = reset(
            &app,
            &app.admin_token(),
            &user.id.as_str().to_uppercase(),
            NEW_PASSWORD,
        )
        .await;
        assert_eq!(response.status(), 204);
        assert!(app.password_is(&user, NEW_PASSWORD).await);
    }

    /// O1 by an admin with `body` for `user_id`: 400 in the admin shape; its body.
    async fn bad_request(app: &TestApp, user_id: &str, body: &str) -> Value {
        let response = app
            .o1_admin_reset(Some(&app.admin_token()), user_id, body)
            .await;
        assert_eq!(response.status(), 400, "{user_id} {body}");
        let body = json_body(&response);
        assert_eq!(body["code"], 400);
        body
    }

    #[tokio::test]
    async fn a_malformed_user_id_is_400_naming_the_format() {
        let app = spawn_twin().await;
        for id in [
            "xyz",
            "0123456789abcdef0123456",
            "0123456789abcdef012345678",
            "0123456789abcdef0123456g",
        ] {
            let body = bad_request(&app, id, r#"{"new_password":"x"}"#).await;
            assert!(
                body["description"]
                    .as_str()
                    .unwrap()
                    .contains("^[0-9a-fA-F]{24}$"),
                "{body}"
            );
        }
    }

    #[tokio::test]
    async fn invalid_json_is_400_invalid_json_format() {
        let app = spawn_twin().await;
        let user = app.create_user(&unique_email("json")).await;
        for request_body in ["{", "not json", "[1, 2]", "\"new_password\""] {
            let body = bad_request(&app, user.id.as_str(), request_body).await;
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Invalid JSON format"),
                "{body}"
            );
            assert!(!body["description"].as_str().unwrap().is_empty());
        }
    }

    #[tokio::test]
    async fn policy_violations_are_400_saying_why() {
        let app = spawn_twin().await;
        let email = unique_email("policy");
        let user = app.create_user_with_password(&email, OLD_PASSWORD).await;
        let local = email.split('@').next().unwrap().to_string();
        let cases = [
            ("short", "password-too-short"),
            ("password123", "password-too-common"),
            (OLD_PASSWORD, "password-unchanged"),
        ];
        let with_name = format!("{local}-2024!");
        let huge = "y".repeat(10_000);
        for (password, code) in cases.iter().copied().chain([
            (with_name.as_str(), "password-contains-user-data"),
            (huge.as_str(), "password-too-long"),
        ]) {
            let response = reset(&app, &app.admin_token(), user.id.as_str(), password).await;
            assert_eq!(response.status(), 400, "{code}");
            let body = json_body(&response);
            assert_eq!(body["message"], "One or more request fields are invalid...");
            assert!(
                body["description"].as_str().unwrap().contains(code),
                "{body}"
            );
        }
        assert!(app.password_is(&user, OLD_PASSWORD).await);
    }

    #[tokio::test]
    async fn the_emails_name_is_found_in_any_case_and_width() {
        let app = spawn_twin().await;
        let strasse = app
            .create_user_with_password(
                &format!(
                    "STRASSE.{}@example.com",
                    password_service::domain::random_hex(3)
                ),
                OLD_PASSWORD,
            )
            .await;
        let local_part = strasse.email.local_part().to_string();
        let candidate = format!("my-{}-99", local_part.to_lowercase().replace("ss", "ß"));
        let response = reset(&app, &app.admin_token(), strasse.id.as_str(), &candidate).await;
        assert_eq!(response.status(), 400, "{candidate}");
        assert!(
            json_body(&response)["description"]
                .as_str()
                .unwrap()
                .contains("password-contains-user-data"),
            "{}",
            json_body(&response)
        );
        assert!(app.password_is(&strasse, OLD_PASSWORD).await);
    }
}

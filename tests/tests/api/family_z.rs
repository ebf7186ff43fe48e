//! Family Z: Z1 `POST /v2/users/{userId}/password_reset` and Z2
//! `POST /v2/users/{userId}/password`, with gRPC-status errors, against the
//! emulator: codes read from the captured email, expiry, wrong tries,
//! concurrency, field violations, and `details` matching the audit trail.

use integration_tests::{json_body, spawn_app, spawn_app_with, unique_email, Endpoint, TestApp};
use lambda_http::{Body, Response};
use password_service::domain::User;
use serde_json::{json, Value};

const PASSWORD: &str = "amber-harbor-lighthouse-7";
const NEW_PASSWORD: &str = "quiet-meadow-tractor-51";

async fn z1(app: &TestApp, bearer: &str, user: &User, body: &str) -> Response<Body> {
    app.z1_reset_code(bearer, user.id.as_str(), body).await
}

async fn z2(app: &TestApp, bearer: &str, user: &User, body: Value) -> Response<Body> {
    app.z2_set_password(bearer, user.id.as_str(), &body).await
}

/// Z2 by the user themself, with a token issued now.
async fn own_z2(app: &TestApp, user: &User, body: Value) -> Response<Body> {
    z2(app, &app.token_for(user.id.as_str()), user, body).await
}

fn with_code(code: &str, password: &str) -> Value {
    json!({ "newPassword": { "password": password }, "verificationCode": code })
}

fn with_current(current: &str, password: &str) -> Value {
    json!({ "newPassword": { "password": password }, "currentPassword": current })
}

/// Z1 as `bearer`, the link with the default template: the code in the mail
/// it sends `email`.
async fn mailed_code(app: &TestApp, bearer: &str, user: &User, email: &str) -> String {
    z1(app, bearer, user, "{}").await;
    app.code_from_latest_mail(email)
}

/// The code a Z1 answered with (`returnCode`).
fn returned_code(response: &Response<Body>) -> String {
    json_body(response)["verificationCode"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The `details.sequence` of a Z1 or Z2 answer.
fn sequence_of(response: &Response<Body>) -> u64 {
    json_body(response)["details"]["sequence"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn grpc_code(response: &Response<Body>) -> i64 {
    json_body(response)["code"].as_i64().unwrap_or(-1)
}

fn violated_fields(response: &Response<Body>) -> Vec<String> {
    json_body(response)["details"][0]["fieldViolations"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|f| f["field"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn user_with_password(app: &TestApp, name: &str) -> (User, String) {
    let email = unique_email(name);
    (app.create_user_with_password(&email, PASSWORD).await, email)
}

#[tokio::test]
async fn a_mailed_code_changes_the_password() {
    let app = spawn_app().await;
    let (user, email) = user_with_password(&app, "zflow").await;
    let me = app.token_for(user.id.as_str());
    let template = "https://app.example/reset?user={{.UserID}}&code={{.Code}}&org={{.OrgID}}";
    let body = json!({ "sendLink": { "notificationType": "NOTIFICATION_TYPE_Email", "urlTemplate": template } });
    let issued = z1(&app, &me, &user, &body.to_string()).await;
    assert_eq!(issued.status(), 200);
    assert_eq!(issued.headers()["content-type"], "application/json");
    let details = &json_body(&issued)["details"];
    assert_eq!(details["sequence"], (user.sequence + 1).to_string());
    assert_eq!(details["resourceOwner"], "org-test");
    let change_date = details["changeDate"].as_str().unwrap();
    assert!(
        change_date.ends_with('Z') && change_date.len() == 24,
        "{change_date}"
    );
    assert!(json_body(&issued).get("verificationCode").is_none());

    let code = app.code_from_latest_mail(&email);
    let mail = app.mails_to(&email).pop().unwrap();
    assert!(
        mail.body.contains(&format!(
            "https://app.example/reset?user={}&code={code}&org=org-test",
            user.id
        )),
        "{}",
        mail.body
    );

    let changed = z2(&app, &me, &user, json!({ "newPassword": { "password": NEW_PASSWORD, "changeRequired": true }, "verificationCode": code })).await;
    assert_eq!(changed.status(), 200, "{}", json_body(&changed));
    assert_eq!(
        json_body(&changed)["details"]["sequence"],
        (user.sequence + 2).to_string()
    );
    assert!(app.password_is(&user, NEW_PASSWORD).await);
    let stored = app.stored_user(&user).await;
    assert!(stored.change_required);
    assert!(stored.sessions_not_before.is_some());
    assert_eq!(
        app.mails_to(&email).last().unwrap().subject,
        "Your password was changed"
    );

    let reused = own_z2(&app, &user, with_code(&code, "yet-another-password-88")).await;
    assert_eq!(reused.status(), 400);
    assert_eq!(grpc_code(&reused), 3);
    assert_eq!(violated_fields(&reused), ["verificationCode"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_changes_with_one_code_succeed_once() {
    let app = std::sync::Arc::new(spawn_app().await);
    let (user, email) = user_with_password(&app, "zrace").await;
    let me = app.token_for(user.id.as_str());
    let code = mailed_code(&app, &me, &user, &email).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (app, user, me, code) = (app.clone(), user.clone(), me.clone(), code.clone());
        tasks.spawn(async move {
            let response = z2(
                &app,
                &me,
                &user,
                with_code(&code, &format!("{NEW_PASSWORD}-{i}")),
            )
            .await;
            (response.status().as_u16(), grpc_code(&response))
        });
    }
    let answers = tasks.join_all().await;
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{answers:?}"
    );
    assert!(
        answers.iter().all(|a| a.0 == 200 || *a == (400, 3)),
        "{answers:?}"
    );
    let changes = app
        .services
        .store
        .audit_events(&user.id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event_type == "user.password.changed")
        .count();
    assert_eq!(changes, 1);
}

#[tokio::test]
async fn too_many_wrong_secrets_are_429_then_right_or_wrong() {
    let app = spawn_app_with(|s| {
        s.insert("RATE_LIMIT_WRONG_SECRETS_PER_HOUR".into(), "3".into());
    })
    .await;
    let (user, _) = user_with_password(&app, "zlimit").await;
    let me = app.token_for(user.id.as_str());
    let attempt = |current: &str| with_current(current, NEW_PASSWORD);
    for _ in 0..3 {
        assert_eq!(
            grpc_code(&z2(&app, &me, &user, attempt("wrong-one")).await),
            3
        );
    }
    let limited = z2(&app, &me, &user, attempt(PASSWORD)).await;
    assert_eq!((limited.status().as_u16(), grpc_code(&limited)), (429, 8));
    let wait: i64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait));
    assert!(app.password_is(&user, PASSWORD).await);
    app.clock.advance_seconds(wait);
    let me = app.token_for(user.id.as_str());
    assert_eq!(z2(&app, &me, &user, attempt(PASSWORD)).await.status(), 200);
}

#[tokio::test]
async fn strangers_get_403_whether_or_not_the_user_exists() {
    let app = spawn_app().await;
    let (user, _) = user_with_password(&app, "ztarget").await;
    let stranger = app.token_for("ffffffffffffffffffffffff");
    let ghost = app.create_user_with(&unique_email("ghost"), |_| {}).await;
    let missing = User {
        id: password_service::domain::UserId::parse("0123456789abcdef01234567").unwrap(),
        ..ghost
    };
    for target in [&user, &missing] {
        for response in [
            z1(&app, &stranger, target, "{}").await,
            z2(&app, &stranger, target, with_code("ABC123", NEW_PASSWORD)).await,
            z2(&app, &stranger, target, json!({})).await,
        ] {
            assert_eq!((response.status().as_u16(), grpc_code(&response)), (403, 7));
        }
    }
}

#[tokio::test]
async fn return_code_is_for_admins_and_unknown_users_are_404() {
    let app = spawn_app().await;
    let (user, _) = user_with_password(&app, "zreturn").await;
    let own = z1(
        &app,
        &app.token_for(user.id.as_str()),
        &user,
        r#"{"returnCode": {}}"#,
    )
    .await;
    assert_eq!((own.status().as_u16(), grpc_code(&own)), (403, 7));

    let admin = app.admin_token();
    let returned = z1(&app, &admin, &user, r#"{"returnCode": {}}"#).await;
    assert_eq!(returned.status(), 200);
    let code = returned_code(&returned);
    assert_eq!(code.len(), 6);
    assert_eq!(
        own_z2(&app, &user, with_code(&code.to_lowercase(), NEW_PASSWORD))
            .await
            .status(),
        200
    );

    let ghost = app
        .z1_reset_code(&admin, "0123456789abcdef01234567", "{}")
        .await;
    assert_eq!((ghost.status().as_u16(), grpc_code(&ghost)), (404, 5));
    let ghost = app
        .z2_set_password(
            &admin,
            "not-one-of-ours",
            &json!({ "newPassword": { "password": NEW_PASSWORD } }),
        )
        .await;
    assert_eq!((ghost.status().as_u16(), grpc_code(&ghost)), (404, 5));
}

#[tokio::test]
async fn an_admins_older_token_ends_with_the_admins_own_password_change() {
    let app = spawn_app().await;
    let (admin_user, _) = user_with_password(&app, "zadminuser").await;
    let (user, _) = user_with_password(&app, "zadmintarget").await;
    let old_admin_token = app.admin_token_for(admin_user.id.as_str());
    app.clock.advance_seconds(1);
    let own_change = own_z2(&app, &admin_user, with_current(PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(own_change.status(), 200);

    let change = z2(
        &app,
        &old_admin_token,
        &user,
        json!({ "newPassword": { "password": "a-third-password-99" } }),
    )
    .await;
    assert_eq!((change.status().as_u16(), grpc_code(&change)), (401, 16));
    let code = z1(&app, &old_admin_token, &user, r#"{"returnCode": {}}"#).await;
    assert_eq!((code.status().as_u16(), grpc_code(&code)), (401, 16));
    assert!(app.password_is(&user, PASSWORD).await, "nothing changed");
    assert_eq!(app.stored_user(&user).await.sequence, user.sequence);

    let new_admin_token = app.admin_token_for(admin_user.id.as_str());
    let code = z1(&app, &new_admin_token, &user, r#"{"returnCode": {}}"#).await;
    assert_eq!(code.status(), 200, "a token issued after the change works");
}

#[tokio::test]
async fn malformed_bodies_are_400_code_3_never_5xx() {
    let app = spawn_app().await;
    let (user, _) = user_with_password(&app, "zbodies").await;
    let me = app.token_for(user.id.as_str());
    for (endpoint, body) in [
        (Endpoint::Z2, b"{".to_vec()),
        (Endpoint::Z2, b"[]".to_vec()),
        (Endpoint::Z1, b"null".to_vec()),
        (Endpoint::Z2, vec![b'{', 0xC3, 0x28, b'}']),
    ] {
        let response = app
            .call(endpoint)
            .bearer(&me)
            .user(user.id.as_str())
            .without_header("content-type")
            .bytes(body.clone())
            .send()
            .await;
        assert_eq!(
            (response.status().as_u16(), grpc_code(&response)),
            (400, 3),
            "{body:?}"
        );
    }
    for body in [
        r#"{"sendLink": "yes"}"#,
        r#"{"sendLink": {"urlTemplate": "javascript:alert(1)"}}"#,
        r#"{"sendLink": {"urlTemplate": "https://evil.example/steal?code={{.Code}}"}}"#,
        r#"{"sendLink": {"urlTemplate": "http://app.example/reset?code={{.Code}}"}}"#,
        r#"{"sendLink": {"urlTemplate": "/relative/path"}}"#,
        r#"{"sendLink": {"notificationType": "NOTIFICATION_TYPE_Sms"}}"#,
        r#"{"returnCode": []}"#,
        r#"{"sendLink": {}, "returnCode": {}}"#,
    ] {
        let response = z1(&app, &app.token_for(user.id.as_str()), &user, body).await;
        assert_eq!(
            (response.status().as_u16(), grpc_code(&response)),
            (400, 3),
            "{body}"
        );
    }
    let big = format!(
        r#"{{"newPassword": {{"password": "{}"}}}}"#,
        "z".repeat(17 * 1024)
    );
    let response = own_z2(&app, &user, serde_json::from_str(&big).unwrap()).await;
    assert_eq!(response.status(), 413);
    assert_eq!(grpc_code(&response), 3);
    let no_token = app
        .z2_set_password("not-a-token", user.id.as_str(), &json!({}))
        .await;
    assert_eq!(
        (no_token.status().as_u16(), grpc_code(&no_token)),
        (401, 16)
    );
}

#[tokio::test]
async fn a_change_by_the_user_costs_two_dynamodb_round_trips() {
    let app = spawn_app().await;
    let (user, email) = user_with_password(&app, "ztrips").await;
    let me = app.token_for(user.id.as_str());
    // DynamoDB's requests, from each call's metrics line.
    let z2_counted = |me: String, body: Value| {
        let app = &app;
        let user_id = user.id.as_str().to_string();
        async move {
            let (response, requests) = app
                .call(Endpoint::Z2)
                .bearer(&me)
                .user(&user_id)
                .json(&body)
                .send_counting_round_trips()
                .await;
            (response.status().as_u16(), requests)
        }
    };
    let mut trips = Vec::new();
    for (label, body) in [
        (
            "wrong current password",
            with_current("wrong-one", NEW_PASSWORD),
        ),
        ("current password", with_current(PASSWORD, NEW_PASSWORD)),
    ] {
        let (status, requests) = z2_counted(me.clone(), body).await;
        trips.push((label, status, requests));
    }
    app.clock.advance_seconds(1);
    let me = app.token_for(user.id.as_str());
    let code = mailed_code(&app, &me, &user, &email).await;
    for (label, body) in [
        ("wrong code", with_code("ZZZZZZ", "third-password-77")),
        ("code", with_code(&code, "third-password-77")),
    ] {
        let (status, requests) = z2_counted(me.clone(), body).await;
        trips.push((label, status, requests));
    }
    println!("DynamoDB round trips per Z2 call: {trips:?}");
    assert_eq!(
        trips.iter().map(|t| t.1).collect::<Vec<_>>(),
        [400, 200, 400, 200]
    );
    assert!(trips.iter().all(|t| t.2 <= 2), "{trips:?}");
}

mod twin {
    use super::*;
    use integration_tests::spawn_twin;

    #[tokio::test]
    async fn the_default_template_is_used_when_none_is_given() {
        let app = spawn_twin().await;
        let (user, email) = user_with_password(&app, "zdefault").await;
        assert_eq!(
            z1(&app, &app.token_for(user.id.as_str()), &user, "")
                .await
                .status(),
            200
        );
        let code = app.code_from_latest_mail(&email);
        let body = app.mails_to(&email).pop().unwrap().body;
        assert!(
            body.contains(&format!(
                "http://127.0.0.1:9000/password/reset?userID={}&code={code}&orgID=org-test",
                user.id
            )),
            "{body}"
        );
    }

    #[tokio::test]
    async fn a_second_code_kills_the_first() {
        let app = spawn_twin().await;
        let (user, email) = user_with_password(&app, "zsecond").await;
        let me = app.token_for(user.id.as_str());
        let first = mailed_code(&app, &me, &user, &email).await;
        let second = mailed_code(&app, &me, &user, &email).await;
        let old = z2(&app, &me, &user, with_code(&first, NEW_PASSWORD)).await;
        assert_eq!((old.status().as_u16(), grpc_code(&old)), (400, 3));
        assert_eq!(
            z2(&app, &me, &user, with_code(&second, NEW_PASSWORD))
                .await
                .status(),
            200
        );
    }

    #[tokio::test]
    async fn a_code_lives_one_hour() {
        let app = spawn_twin().await;
        let (early, early_email) = user_with_password(&app, "zearly").await;
        let (late, late_email) = user_with_password(&app, "zlate").await;
        let early_code = mailed_code(
            &app,
            &app.token_for(early.id.as_str()),
            &early,
            &early_email,
        )
        .await;
        let late_code =
            mailed_code(&app, &app.token_for(late.id.as_str()), &late, &late_email).await;

        app.clock.advance_seconds(3599);
        assert_eq!(
            own_z2(&app, &early, with_code(&early_code, NEW_PASSWORD))
                .await
                .status(),
            200
        );
        app.clock.advance_seconds(1);
        let expired = own_z2(&app, &late, with_code(&late_code, NEW_PASSWORD)).await;
        assert_eq!((expired.status().as_u16(), grpc_code(&expired)), (400, 3));
        assert!(app.password_is(&late, PASSWORD).await);
    }

    #[tokio::test]
    async fn five_wrong_tries_kill_the_code() {
        let app = spawn_twin().await;
        let (user, email) = user_with_password(&app, "ztries").await;
        let me = app.token_for(user.id.as_str());
        let code = mailed_code(&app, &me, &user, &email).await;
        for _ in 0..5 {
            let wrong = z2(&app, &me, &user, with_code("WRONG1", NEW_PASSWORD)).await;
            assert_eq!((wrong.status().as_u16(), grpc_code(&wrong)), (400, 3));
        }
        let right = z2(&app, &me, &user, with_code(&code, NEW_PASSWORD)).await;
        assert_eq!(
            (right.status().as_u16(), grpc_code(&right)),
            (400, 3),
            "dead even for the right value"
        );
        assert!(app.password_is(&user, PASSWORD).await);
    }

    #[tokio::test]
    async fn the_current_password_changes_it_and_a_wrong_one_is_400() {
        let app = spawn_twin().await;
        let (user, _) = user_with_password(&app, "zcurrent").await;
        let me = app.token_for(user.id.as_str());
        let wrong = z2(
            &app,
            &me,
            &user,
            with_current("not-the-password", NEW_PASSWORD),
        )
        .await;
        assert_eq!((wrong.status().as_u16(), grpc_code(&wrong)), (400, 3));
        assert_eq!(violated_fields(&wrong), ["currentPassword"]);
        let same = z2(&app, &me, &user, with_current(PASSWORD, PASSWORD)).await;
        assert_eq!(violated_fields(&same), ["newPassword.password"]);
        assert!(
            json_body(&same)["details"][0]["fieldViolations"][0]["description"]
                .as_str()
                .unwrap()
                .contains("password-unchanged")
        );
        let right = z2(&app, &me, &user, with_current(PASSWORD, NEW_PASSWORD)).await;
        assert_eq!(right.status(), 200);
        assert!(app.password_is(&user, NEW_PASSWORD).await);
        assert!(!app.stored_user(&user).await.change_required);
    }

    #[tokio::test]
    async fn user_ids_name_the_caller_in_either_case() {
        let app = spawn_twin().await;
        let (user, _) = user_with_password(&app, "zcase").await;
        let upper = user.id.as_str().to_uppercase();
        let issued = app
            .z1_reset_code(&app.token_for(user.id.as_str()), &upper, "{}")
            .await;
        assert_eq!(
            issued.status(),
            200,
            "the user naming themself in upper case"
        );

        // A token whose `sub` is the id in upper case is the same user's, and
        // ends with the user's password change like any other.
        let upper_token = app.token_for(&upper);
        app.clock.advance_seconds(1);
        let changed = own_z2(&app, &user, with_current(PASSWORD, NEW_PASSWORD)).await;
        assert_eq!(changed.status(), 200);
        let stale = app
            .z2_set_password(
                &upper_token,
                &upper,
                &with_current(NEW_PASSWORD, "a-third-password-99"),
            )
            .await;
        assert_eq!((stale.status().as_u16(), grpc_code(&stale)), (401, 16));
    }

    #[tokio::test]
    async fn a_password_change_or_reset_kills_the_live_code() {
        let app = spawn_twin().await;
        let (user, _) = user_with_password(&app, "zcodekill").await;
        let admin = app.admin_token();
        let issue_code =
            || async { returned_code(&z1(&app, &admin, &user, r#"{"returnCode": {}}"#).await) };
        let code = issue_code().await;
        let changed = own_z2(&app, &user, with_current(PASSWORD, NEW_PASSWORD)).await;
        assert_eq!(changed.status(), 200);
        app.clock.advance_seconds(1);
        let me = app.token_for(user.id.as_str());
        let late = z2(&app, &me, &user, with_code(&code, "a-third-password-99")).await;
        assert_eq!((late.status().as_u16(), grpc_code(&late)), (400, 3));
        assert!(app.password_is(&user, NEW_PASSWORD).await);

        // The same after an admin's reset (O1).
        let code = issue_code().await;
        let reset = app
            .o1_admin_reset(
                Some(&admin),
                user.id.as_str(),
                &json!({ "new_password": "an-admins-choice-77" }).to_string(),
            )
            .await;
        assert_eq!(reset.status(), 204);
        app.clock.advance_seconds(1);
        let me = app.token_for(user.id.as_str());
        let late = z2(&app, &me, &user, with_code(&code, "a-fourth-password-98")).await;
        assert_eq!((late.status().as_u16(), grpc_code(&late)), (400, 3));
        assert!(app.password_is(&user, "an-admins-choice-77").await);
    }

    /// A user's Z1 with each of `templates` as the link's: 400
    /// INVALID_ARGUMENT naming `sendLink.urlTemplate` alone; no mail, no change.
    async fn templates_are_refused(name: &str, templates: &[&str]) {
        let app = spawn_twin().await;
        let (user, email) = user_with_password(&app, name).await;
        let me = app.token_for(user.id.as_str());
        for template in templates {
            let body = json!({ "sendLink": { "urlTemplate": template } });
            let response = z1(&app, &me, &user, &body.to_string()).await;
            assert_eq!(
                (response.status().as_u16(), grpc_code(&response)),
                (400, 3),
                "{template}"
            );
            assert_eq!(
                violated_fields(&response),
                ["sendLink.urlTemplate"],
                "{template}"
            );
        }
        assert!(app.mails_to(&email).is_empty());
        assert_eq!(app.stored_user(&user).await.sequence, user.sequence);
    }

    #[tokio::test]
    async fn a_link_template_to_a_foreign_host_is_refused_and_nothing_is_mailed() {
        templates_are_refused("zevil", &["https://evil.example/r?code={{.Code}}"]).await;
    }

    #[tokio::test]
    async fn link_templates_a_browser_would_follow_elsewhere_are_refused_and_nothing_is_mailed() {
        // local.env allows app.example; each of these sends a browser elsewhere.
        let templates = [
            r"https://evil.example\@app.example/r?code={{.Code}}",
            r"https:\\evil.example\r?code={{.Code}}",
            "https://app.example@evil.example/r?code={{.Code}}",
            "https://app.example:443@evil.example/r?code={{.Code}}",
            "https://evil.example%2f@app.example/r?code={{.Code}}",
            "https://user@app.example/r?code={{.Code}}",
            "https://app.example.evil.example/r?code={{.Code}}",
            "https://evilapp.example/r?code={{.Code}}",
            "https://app%2eexample/r?code={{.Code}}",
            "https://аpp.example/r?code={{.Code}}",
            "https://evil.example\t@app.example/r?code={{.Code}}",
            "https:///evil.example/r?code={{.Code}}",
        ];
        templates_are_refused("zbypass", &templates).await;
    }

    #[tokio::test]
    async fn an_admin_may_give_neither_secret() {
        let app = spawn_twin().await;
        let (user, _) = user_with_password(&app, "zadmin").await;
        let response = z2(
            &app,
            &app.admin_token(),
            &user,
            json!({ "newPassword": { "password": NEW_PASSWORD, "changeRequired": true } }),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert!(app.password_is(&user, NEW_PASSWORD).await);
        assert!(app.stored_user(&user).await.change_required);
        let own = own_z2(
            &app,
            &user,
            json!({ "newPassword": { "password": "a-third-password-99" } }),
        )
        .await;
        assert_eq!(
            (own.status().as_u16(), grpc_code(&own)),
            (400, 3),
            "the user must give one"
        );
    }

    #[tokio::test]
    async fn field_rules_give_one_violation_per_broken_field() {
        let app = spawn_twin().await;
        let (user, _) = user_with_password(&app, "zfields").await;
        let me = app.token_for(user.id.as_str());
        let long = "p".repeat(201);
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (json!({}), vec!["newPassword"]),
            (
                json!({ "newPassword": null, "currentPassword": PASSWORD }),
                vec!["newPassword"],
            ),
            (
                json!({ "newPassword": "flat", "currentPassword": PASSWORD }),
                vec!["newPassword"],
            ),
            (
                json!({ "newPassword": {}, "currentPassword": PASSWORD }),
                vec!["newPassword.password"],
            ),
            (
                json!({ "newPassword": { "password": "" }, "currentPassword": PASSWORD }),
                vec!["newPassword.password"],
            ),
            (
                json!({ "newPassword": { "password": long }, "currentPassword": PASSWORD }),
                vec!["newPassword.password"],
            ),
            (
                json!({ "newPassword": { "password": 42 }, "currentPassword": PASSWORD }),
                vec!["newPassword.password"],
            ),
            (
                json!({ "newPassword": { "password": ["x"] }, "currentPassword": PASSWORD }),
                vec!["newPassword.password"],
            ),
            (
                json!({ "newPassword": { "password": NEW_PASSWORD, "changeRequired": "yes" }, "currentPassword": PASSWORD }),
                vec!["newPassword.changeRequired"],
            ),
            (
                json!({ "newPassword": { "password": NEW_PASSWORD }, "currentPassword": "" }),
                vec!["currentPassword"],
            ),
            (
                json!({ "newPassword": { "password": NEW_PASSWORD }, "verificationCode": "X".repeat(21) }),
                vec!["verificationCode"],
            ),
            (
                json!({ "newPassword": { "password": NEW_PASSWORD }, "verificationCode": 123456 }),
                vec!["verificationCode"],
            ),
            (
                json!({ "newPassword": { "password": "" }, "currentPassword": "", "verificationCode": "" }),
                vec![
                    "newPassword.password",
                    "currentPassword",
                    "verificationCode",
                ],
            ),
            (
                json!({ "newPassword": { "password": NEW_PASSWORD }, "currentPassword": PASSWORD, "verificationCode": "ABC123" }),
                vec!["currentPassword", "verificationCode"],
            ),
            (
                json!({ "newPassword": { "password": "x".repeat(10_000) }, "currentPassword": PASSWORD }),
                vec!["newPassword.password"],
            ),
        ];
        for (body, fields) in cases {
            let response = z2(&app, &me, &user, body.clone()).await;
            assert_eq!(
                (response.status().as_u16(), grpc_code(&response)),
                (400, 3),
                "{body}"
            );
            let details = &json_body(&response)["details"][0];
            assert_eq!(
                details["@type"],
                "type.googleapis.com/google.rpc.BadRequest"
            );
            assert_eq!(violated_fields(&response), fields, "{body}");
        }
        assert!(app.password_is(&user, PASSWORD).await);
    }

    #[tokio::test]
    async fn the_sequence_rises_with_every_change_and_matches_the_audit_trail() {
        let app = spawn_twin().await;
        let (user, email) = user_with_password(&app, "zseq").await;
        let mut sequences = Vec::new();
        for round in 0..3 {
            let me = app.token_for(user.id.as_str());
            let issued = z1(&app, &me, &user, "{}").await;
            sequences.push(sequence_of(&issued));
            let code = app.code_from_latest_mail(&email);
            let changed = z2(
                &app,
                &me,
                &user,
                with_code(&code, &format!("{NEW_PASSWORD}-round-{round}")),
            )
            .await;
            assert_eq!(changed.status(), 200);
            sequences.push(sequence_of(&changed));
            app.clock.advance_seconds(1);
        }
        assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
        let trail: Vec<u64> = app
            .services
            .store
            .audit_events(&user.id)
            .await
            .unwrap()
            .iter()
            .map(|e| e.sequence)
            .collect();
        assert_eq!(
            &trail[trail.len() - sequences.len()..],
            sequences.as_slice()
        );
        assert_eq!(
            *sequences.last().unwrap(),
            app.stored_user(&user).await.sequence
        );
    }
}

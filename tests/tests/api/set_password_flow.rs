//! P1 `PUT /user/password` and P2 `POST /user/password/confirm`, end to end
//! against the emulator: statuses, bodies, what is stored, what is mailed.

use integration_tests::{error_code, json_body, spawn_app, unique_email, Endpoint};
use password_service::domain::Secret;
use password_service::hashing::Verification;

const GOOD_PASSWORD: &str = "violet-kettle-sunrise-42";

#[tokio::test]
async fn the_emailed_link_sets_the_first_password() {
    let app = spawn_app().await;
    let email = unique_email("first");
    let user = app.create_user(&email).await;

    let response = app.p1_request_link(&app.token_for(user.id.as_str())).await;
    assert_eq!(response.status(), 202);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.api+json"
    );
    assert_eq!(
        json_body(&response)["meta"]["status"],
        "confirmation-pending"
    );

    let mails = app.mails_to(&email);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, "Set your password");
    assert!(mails[0]
        .body
        .contains(&format!("{}?token=", app.settings["SET_PASSWORD_URL"])));
    let token = app.token_from_latest_link(&email);
    assert_eq!(token.len(), 43, "256 bits in base64url");

    let response = app.p2_confirm(&token, GOOD_PASSWORD).await;
    assert_eq!(response.status(), 204);

    let stored = app.stored_user(&user).await;
    let hash = stored.password_hash.clone().expect("a password hash");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(GOOD_PASSWORD));
    assert_eq!(
        app.services
            .hasher
            .verify(Secret::new(GOOD_PASSWORD), Some(hash))
            .await
            .unwrap(),
        Verification::Valid { outdated: false }
    );
    assert_eq!(stored.sequence, user.sequence + 1);
    assert_eq!(stored.set_password_token_hash, None);
    assert_eq!(
        stored.sessions_not_before, None,
        "the first password ends no session"
    );

    let events = app.services.store.audit_events(&user.id).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (last.sequence, last.event_type.as_str()),
        (stored.sequence, "user.password.set")
    );

    let mails = app.mails_to(&email);
    assert_eq!(mails.len(), 2, "the link, then the notice");
    assert_eq!(mails[1].subject, "Your password was set");
    assert!(!mails[1].body.contains(&token));
}

#[tokio::test]
async fn a_used_link_is_gone() {
    let app = spawn_app().await;
    let (_, _, token) = app.user_with_link("reuse").await;
    assert_eq!(app.p2_confirm(&token, GOOD_PASSWORD).await.status(), 204);

    let again = app.p2_confirm(&token, "another-fine-password-7").await;
    assert_eq!(again.status(), 410);
    assert_eq!(error_code(&again), "token-invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_confirms_with_one_token_set_the_password_once() {
    let app = spawn_app().await;
    let (user, _, token) = app.user_with_link("race").await;

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (app, token) = (app.clone(), token.clone());
        tasks.spawn(async move {
            let password = format!("{GOOD_PASSWORD}-{i}");
            app.p2_confirm(&token, &password).await.status().as_u16()
        });
    }
    let statuses: Vec<u16> = tasks.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [204, 409, 410].contains(s)),
        "{statuses:?}"
    );

    let events = app.services.store.audit_events(&user.id).await.unwrap();
    let sets = events
        .iter()
        .filter(|e| e.event_type == "user.password.set")
        .count();
    assert_eq!(sets, 1);
    assert_eq!(app.stored_user(&user).await.sequence, user.sequence + 1);
}

#[tokio::test]
async fn p1_for_a_user_with_a_password_is_409() {
    let app = spawn_app().await;
    let user = app
        .create_user_with(&unique_email("has"), |u| {
            u.password_hash = Some("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into())
        })
        .await;
    let response = app.p1_request_link(&app.token_for(user.id.as_str())).await;
    assert_eq!(response.status(), 409);
    assert_eq!(error_code(&response), "password-already-set");
}

#[tokio::test]
async fn p1_for_an_unknown_user_is_404() {
    let app = spawn_app().await;
    let response = app
        .p1_request_link(&app.token_for("0123456789abcdef01234567"))
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(error_code(&response), "user-not-found");
    let response = app.p1_request_link(&app.token_for("not-a-user-id")).await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn malformed_confirm_bodies_are_400_in_json_api_shape() {
    let app = spawn_app().await;
    let bodies = [
        "{",
        "[]",
        "\"token\"",
        r#"{"password": "x"}"#,
        r#"{"token": null, "password": "x"}"#,
        r#"{"token": 5, "password": "x"}"#,
        r#"{"token": "abc", "password": ["x"]}"#,
        r#"{"token": "", "password": "violet-kettle"}"#,
    ];
    for body in bodies {
        let response = app
            .call(Endpoint::P2)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(
            response.headers()["content-type"],
            "application/vnd.api+json"
        );
        assert_eq!(json_body(&response)["errors"][0]["status"], "400", "{body}");
    }
}

#[tokio::test]
async fn invalid_utf8_oversized_and_wrong_media_types_are_rejected() {
    let app = spawn_app().await;
    let confirm = || app.call(Endpoint::P2).without_header("content-type");
    let invalid_utf8 = confirm().bytes(vec![b'{', 0xC3, 0x28, b'}']).send().await;
    assert_eq!(invalid_utf8.status(), 400);

    let huge = format!(r#"{{"token":"{}","password":"x"}}"#, "a".repeat(17 * 1024));
    assert_eq!(confirm().body(&huge).send().await.status(), 413);

    let body = r#"{"token":"abc","password":"violet-kettle"}"#;
    for media_type in [
        "application/vnd.api+json; charset=utf-8",
        "application/x-www-form-urlencoded",
    ] {
        let response = confirm()
            .header("content-type", media_type)
            .body(body)
            .send()
            .await;
        assert_eq!(response.status(), 415, "{media_type}");
    }
}

#[tokio::test]
async fn the_operators_cli_mints_tokens_the_service_accepts() {
    let app = spawn_app().await;
    let user = app.create_user(&unique_email("minted")).await;
    // `pwctl token` itself, as an operator runs it, with local.env.
    let output = std::process::Command::new(env!("CARGO"))
        .args(["run", "-q", "-p", "password-service", "--bin", "pwctl"])
        .args(["--", "token", user.id.as_str()])
        .current_dir(integration_tests::repo_root())
        .output()
        .expect("cargo runs pwctl");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap().trim().to_string();
    // pwctl issued it at its own now, which may be past the test clock's
    // (cargo may have built pwctl first): a service started now checks it.
    let now = spawn_app().await;
    assert_eq!(now.p1_request_link(&token).await.status(), 202);
}

/// On the emulator: the one P2 path that reads the user (the link's holder
/// changed since it was issued), whose permission the IAM check needs a
/// recorded call of.
#[tokio::test]
async fn p2_with_a_live_link_after_an_admin_set_the_password_is_409() {
    let app = spawn_app().await;
    let (user, _, token) = app.user_with_link("adminfirst").await;
    let admin = app.admin_token_for("admin-for-409");
    let body = serde_json::json!({ "new_password": "quiet-meadow-tractor-51" }).to_string();
    let reset = app
        .call(Endpoint::O1)
        .without_header("content-type")
        .bearer(&admin)
        .user(user.id.as_str())
        .body(&body)
        .send()
        .await;
    assert_eq!(reset.status(), 204);

    let response = app.p2_confirm(&token, GOOD_PASSWORD).await;
    assert_eq!(response.status(), 409);
    assert_eq!(error_code(&response), "password-already-set");
    assert!(
        app.password_is(&user, "quiet-meadow-tractor-51").await,
        "the admin's password stands"
    );
}

mod twin {
    use super::*;
    use integration_tests::{spawn_twin, spawn_twin_with};

    #[tokio::test]
    async fn german_users_get_the_link_in_german() {
        let app = spawn_twin().await;
        let email = unique_email("deutsch");
        let user = app
            .create_user_with(&email, |u| u.locale = password_service::domain::Locale::De)
            .await;
        app.p1_request_link(&app.token_for(user.id.as_str())).await;
        assert_eq!(app.mails_to(&email)[0].subject, "Passwort festlegen");
    }

    #[tokio::test]
    async fn a_second_request_kills_the_first_link() {
        let app = spawn_twin().await;
        let email = unique_email("twice");
        let user = app.create_user(&email).await;
        let bearer = app.token_for(user.id.as_str());
        assert_eq!(app.p1_request_link(&bearer).await.status(), 202);
        let first = app.token_from_latest_link(&email);
        assert_eq!(app.p1_request_link(&bearer).await.status(), 202);
        let second = app.token_from_latest_link(&email);
        assert_ne!(first, second);

        let response = app.p2_confirm(&first, GOOD_PASSWORD).await;
        assert_eq!(response.status(), 410);
        assert_eq!(error_code(&response), "token-invalid");
        assert!(app.stored_user(&user).await.password_hash.is_none());
        assert_eq!(app.p2_confirm(&second, GOOD_PASSWORD).await.status(), 204);
    }

    #[tokio::test]
    async fn the_link_works_just_before_24_hours() {
        let app = spawn_twin().await;
        let (_, _, token) = app.user_with_link("before").await;

        app.clock.advance_seconds(24 * 3600 - 1);
        assert_eq!(app.p2_confirm(&token, GOOD_PASSWORD).await.status(), 204);
    }

    #[tokio::test]
    async fn the_link_is_dead_at_24_hours() {
        let app = spawn_twin().await;
        let (user, _, token) = app.user_with_link("after").await;

        app.clock.advance_seconds(24 * 3600);
        let response = app.p2_confirm(&token, GOOD_PASSWORD).await;
        assert_eq!(response.status(), 410);
        assert_eq!(error_code(&response), "token-invalid");
        assert!(app.stored_user(&user).await.password_hash.is_none());
    }

    #[tokio::test]
    async fn an_unknown_token_is_410() {
        let app = spawn_twin().await;
        let response = app
            .p2_confirm(
                "bm90LWEtcmVhbC10b2tlbi1hdC1hbGwtanVzdC1ieXRlcw",
                GOOD_PASSWORD,
            )
            .await;
        assert_eq!(response.status(), 410);
        assert_eq!(error_code(&response), "token-invalid");
    }

    #[tokio::test]
    async fn p2_with_a_live_link_after_a_reset_code_set_the_password_is_409() {
        let app = spawn_twin().await;
        let (user, email, token) = app.user_with_link("other-way").await;
        let bearer = app.token_for(user.id.as_str());
        let z1 = app.z1_reset_code(&bearer, user.id.as_str(), "{}").await;
        assert_eq!(z1.status(), 200);
        let code = app.code_from_latest_mail(&email);
        let body = serde_json::json!({
            "newPassword": { "password": "quiet-meadow-tractor-51" },
            "verificationCode": code,
        });
        let z2 = app.z2_set_password(&bearer, user.id.as_str(), &body).await;
        assert_eq!(z2.status(), 200);

        let response = app.p2_confirm(&token, GOOD_PASSWORD).await;
        assert_eq!(response.status(), 409);
        assert_eq!(error_code(&response), "password-already-set");
        assert!(app.password_is(&user, "quiet-meadow-tractor-51").await);
    }

    #[tokio::test]
    async fn p1_without_the_required_linked_identity_is_401() {
        let app = spawn_twin_with(|s| {
            s.insert("REQUIRED_LINKED_IDENTITY".into(), "google".into());
        })
        .await;
        let without = app.create_user(&unique_email("unlinked")).await;
        let response = app
            .p1_request_link(&app.token_for(without.id.as_str()))
            .await;
        assert_eq!(response.status(), 401);
        assert_eq!(error_code(&response), "missing-linked-identity");
        let challenge = response
            .headers()
            .get("www-authenticate")
            .expect("a 401 carries a challenge (RFC 9110)")
            .to_str()
            .unwrap();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );

        let with = app
            .create_user_with(&unique_email("linked"), |u| {
                u.linked_identities = vec!["google".into()]
            })
            .await;
        assert_eq!(
            app.p1_request_link(&app.token_for(with.id.as_str()))
                .await
                .status(),
            202
        );
    }

    #[tokio::test]
    async fn policy_violations_are_422_with_their_codes() {
        let app = spawn_twin().await;
        let (_, email, token) = app.user_with_link("maximilian").await;

        let long = "x".repeat(201);
        let with_name = format!(
            "{}-rocks-99",
            email.split('@').next().unwrap().to_uppercase()
        );
        let cases = [
            ("short7!", "password-too-short"),
            (long.as_str(), "password-too-long"),
            ("password123", "password-too-common"),
            (with_name.as_str(), "password-contains-user-data"),
        ];
        for (password, code) in cases {
            let response = app.p2_confirm(&token, password).await;
            assert_eq!(response.status(), 422, "{code}");
            let body = json_body(&response);
            assert_eq!(body["errors"][0]["code"], code);
            assert_eq!(body["errors"][0]["status"], "422");
            assert_eq!(body["errors"][0]["source"]["pointer"], "/password");
        }
        // Rejections leave the token live.
        assert_eq!(app.p2_confirm(&token, GOOD_PASSWORD).await.status(), 204);
    }

    #[tokio::test]
    async fn a_p1_body_that_is_sent_must_be_sound() {
        let app = spawn_twin().await;
        let user = app.create_user(&unique_email("p1body")).await;
        let response = app
            .call(Endpoint::P1)
            .bearer(&app.token_for(user.id.as_str()))
            .body("{not json")
            .send()
            .await;
        assert_eq!(response.status(), 400);
        assert_eq!(error_code(&response), "malformed-request");
    }
}

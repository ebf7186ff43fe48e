//! The logs of whole flows, successes and failures, hold none of the secrets
//! used in them (SPEC section 3). It reads the process's captured log, so it
//! also reads what the other tests running beside it log.

use integration_tests::{captured_logs, spawn_app, unique_email, Endpoint};

#[tokio::test]
async fn the_logs_of_a_whole_flow_contain_no_secret() {
    let captured = captured_logs();
    let app = spawn_app().await;
    let email = unique_email("logs");
    let user = app.create_user(&email).await;
    let jwt = app.token_for(user.id.as_str());
    let rejected_password = "password123";
    let good_password = "quiet-lantern-orbit-913";

    assert_eq!(app.p1_request_link(&jwt).await.status(), 202);
    let token = app.token_from_latest_link(&email);
    assert_eq!(
        app.p2_confirm(&token, rejected_password).await.status(),
        422
    );
    assert_eq!(app.p2_confirm(&token, good_password).await.status(), 204);
    assert_eq!(app.p2_confirm(&token, good_password).await.status(), 410);
    let tampered = format!("{jwt}x");
    assert_eq!(app.p1_request_link(&tampered).await.status(), 401);
    let truncated = app
        .call(Endpoint::P2)
        .without_header("content-type")
        .body(&format!("{{\"token\": \"{token}\""))
        .send()
        .await;
    assert_eq!(truncated.status(), 400);

    let logs = captured.text();
    assert!(
        logs.contains("set-password link sent"),
        "the capture works: {logs}"
    );
    assert!(logs.contains("password set"), "{logs}");
    assert!(
        logs.contains(user.id.as_str()),
        "lines name the user: {logs}"
    );
    for line in logs.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("every line is JSON");
    }
    let secrets = [
        ("link token", token.as_str()),
        ("good password", good_password),
        ("rejected password", rejected_password),
        ("JWT", jwt.as_str()),
        ("JWT signature", jwt.rsplit('.').next().unwrap()),
        ("HS256 secret", app.settings["JWT_HS256_SECRET"].as_str()),
        ("pepper", app.settings["PEPPER"].as_str()),
    ];
    for (what, secret) in secrets {
        assert!(!logs.contains(secret), "the logs contain the {what}");
    }
}

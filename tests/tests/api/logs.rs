//! The logs of whole flows, successes and failures, hold none of the secrets
//! used in them (SPEC section 3). It reads the process's captured log, so it
//! also reads what the other tests running beside it log.

use integration_tests::{captured_logs, json_body, spawn_app, unique_email, Endpoint};
use password_service::clock::Clock;
use password_service::domain::{totp, OtpSecret};

#[tokio::test]
async fn the_logs_of_whole_flows_at_trace_contain_no_secret() {
    // Captured as RUST_LOG=trace would log (see `captured_logs`).
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

    // Family Z: a mailed reset code, then a change with it; a PIN set and proven.
    let z1 = app
        .z1_reset_code(&app.token_for(user.id.as_str()), user.id.as_str(), "{}")
        .await;
    assert_eq!(z1.status(), 200);
    let code = app.code_from_latest_mail(&email);
    let new_password = "amber-window-canyon-58";
    let z2 = app
        .z2_set_password(
            &app.token_for(user.id.as_str()),
            user.id.as_str(),
            &serde_json::json!({ "newPassword": { "password": new_password }, "verificationCode": code }),
        )
        .await;
    assert_eq!(z2.status(), 200);
    app.clock.advance_seconds(1);
    let pin = "8642";
    let jwt_after = app.token_for(user.id.as_str());
    let set_pin = app
        .p6_set_pin(
            &jwt_after,
            &serde_json::json!({ "pin": pin, "password": new_password }).to_string(),
        )
        .await;
    assert_eq!(set_pin.status(), 204);
    let proven = app
        .p5_callback(&jwt_after, &serde_json::json!({ "pin": pin }).to_string())
        .await;
    assert_eq!(proven.status(), 204);

    // The device OTP: enrolment, a wrong and a right first code, a proof at
    // the callback, its replay, and removal.
    let otp_user = app.create_user(&unique_email("logs.otp")).await;
    let otp_jwt = app.token_for(otp_user.id.as_str());
    let enrolment = app.p7_start_enrolment(&otp_jwt, "{}").await;
    assert_eq!(enrolment.status(), 201);
    let attributes = json_body(&enrolment)["data"]["attributes"].clone();
    let base32 = attributes["secret"].as_str().unwrap().to_string();
    let secret = OtpSecret::from_base32(&base32).unwrap();
    let step = totp::step_at(app.clock.now_seconds() as u64);
    let code_at = |step| {
        totp::code_for_step(secret.expose_bytes(), step)
            .secret()
            .expose()
            .to_string()
    };
    let (first, second) = (code_at(step), code_at(step + 1));
    let wrong = ["000000", "999999"]
        .into_iter()
        .find(|c| ![code_at(step - 1), first.clone(), second.clone()].contains(&c.to_string()))
        .unwrap();
    let activation = |code: &str| serde_json::json!({ "code": code }).to_string();
    assert_eq!(
        app.p7_activate(&otp_jwt, &activation(wrong)).await.status(),
        422
    );
    assert_eq!(
        app.p7_activate(&otp_jwt, &activation(&first))
            .await
            .status(),
        204
    );
    let proof = serde_json::json!({ "otp": second }).to_string();
    assert_eq!(app.p5_callback(&otp_jwt, &proof).await.status(), 204);
    assert_eq!(app.p5_callback(&otp_jwt, &proof).await.status(), 422);
    let sealed = app
        .stored_user(&otp_user)
        .await
        .otp_device
        .unwrap()
        .sealed_secret;
    assert_eq!(app.p7_remove(&otp_jwt, "{}").await.status(), 204);

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
        ("reset code", code.as_str()),
        ("second password", new_password),
        ("second JWT", jwt_after.as_str()),
        ("PIN in a JSON body", "\"pin\":\"8642\""),
    ];
    for (what, secret) in secrets {
        assert!(!logs.contains(secret), "the logs contain the {what}");
    }

    assert!(logs.contains("OTP device activated"), "{logs}");
    assert!(logs.contains(otp_user.id.as_str()), "{logs}");
    let otp_secrets = [
        ("OTP secret", base32.as_str()),
        ("OTP secret, lowercase", &base32.to_lowercase()),
        ("otpauth URI", attributes["otpauthUri"].as_str().unwrap()),
        ("sealed OTP secret", sealed.rsplit(':').next().unwrap()),
        (
            "OTP key",
            app.settings["OTP_ENCRYPTION_KEY"]
                .split_once(':')
                .unwrap()
                .1,
        ),
    ];
    for (what, secret) in otp_secrets {
        assert!(!logs.contains(secret), "the logs contain the {what}");
    }
    for code in [first.as_str(), second.as_str(), wrong] {
        assert!(
            !contains_number(&logs, code),
            "the logs contain the code {code}"
        );
    }
}

/// Whether `digits` stands in `text` as a number of its own (not inside a
/// longer run of digits, such as a timestamp's).
fn contains_number(text: &str, digits: &str) -> bool {
    text.match_indices(digits).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + digits.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

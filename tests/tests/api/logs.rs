//! The logs of whole flows, successes and failures, hold none of the secrets
//! used in them (SPEC section 3). It reads the process's captured log, so it
//! also reads what the other tests running beside it log.

use integration_tests::{
    captured_logs, contains_standalone, json_body, local_secret_key, spawn_app,
    spawn_app_unreachable, unique_email, Endpoint,
};
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
        ("pepper", &local_secret_key("PEPPER")),
        ("reset code", code.as_str()),
        ("second password", new_password),
        ("second JWT", jwt_after.as_str()),
    ];
    for (what, secret) in secrets {
        assert!(!logs.contains(secret), "the logs contain the {what}");
    }
    // Every line is JSON: a logged body would show the PIN escaped
    // (`\"pin\":\"8642\"`), so the digits themselves are looked for.
    assert!(
        !contains_standalone(&logs, pin),
        "the logs contain the PIN {pin}"
    );

    assert!(logs.contains("OTP device activated"), "{logs}");
    assert!(logs.contains(otp_user.id.as_str()), "{logs}");
    let otp_secrets = [
        ("OTP secret", base32.as_str()),
        ("OTP secret, lowercase", &base32.to_lowercase()),
        ("otpauth URI", attributes["otpauthUri"].as_str().unwrap()),
        ("sealed OTP secret", sealed.rsplit(':').next().unwrap()),
        ("OTP key", &local_secret_key("OTP_ENCRYPTION_KEY")),
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

/// Every family's secret-carrying input, on success and on the 5xx paths (the
/// only log lines with free text: the internal error's cause), stays out of
/// the logs: P4's PIN in the query string, O1's `new_password`, the code Z1
/// returns (`returnCode`), Z2's over REST and RPC, P5's PIN and OTP, P6's
/// PIN, P7's password and code, P2's link token and password.
#[tokio::test]
async fn every_familys_secret_input_stays_out_of_the_logs_on_success_and_on_5xx() {
    let captured = captured_logs();
    let app = spawn_app().await;
    let first_password = "cedar-lantern-quarry-4417";
    let email = unique_email("logs.families");
    let user = app.create_user_with_password(&email, first_password).await;
    let user_id = user.id.as_str();
    let query_pin = "5317";
    let set_pin = serde_json::json!({ "pin": query_pin, "password": first_password });
    let bearer = app.token_for(user_id);
    assert_eq!(
        app.p6_set_pin(&bearer, &set_pin.to_string()).await.status(),
        204
    );
    let p4_password = "saffron-meadow-violin-2283";
    let p4 = app
        .p4_reset(
            &bearer,
            Some(query_pin),
            &serde_json::json!({ "password": p4_password }).to_string(),
        )
        .await;
    assert_eq!(p4.status(), 204, "P4 with the PIN in the query string");

    let o1_password = "harbor-thistle-comet-6150";
    let o1 = app
        .o1_admin_reset(
            Some(&app.admin_token()),
            user_id,
            &serde_json::json!({ "new_password": o1_password }).to_string(),
        )
        .await;
    assert_eq!(o1.status(), 204);

    let z1 = app
        .z1_reset_code(&app.admin_token(), user_id, r#"{"returnCode": {}}"#)
        .await;
    assert_eq!(z1.status(), 200);
    let returned_code = json_body(&z1)["verificationCode"]
        .as_str()
        .unwrap()
        .to_string();
    app.clock.advance_seconds(1);
    let z2_password = "pebble-orchard-falcon-3906";
    let z2 = app
        .z2_set_password(
            &app.token_for(user_id),
            user_id,
            &serde_json::json!({ "newPassword": { "password": z2_password }, "verificationCode": returned_code }),
        )
        .await;
    assert_eq!(z2.status(), 200);
    app.clock.advance_seconds(1);
    let rpc_password = "willow-signal-anchor-7731";
    let rpc = app
        .z2_rpc(
            Some(&app.token_for(user_id)),
            "application/json",
            serde_json::json!({
                "userId": user_id,
                "newPassword": { "password": rpc_password },
                "currentPassword": z2_password,
            })
            .to_string()
            .into_bytes(),
        )
        .await;
    assert_eq!(rpc.status(), 200, "Z2 over Connect JSON");

    // The 5xx paths: DynamoDB unreachable, every call answers its family's
    // internal error and logs the cause.
    let broken = spawn_app_unreachable("AWS_ENDPOINT_URL_DYNAMODB").await;
    let down_pin = "7193";
    let down_otp = "460817";
    let down_password = "juniper-cobalt-ribbon-5524";
    let down_code = "QX7KDW";
    let down_link = "logsdownlink4c2f9e7b1a";
    let me = broken.token_for(user_id);
    let admin = broken.admin_token();
    let body = |value: serde_json::Value| value.to_string();
    let mut failed = vec![
        (
            "P5 PIN",
            broken
                .p5_callback(&me, &body(serde_json::json!({ "pin": down_pin })))
                .await,
        ),
        (
            "P5 OTP",
            broken
                .p5_callback(&me, &body(serde_json::json!({ "otp": down_otp })))
                .await,
        ),
        (
            "P4, PIN in the query",
            broken
                .p4_reset(
                    &me,
                    Some(down_pin),
                    &body(serde_json::json!({ "password": down_password })),
                )
                .await,
        ),
        (
            "P6",
            broken
                .p6_set_pin(
                    &me,
                    &body(serde_json::json!({ "pin": down_pin, "password": down_password })),
                )
                .await,
        ),
        ("P2", broken.p2_confirm(down_link, down_password).await),
        (
            "P7 POST",
            broken
                .p7_start_enrolment(
                    &me,
                    &body(serde_json::json!({ "password": down_password })),
                )
                .await,
        ),
        (
            "P7 PUT",
            broken
                .p7_activate(&me, &body(serde_json::json!({ "code": down_otp })))
                .await,
        ),
        (
            "O1",
            broken
                .o1_admin_reset(
                    Some(&admin),
                    user_id,
                    &body(serde_json::json!({ "new_password": down_password })),
                )
                .await,
        ),
        (
            "Z2",
            broken
                .z2_set_password(
                    &me,
                    user_id,
                    &serde_json::json!({ "newPassword": { "password": down_password }, "verificationCode": down_code }),
                )
                .await,
        ),
    ];
    failed.push((
        "Z2 over Connect JSON",
        broken
            .z2_rpc(
                Some(&me),
                "application/json",
                body(serde_json::json!({
                    "userId": user_id,
                    "newPassword": { "password": down_password },
                    "verificationCode": down_code,
                }))
                .into_bytes(),
            )
            .await,
    ));
    for (what, response) in &failed {
        assert!(
            response.status().is_server_error(),
            "{what} with DynamoDB unreachable answered {}",
            response.status()
        );
    }

    let logs = captured.text();
    assert!(
        logs.contains("internal error") && logs.contains("dispatch failure"),
        "the 5xx paths logged their causes: {logs}"
    );
    let mut leaked = Vec::new();
    for (what, secret) in [
        ("first password", first_password),
        ("P4's password", p4_password),
        ("O1's new_password", o1_password),
        ("the code Z1 returned", returned_code.as_str()),
        ("Z2's password", z2_password),
        ("Z2's password over RPC", rpc_password),
        ("a password sent while DynamoDB was down", down_password),
        ("a code sent while DynamoDB was down", down_code),
        ("a link sent while DynamoDB was down", down_link),
    ] {
        if logs.contains(secret) {
            leaked.push(what);
        }
    }
    for (what, pin) in [
        ("the PIN of P4's query string", query_pin),
        ("a PIN sent while DynamoDB was down", down_pin),
    ] {
        if contains_standalone(&logs, pin) {
            leaked.push(what);
        }
    }
    if contains_number(&logs, down_otp) {
        leaked.push("an OTP sent while DynamoDB was down");
    }
    assert!(leaked.is_empty(), "the logs contain {leaked:?}");
}

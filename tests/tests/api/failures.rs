//! When DynamoDB or SES fail, family P answers 501 (as the original documents
//! it) and nothing is half-written. The failures are real: the clients point
//! at a closed port.

use integration_tests::{
    error_code, spawn_app, spawn_app_unreachable, spawn_app_with, unique_email, CLOSED_PORT,
};

#[tokio::test]
async fn p1_answers_501_when_the_database_is_unreachable() {
    let healthy = spawn_app().await;
    let user = healthy.create_user(&unique_email("nodb")).await;
    let broken = spawn_app_unreachable("AWS_ENDPOINT_URL_DYNAMODB").await;
    let response = broken
        .p1_request_link(&broken.token_for(user.id.as_str()))
        .await;
    assert_eq!(response.status(), 501);
    assert_eq!(error_code(&response), "internal-error");
    // No internals shown: the error is the fixed text, whatever the cause
    // (an SDK's "dispatch failure … connection refused" names no address).
    let error = &integration_tests::json_body(&response)["errors"][0];
    assert_eq!(
        (&error["title"], &error["detail"]),
        (
            &serde_json::json!("Internal error"),
            &serde_json::json!("The request could not be completed. Please try again later.")
        ),
        "{error}"
    );
}

#[tokio::test]
async fn p1_answers_501_when_mail_cannot_be_sent_and_the_attempt_does_not_count() {
    let healthy = spawn_app().await;
    let email = unique_email("nomail");
    let user = healthy.create_user(&email).await;
    let broken = spawn_app_with(|s| {
        s.insert("AWS_ENDPOINT_URL_SESV2".into(), CLOSED_PORT.into());
        s.insert("RATE_LIMIT_EMAILS_PER_HOUR".into(), "1".into());
    })
    .await;
    let response = broken
        .p1_request_link(&broken.token_for(user.id.as_str()))
        .await;
    assert_eq!(response.status(), 501);
    assert!(healthy.mails_to(&email).is_empty());

    // The failed attempt gave its unit back: with a limit of 1 the next one passes.
    let healthy_limited = spawn_app_with(|s| {
        s.insert("RATE_LIMIT_EMAILS_PER_HOUR".into(), "1".into());
    })
    .await;
    assert_eq!(
        healthy_limited
            .p1_request_link(&healthy_limited.token_for(user.id.as_str()))
            .await
            .status(),
        202
    );
    assert_eq!(healthy.mails_to(&email).len(), 1);
}

#[tokio::test]
async fn p2_answers_501_when_the_database_is_unreachable_and_the_link_survives() {
    let healthy = spawn_app().await;
    let (user, _, token) = healthy.user_with_link("p2nodb").await;

    let broken = spawn_app_unreachable("AWS_ENDPOINT_URL_DYNAMODB").await;
    assert_eq!(
        broken
            .p2_confirm(&token, "violet-kettle-sunrise-42")
            .await
            .status(),
        501
    );
    assert!(healthy.stored_user(&user).await.password_hash.is_none());
    assert_eq!(
        healthy
            .p2_confirm(&token, "violet-kettle-sunrise-42")
            .await
            .status(),
        204
    );
}

#[tokio::test]
async fn p2_still_sets_the_password_when_the_notice_cannot_be_sent() {
    let healthy = spawn_app().await;
    let (user, _, token) = healthy.user_with_link("nonotice").await;

    let no_mail = spawn_app_unreachable("AWS_ENDPOINT_URL_SESV2").await;
    assert_eq!(
        no_mail
            .p2_confirm(&token, "violet-kettle-sunrise-42")
            .await
            .status(),
        204
    );
    assert!(healthy.stored_user(&user).await.password_hash.is_some());
}

#[tokio::test]
async fn when_the_link_email_fails_the_previous_link_still_works() {
    let healthy = spawn_app().await;
    let (user, _, token) = healthy.user_with_link("keeplink").await;
    let no_mail = spawn_app_unreachable("AWS_ENDPOINT_URL_SESV2").await;
    let again = no_mail
        .p1_request_link(&no_mail.token_for(user.id.as_str()))
        .await;
    assert_eq!(again.status(), 501);
    assert_eq!(
        healthy
            .p2_confirm(&token, "violet-kettle-sunrise-42")
            .await
            .status(),
        204,
        "the link mailed before the failure is still live"
    );
}

#[tokio::test]
async fn when_the_code_email_fails_the_previous_code_still_works() {
    let healthy = spawn_app().await;
    let user = healthy
        .create_user_with_password(&unique_email("keepcode"), "amber-harbor-lighthouse-7")
        .await;
    let issued = healthy
        .z1_reset_code(
            &healthy.admin_token(),
            user.id.as_str(),
            r#"{"returnCode": {}}"#,
        )
        .await;
    let code = integration_tests::json_body(&issued)["verificationCode"]
        .as_str()
        .unwrap()
        .to_string();
    let no_mail = spawn_app_unreachable("AWS_ENDPOINT_URL_SESV2").await;
    let again = no_mail
        .z1_reset_code(&no_mail.token_for(user.id.as_str()), user.id.as_str(), "{}")
        .await;
    assert_eq!(again.status(), 500);
    assert_eq!(integration_tests::json_body(&again)["code"], 13);
    let change = healthy
        .z2_set_password(
            &healthy.token_for(user.id.as_str()),
            user.id.as_str(),
            &serde_json::json!({ "newPassword": { "password": "quiet-meadow-tractor-51" }, "verificationCode": code }),
        )
        .await;
    assert_eq!(
        change.status(),
        200,
        "the code issued before the failure is still live"
    );
    assert_eq!(
        healthy.stored_user(&user).await.sequence,
        user.sequence + 2,
        "the failed request changed nothing: one code issued, one change"
    );
}

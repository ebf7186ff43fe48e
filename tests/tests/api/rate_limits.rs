//! SPEC section 3's limits as P1 and P2 meet them: 429 with a `Retry-After`
//! that counts down to the end of a fixed window, exact under concurrency.

use integration_tests::{error_code, spawn_app, spawn_app_with, unique_email, Endpoint, TestApp};

fn retry_after(response: &lambda_http::Response<lambda_http::Body>) -> i64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_sixth_link_email_in_an_hour_is_429_until_the_window_ends() {
    let app = spawn_app().await;
    let email = unique_email("limited");
    let user = app.create_user(&email).await;
    for _ in 0..5 {
        assert_eq!(
            app.p1_request_link(&app.token_for(user.id.as_str()))
                .await
                .status(),
            202
        );
    }
    let limited = app.p1_request_link(&app.token_for(user.id.as_str())).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(error_code(&limited), "too-many-requests");
    let wait = retry_after(&limited);
    assert!((1..=3600).contains(&wait), "{wait}");
    assert_eq!(app.mails_to(&email).len(), 5);

    app.clock.advance_seconds(wait - 1);
    let still = app.p1_request_link(&app.token_for(user.id.as_str())).await;
    assert_eq!(still.status(), 429);
    assert_eq!(retry_after(&still), 1, "it counts down");

    app.clock.advance_seconds(1);
    assert_eq!(
        app.p1_request_link(&app.token_for(user.id.as_str()))
            .await
            .status(),
        202
    );
    assert_eq!(app.mails_to(&email).len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_concurrent_link_requests_send_exactly_five_emails() {
    let app = spawn_app().await;
    let email = unique_email("hammer");
    let user = app.create_user(&email).await;
    let bearer = app.token_for(user.id.as_str());

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let (app, bearer) = (app.clone(), bearer.clone());
        tasks.spawn(async move { app.p1_request_link(&bearer).await.status().as_u16() });
    }
    let statuses = tasks.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        35,
        "{statuses:?}"
    );
    assert_eq!(app.mails_to(&email).len(), 5);
}

async fn confirm_from(
    app: &TestApp,
    address: &str,
    token: &str,
) -> lambda_http::Response<lambda_http::Body> {
    app.call(Endpoint::P2)
        .without_header("content-type")
        .from_address(address)
        .json(&serde_json::json!({ "token": token, "password": "violet-kettle-sunrise-42" }))
        .send()
        .await
}

/// A client address no other test uses (the limits outlive a test run).
fn fresh_address() -> String {
    format!("2001:db8::{}", password_service::domain::random_hex(4))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_live_links_behind_one_address_all_go_through() {
    let app = spawn_app_with(|s| {
        s.insert("RATE_LIMIT_INVALID_LINKS_PER_HOUR".into(), "5".into());
    })
    .await;
    let address = fresh_address();
    let mut tokens = Vec::new();
    for i in 0..20 {
        tokens.push(app.user_with_link(&format!("nat{i}")).await.2);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for token in tokens {
        let (app, address) = (app.clone(), address.clone());
        tasks.spawn(async move { confirm_from(&app, &address, &token).await.status().as_u16() });
    }
    let statuses = tasks.join_all().await;
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    // The live links took nothing from the address's budget of invalid
    // ones: all five are still there, and only the sixth is refused.
    for i in 0..5 {
        let stale = confirm_from(&app, &address, &format!("nat-stale-{i}")).await;
        assert_eq!(stale.status(), 410, "invalid link {i} after the live ones");
    }
    let sixth = confirm_from(&app, &address, "nat-stale-5").await;
    assert_eq!(sixth.status(), 429);
}

mod twin {
    use super::*;
    use integration_tests::spawn_twin;

    #[tokio::test]
    async fn invalid_links_from_one_address_are_limited_and_others_are_not() {
        let app = spawn_twin().await;
        let address = fresh_address();
        for i in 0..20 {
            let response = confirm_from(&app, &address, &format!("not-a-live-token-{i}")).await;
            assert_eq!(response.status(), 410, "attempt {i}");
        }
        let limited = confirm_from(&app, &address, "not-a-live-token-21").await;
        assert_eq!(limited.status(), 429);
        assert!(retry_after(&limited) >= 1);
        let elsewhere = confirm_from(&app, &fresh_address(), "not-a-live-token-22").await;
        assert_eq!(elsewhere.status(), 410, "another address is not limited");
    }

    #[tokio::test]
    async fn a_live_link_goes_through_from_an_address_that_used_up_its_invalid_links() {
        let app = spawn_twin().await;
        let address = fresh_address();
        for i in 0..21 {
            confirm_from(&app, &address, &format!("stale-link-{i}")).await;
        }
        assert_eq!(
            confirm_from(&app, &address, "stale-link-22").await.status(),
            429,
            "the address is limited for invalid links"
        );
        let (user, _, token) = app.user_with_link("behindnat").await;
        assert_eq!(
            confirm_from(&app, &address, &token).await.status(),
            204,
            "a live link is never refused by the limit"
        );
        assert!(app.password_is(&user, "violet-kettle-sunrise-42").await);
    }

    #[tokio::test]
    async fn valid_links_do_not_count_against_the_address() {
        let app = spawn_twin().await;
        let address = fresh_address();
        for i in 0..25 {
            let email = unique_email(&format!("valid{i}"));
            let user = app.create_user(&email).await;
            app.p1_request_link(&app.token_for(user.id.as_str())).await;
            let token = app.token_from_latest_link(&email);
            assert_eq!(
                confirm_from(&app, &address, &token).await.status(),
                204,
                "user {i}"
            );
        }
    }
}

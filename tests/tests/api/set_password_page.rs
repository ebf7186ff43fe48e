//! P3 `GET /user/password/set`: what the handler answers. The page's
//! behaviour in a real browser is tested by tests/browser (make test).

use integration_tests::{spawn_app, unique_email, Endpoint, TestApp};
use lambda_http::{Body, Response};
use password_service::http::csp_sha256;

async fn open(app: &TestApp, token: Option<&str>, language: &str) -> Response<Body> {
    app.p3_page(token, language).await
}

fn html(response: &Response<Body>) -> String {
    String::from_utf8(response.body().to_vec()).unwrap()
}

/// The text between `open` and `close`.
fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).unwrap() + open.len();
    &text[start..start + text[start..].find(close).unwrap()]
}

#[tokio::test]
async fn the_page_is_strict_private_and_uncached() {
    let app = spawn_app().await;
    let response = open(&app, Some("abc"), "en").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    let csp = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    let page = html(&response);
    assert!(
        csp.contains(&csp_sha256(between(&page, "<style>", "</style>"))),
        "the style's hash"
    );
    assert!(
        csp.contains(&csp_sha256(between(&page, "<script>", "</script>"))),
        "the script's hash"
    );
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no external assets"
    );
    assert!(
        !page.contains("abc"),
        "the token is not echoed into the page"
    );
    assert!(page.contains(r#"aria-live="polite""#));
    assert!(page.contains("At least 8 characters"));
    println!("P3 page size: {} bytes", page.len());
}

#[tokio::test]
async fn opening_the_page_reads_and_writes_nothing() {
    let app = spawn_app().await;
    let (user, _, token) = app.user_with_link("scanner").await;
    let before = app.stored_user(&user).await;
    for _ in 0..3 {
        // The invocation's DynamoDB requests, from its metrics line: a
        // page that read the link or the user would count them.
        let (page, requests) = app
            .call(Endpoint::P3)
            .header("accept-language", "en")
            .query("token", &token)
            .send_counting_round_trips()
            .await;
        assert_eq!(page.status(), 200);
        assert_eq!(requests, 0, "DynamoDB requests while showing the page");
    }
    assert!(
        app.stored_user(&user).await == before,
        "a link scanner opening the page changed the user"
    );
    assert_eq!(
        app.p2_confirm(&token, "violet-kettle-sunrise-42")
            .await
            .status(),
        204,
        "the link still works"
    );
    assert!(app.stored_user(&user).await.password_hash.is_some());
}

#[tokio::test]
async fn a_missing_token_shows_a_clear_message() {
    let app = spawn_app().await;
    let response = open(&app, None, "en").await;
    assert_eq!(response.status(), 400);
    let page = html(&response);
    assert!(page.contains("This link is incomplete"), "{page}");
    assert!(!page.contains("<form"));
}

mod twin {
    use super::*;
    use integration_tests::{spawn_twin, spawn_twin_with};

    #[tokio::test]
    async fn german_browsers_get_german() {
        let app = spawn_twin().await;
        let page = html(&open(&app, Some("abc"), "de-DE,de;q=0.9,en;q=0.5").await);
        assert!(page.contains(r#"<html lang="de">"#));
        assert!(page.contains("Passwort festlegen"));
        assert!(page.contains("Mindestens 8 Zeichen"));
    }

    #[tokio::test]
    async fn without_a_configured_url_the_email_links_to_the_stages_own_page() {
        let app = spawn_twin_with(|s| {
            s.remove("SET_PASSWORD_URL");
        })
        .await;
        let email = unique_email("stagelink");
        let user = app.create_user(&email).await;
        assert_eq!(
            app.p1_request_link(&app.token_for(user.id.as_str()))
                .await
                .status(),
            202
        );
        let body = app.mails_to(&email).pop().unwrap().body;
        assert!(
            body.contains("https://abcdef1234.execute-api.eu-central-1.amazonaws.com/dev/user/password/set?token="),
            "{body}"
        );
    }
}

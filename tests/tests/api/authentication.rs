//! Bearer-token verification (SPEC section 1): the verifier on its own, then
//! the same negatives through a real endpoint (401 + `WWW-Authenticate`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use integration_tests::keys::{ec_key, jwks, rsa_key, SigningKey};
use integration_tests::{error_code, spawn_app, unique_email};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use password_service::auth::{mint_hs256, AuthError, Authenticator};
use password_service::config::JwtSettings;
use password_service::domain::SecretBytes;
use serde_json::{json, Value};

const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "password-service";
const HS_SECRET: &[u8] = b"an-hs256-secret-of-at-least-32-bytes!";
const NOW: i64 = 1_800_000_000;

fn claims() -> Value {
    json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": "0123456789abcdef01234567", "iat": NOW, "exp": NOW + 600 })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

fn hs256(claims: &Value) -> String {
    mint_hs256(HS_SECRET, claims).unwrap()
}

/// An HS256 token with a header the service's minter never writes.
fn hs256_with_header(header: Header, claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(key)).unwrap()
}

fn signed(key: &SigningKey, alg: Algorithm, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

/// A token assembled by hand, for headers no honest library writes.
fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

struct Keys {
    rsa: SigningKey,
    ec: SigningKey,
}

fn keys() -> Keys {
    Keys {
        rsa: rsa_key("rsa-1"),
        ec: ec_key("ec-1"),
    }
}

fn authenticator(keys: &Keys, hs256: bool) -> Authenticator {
    Authenticator::new(&JwtSettings {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        hs256_secret: hs256.then(|| SecretBytes::new(HS_SECRET)),
        jwks_json: Some(jwks(&[&keys.rsa, &keys.ec])),
        jwks_url: None,
        jwks_refresh_seconds: 60,
        leeway_seconds: 30,
    })
    .unwrap()
}

/// The bytes of an `Authorization: Bearer <token>` header.
fn bearer(token: &str) -> Vec<u8> {
    format!("Bearer {token}").into_bytes()
}

async fn accepts(auth: &Authenticator, token: &str) -> bool {
    auth.authenticate(Some(&bearer(token)), NOW).await.is_ok()
}

async fn rejects(auth: &Authenticator, token: &str) -> bool {
    matches!(
        auth.authenticate(Some(&bearer(token)), NOW).await,
        Err(AuthError::InvalidToken(_))
    )
}

#[tokio::test]
async fn valid_tokens_of_each_configured_algorithm_are_accepted() {
    let keys = keys();
    let auth = authenticator(&keys, true);
    for token in [
        hs256(&claims()),
        signed(&keys.rsa, Algorithm::RS256, &claims()),
        signed(&keys.ec, Algorithm::ES256, &claims()),
    ] {
        let caller = auth.authenticate(Some(&bearer(&token)), NOW).await.unwrap();
        assert_eq!(caller.subject, "0123456789abcdef01234567");
        assert_eq!(caller.issued_at, Some(NOW));
    }
}

#[tokio::test]
async fn scopes_come_from_scope_or_scp() {
    let keys = keys();
    let auth = authenticator(&keys, true);
    let spaced = hs256(&with(
        claims(),
        "scope",
        json!("openid users:resetPassword"),
    ));
    assert!(auth
        .authenticate(Some(&bearer(&spaced)), NOW)
        .await
        .unwrap()
        .has_scope("users:resetPassword"));
    let listed = hs256(&with(claims(), "scp", json!(["users:resetPassword"])));
    assert!(auth
        .authenticate(Some(&bearer(&listed)), NOW)
        .await
        .unwrap()
        .has_scope("users:resetPassword"));
    assert!(!auth
        .authenticate(Some(&bearer(&hs256(&claims()))), NOW)
        .await
        .unwrap()
        .has_scope("users:resetPassword"));
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let auth = authenticator(&keys(), true);
    let token = raw_token(&json!({"alg": "none", "typ": "JWT"}), &claims(), b"");
    assert!(rejects(&auth, &token).await);
    let token = raw_token(&json!({"alg": "None"}), &claims(), b"");
    assert!(rejects(&auth, &token).await);
}

#[tokio::test]
async fn a_tampered_payload_is_rejected() {
    let auth = authenticator(&keys(), true);
    let token = hs256(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    let forged = URL_SAFE_NO_PAD
        .encode(with(claims(), "sub", json!("ffffffffffffffffffffffff")).to_string());
    assert!(rejects(&auth, &format!("{}.{}.{}", parts[0], forged, parts[2])).await);
}

#[tokio::test]
async fn wrong_issuer_or_audience_is_rejected() {
    let auth = authenticator(&keys(), true);
    assert!(
        rejects(
            &auth,
            &hs256(&with(claims(), "iss", json!("https://evil.example")))
        )
        .await
    );
    assert!(
        rejects(
            &auth,
            &hs256(&with(claims(), "aud", json!("another-service")))
        )
        .await
    );
}

#[tokio::test]
async fn exp_iss_aud_are_required() {
    let auth = authenticator(&keys(), true);
    for claim in ["exp", "iss", "aud", "sub"] {
        assert!(
            rejects(&auth, &hs256(&without(claims(), claim))).await,
            "{claim}"
        );
    }
}

#[tokio::test]
async fn expiry_allows_the_leeway_and_no_more() {
    let auth = authenticator(&keys(), true);
    let within = hs256(&with(claims(), "exp", json!(NOW - 29)));
    assert!(accepts(&auth, &within).await);
    let expired = hs256(&with(claims(), "exp", json!(NOW - 30)));
    assert!(rejects(&auth, &expired).await);
}

#[tokio::test]
async fn nbf_is_honoured() {
    let auth = authenticator(&keys(), true);
    assert!(rejects(&auth, &hs256(&with(claims(), "nbf", json!(NOW + 31)))).await);
    assert!(accepts(&auth, &hs256(&with(claims(), "nbf", json!(NOW + 29)))).await);
}

#[tokio::test]
async fn a_token_issued_in_the_future_is_rejected_beyond_the_leeway() {
    let auth = authenticator(&keys(), true);
    assert!(rejects(&auth, &hs256(&with(claims(), "iat", json!(NOW + 31)))).await);
    assert!(accepts(&auth, &hs256(&with(claims(), "iat", json!(NOW + 29)))).await);
}

#[tokio::test]
async fn time_claims_at_the_ends_of_the_range_neither_wrap_nor_panic() {
    let auth = authenticator(&keys(), true);
    let far_future = hs256(&with(claims(), "exp", json!(i64::MAX)));
    assert!(accepts(&auth, &far_future).await);
    let far_past = hs256(&with(claims(), "exp", json!(i64::MIN)));
    assert!(rejects(&auth, &far_past).await);
    let nbf_min = hs256(&with(claims(), "nbf", json!(i64::MIN)));
    assert!(accepts(&auth, &nbf_min).await);
    let iat_max = hs256(&with(claims(), "iat", json!(i64::MAX)));
    assert!(rejects(&auth, &iat_max).await);
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_rejected() {
    let keys = keys();
    let header = Header {
        kid: Some("rsa-1".into()),
        ..Header::new(Algorithm::HS256)
    };
    let confused = hs256_with_header(header, &claims(), &keys.rsa.public_der);
    // With an HS256 secret configured, the signature does not match it …
    assert!(rejects(&authenticator(&keys, true), &confused).await);
    // … and without one, HS256 is not an accepted algorithm at all.
    assert!(rejects(&authenticator(&keys, false), &confused).await);
}

#[tokio::test]
async fn hs256_is_refused_when_not_configured() {
    let auth = authenticator(&keys(), false);
    assert!(rejects(&auth, &hs256(&claims())).await);
}

#[tokio::test]
async fn keys_named_in_the_token_are_never_used() {
    let keys = keys();
    let auth = authenticator(&keys, true);
    let plain = || Header::new(Algorithm::HS256);
    for header in [
        Header {
            jku: Some("https://evil.example/jwks.json".into()),
            ..plain()
        },
        Header {
            x5u: Some("https://evil.example/cert.pem".into()),
            ..plain()
        },
        Header {
            jwk: Some(serde_json::from_value(keys.rsa.jwk.clone()).unwrap()),
            ..plain()
        },
    ] {
        let shown = format!("{header:?}");
        assert!(
            rejects(&auth, &hs256_with_header(header, &claims(), HS_SECRET)).await,
            "{shown}"
        );
    }
}

#[tokio::test]
async fn an_unknown_key_id_is_rejected() {
    let keys = keys();
    let auth = authenticator(&keys, true);
    let stranger = rsa_key("rsa-unknown");
    assert!(rejects(&auth, &signed(&stranger, Algorithm::RS256, &claims())).await);
}

#[tokio::test]
async fn a_token_signed_by_another_key_with_a_known_kid_is_rejected() {
    let keys = keys();
    let auth = authenticator(&keys, true);
    let impostor = rsa_key("rsa-1");
    assert!(rejects(&auth, &signed(&impostor, Algorithm::RS256, &claims())).await);
}

#[tokio::test]
async fn the_scheme_name_is_case_insensitive() {
    let auth = authenticator(&keys(), true);
    let value = format!("bEaReR {}", hs256(&claims()));
    assert!(auth.authenticate(Some(value.as_bytes()), NOW).await.is_ok());
}

#[tokio::test]
async fn no_token_or_another_scheme_is_missing_authentication() {
    let auth = authenticator(&keys(), true);
    assert_eq!(
        auth.authenticate(None, NOW).await.unwrap_err(),
        AuthError::Missing
    );
    assert_eq!(
        auth.authenticate(Some(b"Basic dXNlcjpwYXNz"), NOW)
            .await
            .unwrap_err(),
        AuthError::Missing
    );
    assert_eq!(
        auth.authenticate(Some(b"Bearer \xff\xfe"), NOW)
            .await
            .unwrap_err(),
        AuthError::InvalidToken("malformed authorization header"),
        "bytes that are not text"
    );
}

// Through a real endpoint.

async fn assert_invalid_token_at_p1(app: &integration_tests::TestApp, token: &str) {
    let response = app.p1_request_link(token).await;
    assert_eq!(response.status(), 401, "{token}");
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.api+json"
    );
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert_eq!(error_code(&response), "invalid-token");
}

#[tokio::test]
async fn a_token_issued_before_the_users_sessions_not_before_is_401() {
    let app = spawn_app().await;
    let now = {
        use password_service::clock::Clock;
        app.clock.now_seconds()
    };
    let user = app
        .create_user_with(&unique_email("cutoff"), |u| {
            u.sessions_not_before = Some(now)
        })
        .await;
    let older = app.token_with(user.id.as_str(), |c| {
        c.insert("iat".into(), json!(now - 1));
    });
    assert_invalid_token_at_p1(&app, &older).await;
    let no_iat = app.token_with(user.id.as_str(), |c| {
        c.remove("iat");
    });
    assert_invalid_token_at_p1(&app, &no_iat).await;
    assert_eq!(
        app.p1_request_link(&app.token_for(user.id.as_str()))
            .await
            .status(),
        202
    );
}

#[tokio::test]
async fn no_token_is_401_with_a_plain_challenge() {
    let app = spawn_app().await;
    let response = app.call(integration_tests::Endpoint::P1).send().await;
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"));
    assert!(!challenge.contains("error="));
    assert_eq!(error_code(&response), "authentication-required");
}

mod twin {
    use super::*;
    use integration_tests::spawn_twin_with;

    #[tokio::test]
    async fn p1_answers_401_with_a_challenge_for_every_bad_token() {
        // A public key beside the HS256 secret, so that a key-confusion token
        // has a key to be confused with.
        let rsa = rsa_key("confusable");
        let app = spawn_twin_with(|s| {
            s.insert("JWT_JWKS".into(), jwks(&[&rsa]));
        })
        .await;
        let user = app.create_user(&unique_email("jwt")).await;
        let good = app.token_for(user.id.as_str());
        let claims: Value = {
            let payload = good.split('.').nth(1).unwrap();
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
        };
        let secret = app.settings["JWT_HS256_SECRET"].as_bytes().to_vec();
        let hs = |claims: &Value| mint_hs256(&secret, claims).unwrap();

        let none = raw_token(&json!({"alg": "none"}), &claims, b"");
        let tampered = {
            let parts: Vec<&str> = good.split('.').collect();
            let forged = with(claims.clone(), "sub", json!("ffffffffffffffffffffffff"));
            format!(
                "{}.{}.{}",
                parts[0],
                URL_SAFE_NO_PAD.encode(forged.to_string()),
                parts[2]
            )
        };
        let wrong_iss = hs(&with(claims.clone(), "iss", json!("https://evil.example")));
        let wrong_aud = hs(&with(claims.clone(), "aud", json!("someone-else")));
        let expired = hs(&with(
            claims.clone(),
            "exp",
            json!(claims["iat"].as_i64().unwrap() - 3600),
        ));
        // HS256 keyed with the configured RSA key's public half, naming it.
        let mut confused = Header::new(Algorithm::HS256);
        confused.kid = Some(rsa.kid.clone());
        let key_confusion = hs256_with_header(confused, &claims, &rsa.public_der);
        let rs256 = signed(&rsa, Algorithm::RS256, &claims);
        let from_the_future = hs(&with(
            claims.clone(),
            "iat",
            json!(claims["iat"].as_i64().unwrap() + 3600),
        ));

        for token in [
            none,
            tampered,
            wrong_iss,
            wrong_aud,
            expired,
            key_confusion,
            from_the_future,
        ] {
            assert_invalid_token_at_p1(&app, &token).await;
        }
        assert_eq!(
            app.p1_request_link(&good).await.status(),
            202,
            "the good token still works"
        );
        assert_eq!(
            app.p1_request_link(&rs256).await.status(),
            202,
            "the RSA key is configured: a token it signed passes"
        );
    }
}

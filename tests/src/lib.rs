//! The test harness: the real handlers, fed API Gateway events, with an
//! injectable clock, a token minter and the captured mail, on either of two
//! backends:
//!
//! - [`spawn_app`]: DynamoDB and SES v2 on the emulator (its address comes from
//!   the environment `make test` sets, `AWS_ENDPOINT_URL_DYNAMODB`), the
//!   secrets from its Secrets Manager;
//! - [`spawn_twin`]: the in-memory twins, `MemoryStore` and `MemoryMailer`
//!   (proven equal to the adapters by the store's and the mailer's contracts,
//!   `store_contract` and `mail_contract`),
//!   the secrets from scripts/local-secrets.env ([`LocalSecrets`]). No
//!   emulator, one store per app.
//!
//! Everything else comes from `local.env`. Every endpoint has its caller here
//! (`callers`), so a test reaches an endpoint one way only, and everything a
//! test reads through [`TestApp`] (mail, stored users, injected store
//! failures) reads the same on both backends; only [`TestApp::emulator`] is
//! the emulator's alone.
//!
//! Which test runs where (tests/tests/api): each area's refusals and edge
//! cases (validation, wrong secrets, limits, expiry by the clock, idempotence,
//! policy, injected store failures, what is stored and mailed) run on the
//! twin, in a module `twin` of the area, with the store contract's twin half
//! (`store_contract::twin`); `cargo test -p integration-tests --test api
//! twin::` runs all of them, no emulator needed. On the emulator stay, per
//! endpoint, one happy path and, per family, the shape of each kind of
//! refusal; every race (the twin's one lock would serialise it); the round
//! trip counts; what reads the emulator or the real SDK (its mail, its tables,
//! Secrets Manager, unreachable endpoints, logs and metrics); and the store
//! contract's DynamoDB half. Tests that need no store at all (the verifier's,
//! the template's) run anywhere.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_credential_types::provider::{future, ProvideCredentials};
use aws_sdk_dynamodb::config::{Credentials, IdentityCache, Region};
use password_service::auth::{mint_hs256, token_claims};
use password_service::aws::{Budget, SecretsManager};
use password_service::clock::{Clock, ManualClock};
use password_service::config::{Config, MetricsSettings};
use password_service::domain::{
    random_hex, Email, Locale, OtpKeyRing, PasswordPolicy, Pepper, Purpose, Secret, User, UserId,
};
use password_service::flows::ports::{OtpKeys, PepperKeys};
use password_service::hashing::Verification;
use password_service::mail::{Mailer, MemoryMailer, OutgoingMail, SesMailer};
use password_service::secrets::SecretSource;
use password_service::services::Services;
use password_service::store::{DynamoStore, MemoryStore, Store};
use serde_json::Value;

mod callers;
pub mod contract;
pub mod instrumented_store;
pub mod keys;
mod local_secrets;
mod log_capture;
pub mod mail_contract;
mod requests;
pub mod store_contract;

pub use callers::{Call, Endpoint};

tokio::task_local! {
    /// The function whose handler is running (its crate name), set around
    /// each handler call by [`Call::send`].
    static CALLER: &'static str;
}

/// Signs each AWS call with the running function's own access key id, as
/// each deployed function calls with its own role: the recording proxy in
/// front of the emulator attributes every call to its function, and
/// scripts/iam_check.py checks it against that function's policy. Calls
/// outside a handler (the tests' own setup and reads) sign as `tests`.
#[derive(Debug)]
struct CallerCredentials;

impl ProvideCredentials for CallerCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let key = CALLER.try_with(|function| *function).unwrap_or("tests");
        future::ProvideCredentials::ready(Ok(Credentials::new(key, "local", None, None, "tests")))
    }
}

/// Runs `work` (a handler call) as `function`: its AWS calls carry its key.
pub async fn as_function<F: std::future::Future>(function: &'static str, work: F) -> F::Output {
    CALLER.scope(function, work).await
}
pub use instrumented_store::InstrumentedStore;
pub use local_secrets::LocalSecrets;
pub use log_capture::{captured_logs, contains_standalone};
pub use requests::{api_request, api_request_bytes, event_request};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Checks that every case a contract module under tests/src defines (its
/// `pub async fn`s) is among `listed`, the cases run on both implementations.
pub fn assert_every_contract_case_listed(module: &str, listed: &[&str]) {
    let source = std::fs::read_to_string(repo_root().join("tests/src").join(module))
        .expect("the contract module");
    let defined: Vec<&str> = source
        .lines()
        .filter_map(|line| line.strip_prefix("pub async fn "))
        .map(|rest| rest.split('(').next().unwrap_or(rest))
        .collect();
    assert!(!defined.is_empty(), "{module} defines no case");
    let left_out: Vec<&&str> = defined
        .iter()
        .filter(|case| !listed.contains(case))
        .collect();
    assert!(
        left_out.is_empty(),
        "{module}: cases run on neither implementation: {left_out:?}"
    );
}

/// `local.env`, overridden by the process environment for the keys it holds.
pub fn local_settings() -> HashMap<String, String> {
    password_service::env_file::read(&repo_root().join("local.env"))
        .expect("local.env")
        .into_iter()
        .map(|(key, value)| {
            let value = std::env::var(&key).unwrap_or(value);
            (key, value)
        })
        .collect()
}

/// The local stack's secret values (scripts/local-secrets.env), which the
/// emulator's Secrets Manager holds under the ids local.env gives: for tests
/// that look for them where they must never be (logs, metrics).
pub fn local_secrets() -> HashMap<String, String> {
    password_service::env_file::read(&repo_root().join("scripts/local-secrets.env"))
        .expect("scripts/local-secrets.env")
        .into_iter()
        .collect()
}

/// Sets a secret's value in the emulator's Secrets Manager (creating it
/// first where it does not exist), as an operator's rotation does.
pub async fn put_secret(settings: &HashMap<String, String>, id: &str, value: &str) {
    let sdk = aws_config::SdkConfig::builder()
        .region(Region::new(settings["AWS_REGION"].clone()))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            Credentials::new("tests", "local", None, None, "tests"),
        ))
        .endpoint_url(&settings["AWS_ENDPOINT_URL_SECRETS_MANAGER"])
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let put = client
        .put_secret_value()
        .secret_id(id)
        .secret_string(value)
        .send()
        .await;
    if put.is_err() {
        client
            .create_secret()
            .name(id)
            .secret_string(value)
            .send()
            .await
            .expect("a secret in the emulator");
    }
}

/// A fresh secret id for a test's own secret (one it rotates): never the
/// local stack's, which every other test reads.
pub fn random_secret_id(name: &str) -> String {
    format!("password-service/tests/{name}-{}", random_hex(6))
}

/// The key of a local key-ring secret (`<id>:<key>`), as it would show in a log.
pub fn local_secret_key(name: &str) -> String {
    let ring = &local_secrets()[name];
    ring.split_once(':').expect("<key-id>:<key>").1.to_owned()
}

/// The app under test: the functions' [`Services`] on the emulator or on the
/// twins, with a clock that moves only when told. Clones share everything.
#[derive(Clone)]
pub struct TestApp {
    pub services: Arc<Services>,
    pub clock: ManualClock,
    pub settings: HashMap<String, String>,
    /// Where each call's metrics line goes, as the functions read it.
    pub metrics: MetricsSettings,
    backend: Backend,
}

/// Where an app's store and mail live.
#[derive(Clone)]
enum Backend {
    /// DynamoDB and SES v2 on the emulator, at the settings' addresses.
    Emulator,
    /// The in-memory twins; the mailer kept, to read what it sent.
    Twin { mailer: Arc<MemoryMailer> },
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// An app whose settings `adjust` may change first (e.g. a required linked identity).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
    spawn_on(adjust, |settings, config| {
        let sdk = emulator_sdk(settings);
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .endpoint_url(&settings["AWS_ENDPOINT_URL_DYNAMODB"])
                .build(),
        );
        let ses = emulator_ses(&sdk, settings);
        // A test's own secrets (see [`random_secret_id`]) are read as the tests:
        // IAM knows only the stage's secrets, which the local ones stand for.
        let own_secrets = ["PEPPER_SECRET_ID", "OTP_ENCRYPTION_KEY_SECRET_ID"]
            .iter()
            .any(|name| settings.get(*name) != local_settings().get(*name));
        let secrets_sdk = if own_secrets {
            sdk.to_builder()
                .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                    Credentials::new("tests", "local", None, None, "tests"),
                ))
                .build()
        } else {
            sdk
        };
        Backing {
            store: Arc::new(DynamoStore::new(dynamodb, config.tables.clone())),
            mailer: Arc::new(SesMailer::new(move || ses, config.mail.from.clone())),
            secrets: Arc::new(SecretsManager::new(secrets_sdk, Budget::Local)),
            backend: Backend::Emulator,
        }
    })
}

/// The SDK configuration of an app on the emulator: each call signed with
/// its caller's key ([`CallerCredentials`]).
fn emulator_sdk(settings: &HashMap<String, String>) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .region(Region::new(settings["AWS_REGION"].clone()))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            CallerCredentials,
        ))
        // Credentials are asked for on every call: a cache would sign one
        // function's call with the key another one resolved.
        .identity_cache(IdentityCache::no_cache())
        // Secrets Manager's reads go to the emulator (the DynamoDB and SES
        // clients built on it set their own endpoints).
        .endpoint_url(&settings["AWS_ENDPOINT_URL_SECRETS_MANAGER"])
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

/// The emulator's SES v2.
fn emulator_ses(
    sdk: &aws_config::SdkConfig,
    settings: &HashMap<String, String>,
) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(sdk)
            .endpoint_url(&settings["AWS_ENDPOINT_URL_SESV2"])
            .build(),
    )
}

/// An address where nothing listens: a client pointed there fails for real,
/// as with the service unreachable.
pub const CLOSED_PORT: &str = "http://127.0.0.1:9";

/// An app on the emulator whose `endpoint` setting (`AWS_ENDPOINT_URL_DYNAMODB`
/// or `AWS_ENDPOINT_URL_SESV2`) is [`CLOSED_PORT`]: that service unreachable.
pub async fn spawn_app_unreachable(endpoint: &str) -> TestApp {
    spawn_app_with(|s| {
        s.insert(endpoint.into(), CLOSED_PORT.into());
    })
    .await
}

/// The same app as [`spawn_app`] on the in-memory twins: a store and a
/// mailer of its own, the local secrets, no emulator.
pub async fn spawn_twin() -> TestApp {
    spawn_twin_with(|_| {}).await
}

/// A twin app whose settings `adjust` may change first, as [`spawn_app_with`].
pub async fn spawn_twin_with(adjust: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
    spawn_on(adjust, |_, _| {
        let mailer = Arc::new(MemoryMailer::new());
        Backing {
            store: Arc::new(MemoryStore::new()),
            mailer: mailer.clone(),
            secrets: Arc::new(LocalSecrets::new()),
            backend: Backend::Twin { mailer },
        }
    })
}

/// What an app's services run on: a store, a mailer and the secrets, and
/// which backend they are.
struct Backing {
    store: Arc<dyn Store>,
    mailer: Arc<dyn Mailer>,
    secrets: Arc<dyn SecretSource>,
    backend: Backend,
}

/// A new app, its clock at now, on `local.env` as `adjust` leaves it and on
/// what `backing` makes of those settings and their configuration: the
/// setup [`spawn_app_with`] and [`spawn_twin_with`] share.
fn spawn_on(
    adjust: impl FnOnce(&mut HashMap<String, String>),
    backing: impl FnOnce(&HashMap<String, String>, &Config) -> Backing,
) -> TestApp {
    let mut settings = local_settings();
    adjust(&mut settings);
    let config = Config::from_map(&settings).expect("test configuration");
    let backing = backing(&settings, &config);
    TestApp::assemble(
        settings,
        config,
        ManualClock::starting_now(),
        MetricsSettings::from_env(),
        backing,
    )
}

/// The digest of `user`'s `pin` under `pepper`'s current key.
fn pin_digest_under(pepper: &Pepper, user: &UserId, pin: &str) -> String {
    pepper.digest(Purpose::Pin, user.as_str(), &Secret::new(pin))
}

/// A fresh address, so parallel tests never read each other's mail.
pub fn unique_email(name: &str) -> String {
    format!("{name}.{}@example.com", random_hex(6))
}

impl TestApp {
    /// The same app, its store instrumented: calls counted, and the named
    /// methods failing (see [`instrumented_store`]).
    pub fn instrumented(&self, failing: &[&'static str]) -> (TestApp, Arc<InstrumentedStore>) {
        let store = Arc::new(InstrumentedStore::new(self.services.store.clone(), failing));
        let config = Config::from_map(&self.settings).expect("test configuration");
        let backing = Backing {
            store: store.clone(),
            mailer: self.services.mailer.clone(),
            secrets: self.services.secrets(),
            backend: self.backend.clone(),
        };
        let app = TestApp::assemble(
            self.settings.clone(),
            config,
            self.clock.clone(),
            self.metrics.clone(),
            backing,
        );
        (app, store)
    }

    /// The functions' [`Services`] on `backing`, with `clock`, as an app.
    fn assemble(
        settings: HashMap<String, String>,
        config: Config,
        clock: ManualClock,
        metrics: MetricsSettings,
        backing: Backing,
    ) -> TestApp {
        let services = Services::new(
            config,
            backing.store,
            backing.mailer,
            Arc::new(clock.clone()),
            backing.secrets,
        )
        .expect("services");
        TestApp {
            services: Arc::new(services),
            clock,
            settings,
            metrics,
            backend: backing.backend,
        }
    }

    /// The same app, but the named store methods fail.
    pub fn with_failing(&self, methods: &[&'static str]) -> TestApp {
        self.instrumented(methods).0
    }

    /// A mailer whose every send the provider refuses (SES: a sender it has
    /// not verified; the twin: one refusing on the app's own outbox), on the
    /// same outbox as the app's mailer, read with [`TestApp::mails_to`].
    pub fn mailer_refused_by_the_provider(&self) -> Arc<dyn Mailer> {
        match &self.backend {
            Backend::Emulator => {
                let settings = self.settings.clone();
                Arc::new(SesMailer::new(
                    move || emulator_ses(&emulator_sdk(&settings), &settings),
                    "no-reply@sender-not-verified.example".into(),
                ))
            }
            Backend::Twin { mailer } => Arc::new(mailer.with_refused_sender()),
        }
    }

    /// The emulator's address, for a test that reads it directly: such a
    /// test runs on [`spawn_app`].
    pub fn emulator(&self) -> &str {
        match self.backend {
            Backend::Emulator => &self.settings["AWS_ENDPOINT_URL_DYNAMODB"],
            Backend::Twin { .. } => {
                panic!("this test reads the emulator itself: it runs on spawn_app, not spawn_twin")
            }
        }
    }

    /// A user without a password, stored through the store port.
    pub async fn create_user(&self, email: &str) -> User {
        self.create_user_with(email, |_| {}).await
    }

    pub async fn create_user_with(&self, email: &str, adjust: impl FnOnce(&mut User)) -> User {
        let mut user = User::new(Email::parse(email).unwrap(), Locale::En, "org-test".into());
        adjust(&mut user);
        self.services
            .store
            .create_user(&user, "tests", self.clock.now_millis())
            .await
            .expect("create user");
        self.stored_user(&user).await
    }

    /// The pepper the functions read now (its current key digests).
    pub async fn pepper(&self) -> Arc<Pepper> {
        self.services.pepper().await.expect("the local pepper")
    }

    /// The PIN digest the functions store for `user`'s `pin`, under the
    /// pepper's current key.
    pub async fn pin_digest(&self, user: &UserId, pin: &str) -> String {
        pin_digest_under(&*self.pepper().await, user, pin)
    }

    /// A user whose PIN is `pin` (stored as [`TestApp::pin_digest`] gives it),
    /// and whatever else `adjust` sets.
    pub async fn create_user_with_pin(
        &self,
        email: &str,
        pin: &str,
        adjust: impl FnOnce(&mut User),
    ) -> User {
        let pepper = self.pepper().await;
        self.create_user_with(email, |u| {
            u.pin_hmac = Some(pin_digest_under(&pepper, &u.id, pin));
            adjust(u);
        })
        .await
    }

    /// The OTP key ring the functions read now.
    pub async fn otp_keys(&self) -> Arc<OtpKeyRing> {
        self.services
            .otp_keys()
            .await
            .expect("the local OTP key ring")
    }

    /// The PHC hash of `password` as the service would store it (the policy's
    /// normalisation, a minimum length of 1).
    pub async fn hash_of(&self, password: &str) -> String {
        let accepted = PasswordPolicy::new(1)
            .accept(
                &Secret::new(password),
                &Email::parse("hash.of@example.com").unwrap(),
            )
            .expect("a password the policy accepts");
        self.services.hasher.hash(accepted).await.unwrap()
    }

    /// A user whose password is `password` (hashed as the service does).
    pub async fn create_user_with_password(&self, email: &str, password: &str) -> User {
        let hash = self.hash_of(password).await;
        self.create_user_with(email, |u| u.password_hash = Some(hash))
            .await
    }

    /// Whether `password` is the user's stored password.
    pub async fn password_is(&self, user: &User, password: &str) -> bool {
        let stored = self.stored_user(user).await.password_hash;
        matches!(
            self.services
                .hasher
                .verify(Secret::new(password), stored)
                .await
                .unwrap(),
            Verification::Valid { .. }
        )
    }

    pub async fn stored_user(&self, user: &User) -> User {
        self.services
            .store
            .get_user(&user.id)
            .await
            .unwrap()
            .unwrap()
    }

    /// An HS256 token for `subject`, issued now by the app's clock.
    pub fn token_for(&self, subject: &str) -> String {
        self.token_with(subject, |_| {})
    }

    /// A token whose claims `adjust` may change (e.g. a scope, no `iat`),
    /// minted by the crate's own minter.
    pub fn token_with(
        &self,
        subject: &str,
        adjust: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) -> String {
        let mut claims = token_claims(
            &self.settings["JWT_ISSUER"],
            &self.settings["JWT_AUDIENCE"],
            subject,
            None,
            self.clock.now_seconds(),
            3600,
        );
        adjust(claims.as_object_mut().unwrap());
        mint_hs256(self.settings["JWT_HS256_SECRET"].as_bytes(), &claims).unwrap()
    }

    /// A token with `users:resetPassword` for a new admin (each its own
    /// subject, so no two tests share an admin's rate window).
    pub fn admin_token(&self) -> String {
        self.admin_token_for(&format!("admin-{}", random_hex(4)))
    }

    pub fn admin_token_for(&self, subject: &str) -> String {
        self.token_with(subject, |c| {
            c.insert("scope".into(), "openid users:resetPassword".into());
        })
    }

    /// The emails sent to `to` (as the emulator captured them, or as the
    /// twin's mailer kept them), oldest first.
    pub fn mails_to(&self, to: &str) -> Vec<CapturedMail> {
        match &self.backend {
            Backend::Emulator => captured_mail_to(self.emulator(), to),
            Backend::Twin { mailer } => mailer
                .mails_to(to)
                .iter()
                .map(|mail| CapturedMail::as_sent(mail, &self.services.config.mail.from))
                .collect(),
        }
    }

    /// The token in the newest set-password link sent to `to`.
    pub fn token_from_latest_link(&self, to: &str) -> String {
        let mails = self.mails_to(to);
        let mail = mails.last().expect("a set-password email");
        link_token(&mail.body).expect("a link with a token")
    }

    /// The reset code (Z1) in the newest email sent to `to`.
    pub fn code_from_latest_mail(&self, to: &str) -> String {
        let mails = self.mails_to(to);
        let body = &mails.last().expect("a reset email").body;
        body.lines()
            .map(|line| without_tags(line).trim().to_string())
            .find(|l| {
                l.len() == 6
                    && l.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            })
            .expect("a code line")
    }

    /// A new user (address from `name`) who has asked for a set-password
    /// link: the user, their address, and the token from the emailed link.
    pub async fn user_with_link(&self, name: &str) -> (User, String, String) {
        let email = unique_email(name);
        let user = self.create_user(&email).await;
        let response = self
            .p1_request_link(&self.token_for(user.id.as_str()))
            .await;
        assert_eq!(response.status(), 202, "the link request");
        let token = self.token_from_latest_link(&email);
        (user, email, token)
    }
}

#[derive(Debug, Clone)]
pub struct CapturedMail {
    pub to: Vec<String>,
    pub subject: String,
    /// The HTML part where the mail has one (the emulator keeps only that),
    /// its character references decoded, so a link reads as it was sent.
    pub body: String,
    pub source: String,
}

impl CapturedMail {
    /// A mail the twin's mailer kept, read as the emulator reads what SES
    /// sent from `from`: its HTML part where it has one.
    fn as_sent(mail: &OutgoingMail, from: &str) -> Self {
        let (html, text) = (mail.html.expose(), mail.text.expose());
        CapturedMail {
            to: vec![mail.to.as_str().to_owned()],
            subject: mail.subject.clone(),
            body: decode_references(if html.is_empty() { text } else { html }),
            source: from.to_owned(),
        }
    }
}

/// The mail the emulator's SES has sent to `to`, oldest first (scripts/emulator.py
/// serves it on `/_emulator/sent-mail`).
pub fn captured_mail_to(emulator: &str, to: &str) -> Vec<CapturedMail> {
    let mails: Value = ureq::get(&format!("{emulator}/_emulator/sent-mail"))
        .query("to", to)
        .call()
        .expect("the emulator's sent mail")
        .body_mut()
        .read_json()
        .expect("the emulator's sent mail is JSON");
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    mails
        .as_array()
        .expect("the emulator's sent mail is a list")
        .iter()
        .map(|m| CapturedMail {
            to: m["to"]
                .as_array()
                .map(|a| a.iter().map(text).collect())
                .unwrap_or_default(),
            subject: text(&m["subject"]),
            body: decode_references(&text(&m["body"])),
            source: text(&m["from"]),
        })
        .collect()
}

/// `text` with the character references the mail templates write (`&amp;`
/// in a link, and the rest of HTML escaping) decoded.
pub fn decode_references(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// A line of HTML without its tags.
fn without_tags(line: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in line.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// The `token` query parameter of the first link in a mail body.
pub fn link_token(body: &str) -> Option<String> {
    let start = body.find("token=")? + "token=".len();
    Some(
        body[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}

pub fn json_body(response: &lambda_http::Response<lambda_http::Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null)
}

/// The first JSON:API error's `code`.
pub fn error_code(response: &lambda_http::Response<lambda_http::Body>) -> String {
    json_body(response)["errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

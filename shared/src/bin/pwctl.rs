//! pwctl: the operator's command line over the service's own configuration.
//!
//! Settings come from the environment; where a variable is unset, from the
//! repository's `local.env`, so against the local stack it needs no setup.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use password_service::auth::{mint_hs256, token_claims};
use password_service::clock::rfc3339_millis;
use password_service::config::MailSettings;
use password_service::domain::{
    Email, Locale, OtpDevice, OtpSecret, Pin, Purpose, Secret, User, UserId,
};
use password_service::error::ServiceError;
use password_service::flows::pin_unlock;
use password_service::flows::ports::{OtpKeys, PepperKeys};
use password_service::mail::{Notice, Templates};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(name = "pwctl", about = "Operate the password service")]
struct Cli {
    /// Settings file for variables the environment does not set.
    #[arg(long, global = true, default_value_os_t = default_env_file())]
    env_file: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Users
    #[command(subcommand)]
    User(UserCommand),
    /// Mint a bearer token for a user (only where an HS256 secret is configured)
    Token {
        user_id: String,
        /// Space-separated scopes, e.g. "users:resetPassword"
        #[arg(long)]
        scope: Option<String>,
        /// Lifetime in seconds
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
    },
    /// A user's audit trail, newest first, as JSON (sequence, type, time, actor)
    Audit {
        user_id: String,
        /// Only the newest N events
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Captured mail of the local emulator; previews of the templates
    #[command(subcommand)]
    Mail(MailCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; prints {"userId": …}
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        pin: Option<String>,
        /// A device OTP's TOTP secret in base32 (for local testing; stored sealed)
        #[arg(long)]
        otp_secret: Option<String>,
        /// A tokenized payment-method reference (repeatable)
        #[arg(long = "payment-method")]
        payment_methods: Vec<String>,
        #[arg(long, default_value = "en")]
        locale: String,
        /// A linked identity such as a third-party login (repeatable)
        #[arg(long = "linked-identity")]
        linked_identities: Vec<String>,
        /// The organisation the user belongs to
        #[arg(long, default_value = "default-org")]
        resource_owner: String,
    },
    /// Show a user's status, without secrets
    Show { user_id: String },
    /// Clear the user's PIN failure window (an audited change by `operator`),
    /// so they may prove their PIN again at once
    Unlock { user_id: String },
}

#[derive(Subcommand)]
enum MailCommand {
    /// List captured emails as JSON
    List {
        #[arg(long)]
        to: Option<String>,
    },
    /// Render a message with sample values to files (HTML and text), from the
    /// built-in templates and those of MAIL_TEMPLATES_DIR
    Preview {
        /// The message: set-password-link, reset-code, password-set,
        /// password-changed, password-reset, critical-data-deleted,
        /// otp-enrolment-started, otp-activated, otp-removed
        message: String,
        #[arg(long, default_value = "en")]
        locale: String,
        /// Where the files go
        #[arg(long, default_value = "mail-preview")]
        out: PathBuf,
    },
}

/// The actor of the audit events this tool's changes record.
const OPERATOR: &str = "operator";

fn default_env_file() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../local.env"))
}

/// Sets each variable of `path` that the environment lacks. Runs before any
/// thread starts, so changing the environment is sound.
fn load_env_file(path: &Path) -> Result<(), String> {
    if !path.exists() {
        return Ok(()); // No file: the environment alone decides.
    }
    for (key, value) in password_service::env_file::read(path)? {
        if std::env::var_os(&key).is_none() {
            std::env::set_var(key, value);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = load_env_file(&cli.env_file) {
        eprintln!("pwctl: {error}");
        return ExitCode::from(2);
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(cli.command)) {
        Ok(Value::String(raw)) => {
            // A token prints bare, for `TOKEN=$(pwctl token …)`.
            println!("{raw}");
            ExitCode::SUCCESS
        }
        Ok(output) => {
            println!("{}", serde_json::to_string_pretty(&output).expect("JSON"));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("pwctl: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<Value, String> {
    match command {
        Command::Mail(MailCommand::List { to }) => return list_mail(to.as_deref()),
        Command::Mail(MailCommand::Preview {
            message,
            locale,
            out,
        }) => return preview_mail(&message, &locale, &out),
        _ => {}
    }
    let services = password_service::aws::operator_services_from_env()
        .await
        .map_err(|e| e.to_string())?;
    match command {
        Command::User(UserCommand::Create {
            email,
            password,
            pin,
            otp_secret,
            payment_methods,
            locale,
            linked_identities,
            resource_owner,
        }) => {
            let email = Email::parse(&email).ok_or("--email is not an email address")?;
            let locale = Locale::parse(&locale).ok_or("--locale must be en or de")?;
            let mut user = User::new(email, locale, resource_owner);
            user.payment_methods = payment_methods;
            user.linked_identities = linked_identities;
            if let Some(pin) = pin {
                let pin = Pin::parse(&pin).ok_or("--pin must be exactly four digits")?;
                let pepper = services.pepper().await.map_err(|e| e.to_string())?;
                user.pin_hmac = Some(pepper.digest(Purpose::Pin, user.id.as_str(), pin.secret()));
            }
            if let Some(base32) = otp_secret {
                let secret = OtpSecret::from_base32(&base32)
                    .map_err(|e| format!("--otp-secret rejected: {e}"))?;
                let keys = services.otp_keys().await.map_err(|e| e.to_string())?;
                user.otp_device = Some(OtpDevice {
                    sealed_secret: keys.encrypt(&secret, user.id.as_str()),
                    last_accepted_step: None,
                });
            }
            if let Some(password) = password {
                let accepted = services
                    .policy
                    .accept(&Secret::new(password), &user.email)
                    .map_err(|v| format!("--password rejected ({}): {v}", v.code()))?;
                user.password_hash = Some(
                    services
                        .hasher
                        .hash(accepted)
                        .await
                        .map_err(|e| e.to_string())?,
                );
                user.password_changed_at = Some(services.clock.now_millis());
            }
            services
                .store
                .create_user(&user, OPERATOR, services.clock.now_millis())
                .await
                .map_err(|e| e.to_string())?;
            Ok(json!({ "userId": user.id.as_str() }))
        }
        Command::User(UserCommand::Show { user_id }) => {
            let id = parse_user_id(&user_id)?;
            let (user, pin_failures) = services
                .store
                .user_with_pin_failures(&id, services.clock.now_seconds())
                .await
                .map_err(|e| e.to_string())?
                .ok_or("no such user")?;
            Ok(json!({
                "userId": user.id.as_str(),
                "email": user.email.as_str(),
                "locale": user.locale.as_str(),
                "resourceOwner": user.resource_owner,
                "hasPassword": user.has_password(),
                "changeRequired": user.change_required,
                "sequence": user.sequence,
                "pinSet": user.pin_hmac.is_some(),
                "pinFailures": pin_failures.count,
                "otpSet": user.otp_device.is_some(),
                "paymentMethods": user.payment_methods.len(),
                "linkedIdentities": user.linked_identities,
                "passwordChangedAt": user.password_changed_at.map(rfc3339_millis),
                "sessionsNotBefore": user.sessions_not_before.map(|s| rfc3339_millis(s * 1000)),
                "criticalDataDeletedAt": user.critical_data_deleted_at.map(rfc3339_millis),
            }))
        }
        Command::User(UserCommand::Unlock { user_id }) => {
            let id = parse_user_id(&user_id)?;
            let unlocked =
                pin_unlock::unlock(&services, &id, OPERATOR)
                    .await
                    .map_err(|e| match e {
                        ServiceError::UserNotFound => "no such user".to_string(),
                        other => other.to_string(),
                    })?;
            Ok(json!({
                "userId": id.as_str(),
                "clearedFailures": unlocked.cleared_failures,
                "sequence": unlocked.sequence,
            }))
        }
        Command::Audit { user_id, limit } => {
            let id = parse_user_id(&user_id)?;
            let events = services
                .store
                .latest_audit_events(&id, limit)
                .await
                .map_err(|e| e.to_string())?;
            if events.is_empty()
                && services
                    .store
                    .get_user(&id)
                    .await
                    .map_err(|e| e.to_string())?
                    .is_none()
            {
                return Err("no such user".into());
            }
            Ok(events
                .into_iter()
                .map(|event| {
                    json!({
                        "sequence": event.sequence,
                        "type": event.event_type,
                        "time": rfc3339_millis(event.at),
                        "actor": event.actor,
                    })
                })
                .collect())
        }
        Command::Token {
            user_id,
            scope,
            ttl,
        } => {
            let secret = services
                .config
                .jwt
                .hs256_secret
                .as_ref()
                .ok_or("tokens can be minted only where JWT_HS256_SECRET is configured")?;
            let jwt = &services.config.jwt;
            let claims = token_claims(
                &jwt.issuer,
                &jwt.audience,
                &user_id,
                scope.as_deref(),
                services.clock.now_seconds(),
                ttl,
            );
            let token = mint_hs256(secret.expose(), &claims).map_err(|e| e.to_string())?;
            Ok(Value::String(token))
        }
        Command::Mail(_) => unreachable!("handled above"),
    }
}

fn parse_user_id(raw: &str) -> Result<UserId, String> {
    UserId::parse(raw).ok_or_else(|| "a user id is 24 hex characters".to_string())
}

/// Needs no AWS and no other setting: only the templates, so an operator
/// can look at a changed one before deploying it.
fn preview_mail(message: &str, locale: &str, out: &Path) -> Result<Value, String> {
    let notice = Notice::sample(message).ok_or_else(|| {
        let mut names: Vec<&str> = Notice::SAMPLES.iter().map(|n| n.name()).collect();
        names.dedup();
        format!("no message {message:?}; one of: {}", names.join(", "))
    })?;
    let locale = Locale::parse(locale).ok_or("--locale must be en or de")?;
    let dir = MailSettings::templates_dir_from_env();
    let templates = Templates::load(dir.as_deref()).map_err(|e| e.to_string())?;
    let preview = templates.write_preview(notice, locale, out)?;
    Ok(json!({
        "subject": preview.subject,
        "html": preview.html,
        "text": preview.text,
        "overridden": templates.overridden(),
    }))
}

fn list_mail(to: Option<&str>) -> Result<Value, String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_SESV2")
        .map_err(|_| "mail list reads the local emulator: AWS_ENDPOINT_URL_SESV2 is not set")?;
    // scripts/emulator.py answers this path: {to, from, subject, body} per mail.
    let mut request = ureq::get(&format!("{endpoint}/_emulator/sent-mail"));
    if let Some(to) = to {
        request = request.query("to", to);
    }
    request
        .call()
        .map_err(|e| format!("the emulator at {endpoint} did not answer: {e}"))?
        .body_mut()
        .read_json()
        .map_err(|e| e.to_string())
}

//! What a function does before it asks for its first event, step by step, in
//! the order `password_service::lambda::serve` does it: each step timed in a
//! fresh process (a cold start happens once per process: first-touch page
//! faults, lazy statics and the crypto library's set-up land on the step that
//! triggers them), many processes, medians.
//!
//! cargo bench -p password-service --bench startup [-- ROUNDS]
//!
//! The children get a Lambda-like environment: the local stack's settings
//! without the emulator endpoints, static credentials as Lambda sets them, no
//! HOME (so no profile file). `--with-home` keeps HOME to show the cost of
//! the profile files' look-up.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use password_service::auth::Authenticator;
use password_service::aws::{
    aws_roots_https_client, sdk_config_from_lambda_environment, services_from_env, Budget,
};
use password_service::config::{Config, TlsTrust};
use password_service::domain::{fill_random, OtpKeyRing, PasswordPolicy, Pepper};
use password_service::domain::{Email, Secret};
use password_service::hashing::PasswordHasher;
use password_service::mail::Templates;

const DEFAULT_ROUNDS: usize = 25;

/// Steps in the order the child runs them; the last ones are not start-up
/// work today and are shown for comparison.
const STEPS: &[&str] = &[
    "tokio runtime (#[tokio::main])",
    "tracing subscriber init",
    "Config::from_env",
    "https client, AWS roots",
    "SdkConfig from the Lambda environment",
    "DynamoDB client",
    "Authenticator::new (config: HS256)",
    "PasswordHasher::new (dummy hash)",
    "PasswordPolicy",
    "= serve() start-up, sum of the above",
    "= the same in one piece (tokio, logs, Services::from_env)",
    "Authenticator::new (JWKS: RSA-2048 + P-256)",
    "common-password list, first check (lazy)",
    "mail templates, built in (first mail, lazy)",
    "mail templates, every one from MAIL_TEMPLATES_DIR (at start)",
    "Secrets Manager client (read ahead, beside the first request)",
    "pepper + OTP key ring parsed (first read)",
    "SESv2 client (first mail, lazy)",
    "aws_config load(), the default chain (pwctl)",
];

/// Runs `step`, recording how long it took under `name`.
fn timed<T>(
    spent: &mut BTreeMap<&'static str, f64>,
    name: &'static str,
    step: impl FnOnce() -> T,
) -> T {
    let started = Instant::now();
    let value = step();
    spent.insert(name, started.elapsed().as_secs_f64() * 1e6);
    value
}

fn child(mode: &str) {
    let mut spent: BTreeMap<&'static str, f64> = BTreeMap::new();
    if mode == "whole" {
        let services = timed(&mut spent, STEPS[10], || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap();
            password_service::telemetry::init();
            let services = runtime
                .block_on(services_from_env(Budget::Lambda))
                .expect("services");
            (runtime, services)
        });
        drop(services);
        print_json(&spent);
        return;
    }

    let runtime = timed(&mut spent, STEPS[0], || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
    });
    timed(&mut spent, STEPS[1], password_service::telemetry::init);
    let config = timed(&mut spent, STEPS[2], || {
        Config::from_env().expect("configuration")
    });
    let https = timed(&mut spent, STEPS[3], || {
        (config.tls_trust == TlsTrust::AwsRoots).then(aws_roots_https_client)
    });
    let sdk = timed(&mut spent, STEPS[4], || {
        sdk_config_from_lambda_environment(https.clone())
    });
    let dynamodb = timed(&mut spent, STEPS[5], || {
        password_service::aws::dynamodb_client(&sdk, Budget::Lambda)
    });
    let authenticator = timed(&mut spent, STEPS[6], || {
        Authenticator::new(&config.jwt).expect("keys")
    });
    let hasher = timed(&mut spent, STEPS[7], || {
        PasswordHasher::new(config.passwords.argon2.clone())
    });
    let policy = timed(&mut spent, STEPS[8], || {
        PasswordPolicy::new(config.passwords.min_length)
    });
    let total: f64 = STEPS[..9].iter().map(|s| spent[s]).sum();
    spent.insert(STEPS[9], total);

    let mut jwt = config.jwt.clone();
    jwt.jwks_json = Some(synthetic_jwks());
    let with_jwks = timed(&mut spent, STEPS[11], || {
        Authenticator::new(&jwt).expect("JWKS keys")
    });
    let email = Email::parse("bench@example.com").unwrap();
    timed(&mut spent, STEPS[12], || {
        policy.accept(&Secret::new("quiet-meadow-tractor-51"), &email)
    })
    .expect("an uncommon password");
    let templates = timed(&mut spent, STEPS[13], || {
        Templates::load(None).expect("the built-in templates")
    });
    let overrides = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/mail");
    let overridden = timed(&mut spent, STEPS[14], || {
        Templates::load(Some(&overrides)).expect("templates from a directory")
    });

    let secrets_manager = timed(&mut spent, STEPS[15], || {
        password_service::aws::secrets_manager_client(&sdk, Budget::Lambda)
    });
    let rings = timed(&mut spent, STEPS[16], || {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let ring = format!("k2:{key},k1:{key}");
        (
            Pepper::parse(&ring).expect("a pepper ring"),
            OtpKeyRing::parse(&ring).expect("an OTP key ring"),
        )
    });

    let sesv2 = timed(&mut spent, STEPS[17], || {
        password_service::aws::ses_client(&sdk, Budget::Lambda)
    });
    let default_chain = timed(&mut spent, STEPS[18], || {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(https) = https {
            loader = loader.http_client(https);
        }
        runtime.block_on(loader.load())
    });

    drop((dynamodb, sesv2, authenticator, with_jwks, hasher));
    drop((secrets_manager, rings, default_chain));
    drop((templates, overridden));
    print_json(&spent);
}

/// A JWKS of the shape a stage is given: one RSA-2048 and one P-256 public
/// key. The bytes are random: the keys are parsed when a token is verified,
/// not here, so only their size matters.
fn synthetic_jwks() -> String {
    let random = |n: usize| {
        let mut bytes = vec![0u8; n];
        fill_random(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    };
    serde_json::json!({"keys": [
        {"kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig", "n": random(256), "e": "AQAB"},
        {"kty": "EC", "kid": "ec-1", "alg": "ES256", "use": "sig", "crv": "P-256", "x": random(32), "y": random(32)},
    ]})
    .to_string()
}

fn print_json(spent: &BTreeMap<&str, f64>) {
    println!("{}", serde_json::to_string(spent).unwrap());
}

/// The local stack's settings, as a deployed function would see them: no
/// emulator endpoints, credentials and region as Lambda sets them.
fn lambda_like_environment(keep_home: bool) -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut vars: Vec<(String, String)> = password_service::env_file::read(&root.join("local.env"))
        .expect("local.env")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ENDPOINT_URL") && k != "RUST_LOG")
        .collect();
    vars.extend(
        [
            ("AWS_SESSION_TOKEN", "local"),
            ("AWS_DEFAULT_REGION", "eu-central-1"),
            ("AWS_LAMBDA_FUNCTION_NAME", "bench"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("LAMBDA_TASK_ROOT", "/var/task"),
            ("TZ", ":UTC"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    if keep_home {
        if let Ok(home) = std::env::var("HOME") {
            vars.push(("HOME".into(), home));
        }
    }
    vars
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1]);
        return;
    }
    let rounds = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    let keep_home = args.iter().any(|a| a == "--with-home");
    let env = lambda_like_environment(keep_home);
    let mut samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for _ in 0..rounds {
        for mode in ["steps", "whole"] {
            let output = Command::new(std::env::current_exe().unwrap())
                .args(["--child", mode])
                .env_clear()
                .envs(env.iter().map(|(k, v)| (k, v)))
                .output()
                .expect("child process");
            assert!(output.status.success(), "{output:?}");
            let line = String::from_utf8_lossy(&output.stdout);
            let line = line.lines().last().unwrap_or_default();
            let spent: BTreeMap<String, f64> = serde_json::from_str(line).expect("JSON");
            for (step, us) in spent {
                samples.entry(step).or_default().push(us);
            }
        }
    }
    println!(
        "start-up steps before the first GET …/invocation/next; {rounds} fresh processes each, µs ({})",
        if keep_home {
            "HOME set"
        } else {
            "no HOME, as on Lambda"
        }
    );
    println!("{:<46} {:>9} {:>9}", "step", "median", "p90");
    for step in STEPS {
        let mut values = samples.remove(*step).unwrap_or_default();
        values.sort_by(f64::total_cmp);
        if values.is_empty() {
            continue;
        }
        let median = values[values.len() / 2];
        let p90 = values[(values.len() * 9 / 10).min(values.len() - 1)];
        println!("{step:<46} {median:>9.0} {p90:>9.0}");
    }
}

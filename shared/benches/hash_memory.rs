//! Resident memory of one process across many argon2id hashes (default
//! parameters, m = 19 MiB), as a warm Lambda sees it: the service's hasher,
//! which reuses one buffer, beside the argon2 crate's convenience path, which
//! allocates per call. Each path runs in a fresh child process.
//!
//! cargo bench -p password-service --bench hash_memory

use std::process::Command;
use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, SaltString};
use argon2::{Argon2, Params};
use password_service::domain::{Email, PasswordPolicy, Secret};
use password_service::hashing::PasswordHasher;

const HASHES: usize = 200;

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn run_child(path: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let service = PasswordHasher::new(Params::default());
    let policy = PasswordPolicy::new(8);
    let email = Email::parse("nobody@example.com").unwrap();
    let hash_once = |i: usize| match path {
        "service" => {
            let service = Arc::clone(&service);
            let candidate = Secret::new(format!("benchmark-password-{i}"));
            let accepted = policy.accept(&candidate, &email).unwrap();
            runtime.block_on(service.hash(accepted)).map(drop).unwrap();
        }
        _ => runtime
            .block_on(async move {
                tokio::task::spawn_blocking(move || {
                    let salt = SaltString::from_b64("c2FsdHNhbHRzYWx0c2FsdA").unwrap();
                    Argon2::default()
                        .hash_password(format!("benchmark-password-{i}").as_bytes(), &salt)
                        .map(|h| h.to_string())
                        .unwrap();
                })
                .await
            })
            .unwrap(),
    };
    let started = std::time::Instant::now();
    hash_once(0);
    let after_one = rss_mib();
    for i in 1..10 {
        hash_once(i);
    }
    let after_ten = rss_mib();
    for i in 10..HASHES {
        hash_once(i);
    }
    let after_all = rss_mib();
    let per_hash_ms = started.elapsed().as_secs_f64() * 1000.0 / HASHES as f64;
    println!(
        "{path:>14}: RSS after 1 hash {after_one:6.1} MiB, after 10 {after_ten:6.1} MiB, after {HASHES} {after_all:6.1} MiB; {per_hash_ms:.1} ms per hash"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(path) = args
        .iter()
        .position(|a| a == "--child")
        .map(|i| args[i + 1].clone())
    {
        run_child(&path);
        return;
    }
    println!("argon2id m=19456 KiB, t=2, p=1; {HASHES} hashes in one process, on a multi-threaded tokio runtime");
    for path in ["service", "argon2-default"] {
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--child", path])
            .status()
            .expect("child process");
        assert!(status.success());
    }
}

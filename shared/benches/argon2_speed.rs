//! Speed of the service's argon2id hashing (default parameters: m = 19456 KiB,
//! t = 2, p = 1), in the release profile, for `scripts/argon2_speed.py` to
//! compare with the C reference (Debian's `argon2` CLI and its library).
//!
//! cargo bench -p password-service --bench argon2_speed              N hashes in this process
//! …/argon2_speed-<hash> --once < password                           one hash per process, as the CLI does
//! …/argon2_speed-<hash> --verify '<PHC string>' < password          exit 0 if the service accepts a hash
//!
//! Times are CPU time of the hashing thread (`/proc/thread-self/schedstat`),
//! so other load on the machine does not count, and wall time beside it.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use argon2::Params;
use password_service::domain::Secret;
use password_service::hashing::{PasswordHasher, Verification};

const DEFAULT_HASHES: usize = 30;

/// Nanoseconds this thread has run on a CPU.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn password_from_stdin() -> Secret {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .expect("a password on standard input");
    Secret::new(password)
}

/// N hashes on this thread with one hasher, as a warm function does them:
/// the first allocates the 19 MiB buffer, the others reuse it.
fn hashes_in_one_process(count: usize) {
    let hasher = PasswordHasher::new(Params::default());
    let mut cpu_ms = Vec::with_capacity(count);
    let mut wall_ms = Vec::with_capacity(count);
    for i in 0..count {
        let password = Secret::new(format!("benchmark-password-{i}"));
        let (cpu, wall) = (thread_cpu_ns(), Instant::now());
        hasher.hash_blocking(&password).expect("a hash");
        cpu_ms.push((thread_cpu_ns() - cpu) as f64 / 1e6);
        wall_ms.push(wall.elapsed().as_secs_f64() * 1e3);
    }
    let first_cpu = cpu_ms[0];
    let (warm_cpu, warm_wall) = (median(&cpu_ms[1..]), median(&wall_ms[1..]));
    // One JSON line for the script, then the same for a reader.
    println!(
        "{{\"hashes\": {count}, \"first_cpu_ms\": {first_cpu:.2}, \"warm_cpu_ms_median\": {warm_cpu:.2}, \"warm_wall_ms_median\": {warm_wall:.2}}}"
    );
    eprintln!(
        "argon2id m=19456 KiB, t=2, p=1, service hasher: first hash {first_cpu:.1} ms CPU, then median {warm_cpu:.1} ms CPU ({warm_wall:.1} ms wall) over {} hashes",
        count - 1
    );
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["--once", ..] => {
            let hasher = PasswordHasher::new(Params::default());
            println!("{}", hasher.hash_blocking(&password_from_stdin()).unwrap());
        }
        ["--verify", phc, ..] => {
            let hasher = PasswordHasher::new(Params::default());
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let outcome = runtime
                .block_on(Arc::clone(&hasher).verify(password_from_stdin(), Some(phc.to_string())))
                .unwrap();
            let valid = matches!(outcome, Verification::Valid { .. });
            println!("{}", if valid { "valid" } else { "invalid" });
            std::process::exit(if valid { 0 } else { 1 });
        }
        // `cargo bench` passes `--bench`; a number sets how many hashes.
        _ => {
            let count = args
                .iter()
                .find_map(|a| a.parse().ok())
                .unwrap_or(DEFAULT_HASHES)
                .max(2);
            hashes_in_one_process(count);
        }
    }
}

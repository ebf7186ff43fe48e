//! Builds `shared/data/common-passwords.fst` from a newline-separated password
//! list ordered most common first (see the README, "Common-password list").
//!
//! cargo run -p password-service --example build_common_password_list -- SOURCE.txt COUNT OUT.fst
//!
//! Entries are normalised the way the policy compares them (NFKC, lowercase),
//! de-duplicated and sorted, then stored as an FST set: a compact, zero-copy
//! structure the service searches in place without loading it at start-up.

use std::collections::BTreeSet;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, source, count, out] = args.as_slice() else {
        return Err("usage: build_common_password_list SOURCE.txt COUNT OUT.fst".into());
    };
    let count: usize = count.parse()?;
    let text = std::fs::read(source)?;
    let entries: BTreeSet<String> = String::from_utf8_lossy(&text)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .take(count)
        .map(password_service::domain::policy::comparable_form)
        .collect();
    let set = fst::Set::from_iter(entries.iter())?;
    std::fs::write(out, set.as_fst().as_bytes())?;
    eprintln!(
        "{} entries, {} bytes",
        set.len(),
        set.as_fst().as_bytes().len()
    );
    Ok(())
}

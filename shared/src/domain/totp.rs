//! Time-based one-time passwords as authenticator apps compute them (SPEC P5,
//! P7): RFC 6238 over RFC 4226's HOTP with HMAC-SHA1, six digits, 30-second
//! steps, one step of clock skew either way.
//!
//! HOTP is a few lines over `hmac` + `sha1` (RustCrypto, the same `hmac` the
//! crate already uses); a TOTP crate would still leave the replay rule (RFC 6238
//! §5.2) and the matched step, which the caller stores, to be written here.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::domain::Secret;

/// Digits of a code, as authenticator apps show them by default.
pub const DIGITS: usize = 6;
/// RFC 6238's default time step (X), in seconds.
pub const STEP_SECONDS: u64 = 30;
/// Steps of clock drift accepted on either side of now (RFC 6238 §5.2
/// recommends at most one backward step; one forward covers a fast phone).
pub const SKEW_STEPS: u64 = 1;

/// A code as a user typed it: exactly six ASCII digits. Other scripts' digits,
/// spaces and signs are refused, so `"１２３４５６"` or `" 123456"` never reach the
/// verifier. Debug never shows the digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpCode(Secret);

impl OtpCode {
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == DIGITS && raw.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(Secret::new(raw)))
    }

    pub fn secret(&self) -> &Secret {
        &self.0
    }
}

/// The RFC 6238 time step (T) that contains `unix_seconds` (T0 = 0).
pub fn step_at(unix_seconds: u64) -> u64 {
    unix_seconds / STEP_SECONDS
}

/// The code an authenticator app shows during `step`, for tests and tools
/// that stand in for the user's device.
pub fn code_for_step(secret: &[u8], step: u64) -> OtpCode {
    OtpCode(Secret::new(format!(
        "{:0width$}",
        hotp(secret, step, DIGITS as u32),
        width = DIGITS
    )))
}

/// What a code proved against the steps within [`SKEW_STEPS`] of now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpMatch {
    /// Right for `step`, after the last accepted step: the caller stores it
    /// as the new last accepted step.
    Fresh(u64),
    /// Right only for a step at or before the last accepted one: a code seen
    /// already (RFC 6238 §5.2). It proves the device was there a moment ago,
    /// so it is refused, but it is not a wrong proof (SPEC P5).
    Replayed,
    /// Right for no step of the window.
    Wrong,
}

/// Checks `code` against the steps within [`SKEW_STEPS`] of `now_unix_seconds`.
///
/// A step at or before `last_accepted_step` is never [`TotpMatch::Fresh`], so
/// a code is accepted once and nothing older than an accepted code is
/// accepted after it. When one code value belongs to two steps of the window
/// (one chance in a million), the latest fresh one is returned, so the same
/// digits cannot be accepted a second time under the other step.
///
/// Every step of the window is computed and compared in constant time, so the
/// time taken does not depend on how many digits of a guess were right.
pub fn verify(
    secret: &[u8],
    code: &OtpCode,
    now_unix_seconds: u64,
    last_accepted_step: Option<u64>,
) -> TotpMatch {
    let now = step_at(now_unix_seconds);
    let first = now.saturating_sub(SKEW_STEPS);
    let last = now.saturating_add(SKEW_STEPS);
    let given = code.0.expose().as_bytes();

    let mut verdict = TotpMatch::Wrong;
    for step in first..=last {
        let expected = code_for_step(secret, step);
        let equal: bool = expected.0.expose().as_bytes().ct_eq(given).into();
        let after_last_accepted = last_accepted_step.is_none_or(|accepted| step > accepted);
        verdict = match (equal, after_last_accepted, verdict) {
            (true, true, _) => TotpMatch::Fresh(step),
            (true, false, TotpMatch::Wrong) => TotpMatch::Replayed,
            (_, _, kept) => kept,
        };
    }
    verdict
}

/// RFC 4226 §5.3: HMAC-SHA1 of the big-endian counter, dynamic truncation,
/// modulo 10^digits.
fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes keys of any size");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let truncated = u32::from_be_bytes([
        hash[offset],
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]) & 0x7fff_ffff;
    truncated % 10u32.pow(digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use TotpMatch::{Fresh, Replayed, Wrong};

    /// RFC 6238 Appendix B's SHA1 seed: the ASCII string "12345678901234567890".
    const RFC_SEED: &[u8] = b"12345678901234567890";

    /// RFC 6238 Appendix B, the SHA1 rows: (time, 8-digit TOTP).
    const RFC_6238_SHA1_VECTORS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    fn code(raw: &str) -> OtpCode {
        OtpCode::parse(raw).expect("six ASCII digits")
    }

    /// A time in the middle of a step, far from the epoch.
    const NOW: u64 = 1_700_000_015;

    #[test]
    fn generator_matches_rfc_6238_sha1_vectors_at_eight_digits() {
        for (time, expected) in RFC_6238_SHA1_VECTORS {
            let actual = format!("{:08}", hotp(RFC_SEED, step_at(time), 8));
            assert_eq!(actual, expected, "T = {time}");
        }
    }

    #[test]
    fn six_digit_codes_are_the_last_six_digits_of_rfc_6238_vectors() {
        for (time, eight_digits) in RFC_6238_SHA1_VECTORS {
            let actual = code_for_step(RFC_SEED, step_at(time));
            assert_eq!(actual.secret().expose(), &eight_digits[2..], "T = {time}");
        }
    }

    #[test]
    fn generator_matches_rfc_4226_hotp_vectors() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, expected) in expected.into_iter().enumerate() {
            let actual = code_for_step(RFC_SEED, counter as u64);
            assert_eq!(actual.secret().expose(), expected, "counter {counter}");
        }
    }

    #[test]
    fn steps_are_thirty_seconds_from_the_epoch() {
        assert_eq!(step_at(0), 0);
        assert_eq!(step_at(29), 0);
        assert_eq!(step_at(30), 1);
        assert_eq!(step_at(59), 1);
        assert_eq!(step_at(20_000_000_000), 666_666_666);
    }

    #[test]
    fn rfc_vector_verifies_at_its_own_time() {
        assert_eq!(
            verify(RFC_SEED, &code("081804"), 1_111_111_109, None),
            Fresh(37_037_036)
        );
    }

    #[test]
    fn code_of_the_current_step_is_accepted() {
        let now = step_at(NOW);
        let current = code_for_step(RFC_SEED, now);
        assert_eq!(verify(RFC_SEED, &current, NOW, None), Fresh(now));
    }

    #[test]
    fn code_one_step_old_or_one_step_ahead_is_accepted() {
        let now = step_at(NOW);
        let previous = code_for_step(RFC_SEED, now - 1);
        let next = code_for_step(RFC_SEED, now + 1);
        assert_eq!(verify(RFC_SEED, &previous, NOW, None), Fresh(now - 1));
        assert_eq!(verify(RFC_SEED, &next, NOW, None), Fresh(now + 1));
    }

    #[test]
    fn code_two_steps_away_is_refused() {
        let now = step_at(NOW);
        let too_old = code_for_step(RFC_SEED, now - 2);
        let too_new = code_for_step(RFC_SEED, now + 2);
        assert_eq!(verify(RFC_SEED, &too_old, NOW, None), Wrong);
        assert_eq!(verify(RFC_SEED, &too_new, NOW, None), Wrong);
    }

    #[test]
    fn window_edges_follow_the_clock_not_the_code() {
        // The last second of step 100 still accepts step 99; the first second
        // of step 101 no longer does.
        let code_of_99 = code_for_step(RFC_SEED, 99);
        assert_eq!(
            verify(RFC_SEED, &code_of_99, 100 * 30 + 29, None),
            Fresh(99)
        );
        assert_eq!(verify(RFC_SEED, &code_of_99, 101 * 30, None), Wrong);
    }

    #[test]
    fn code_of_another_secret_is_refused() {
        let now = step_at(NOW);
        let other = code_for_step(b"another secret of twenty", now);
        assert_ne!(
            other,
            code_for_step(RFC_SEED, now),
            "test needs distinct codes"
        );
        assert_eq!(verify(RFC_SEED, &other, NOW, None), Wrong);
    }

    #[test]
    fn accepted_code_is_a_replay_the_second_time() {
        let now = step_at(NOW);
        let current = code_for_step(RFC_SEED, now);
        assert_eq!(verify(RFC_SEED, &current, NOW, None), Fresh(now));
        assert_eq!(verify(RFC_SEED, &current, NOW, Some(now)), Replayed);
        assert_eq!(verify(RFC_SEED, &current, NOW + 20, Some(now)), Replayed);
    }

    #[test]
    fn older_code_is_a_replay_after_a_newer_one_was_accepted() {
        let now = step_at(NOW);
        let previous = code_for_step(RFC_SEED, now - 1);
        assert_eq!(verify(RFC_SEED, &previous, NOW, Some(now)), Replayed);
        assert_eq!(verify(RFC_SEED, &previous, NOW, Some(now + 1)), Replayed);
    }

    #[test]
    fn a_replay_is_told_only_for_a_right_code() {
        let now = step_at(NOW);
        let other = code_for_step(b"another secret of twenty", now);
        assert_eq!(verify(RFC_SEED, &other, NOW, Some(now)), Wrong);
        // Right for a step outside the window: wrong, whatever was accepted.
        let too_old = code_for_step(RFC_SEED, now - 2);
        assert_eq!(verify(RFC_SEED, &too_old, NOW, Some(now)), Wrong);
    }

    #[test]
    fn next_code_is_accepted_after_the_previous_one() {
        let now = step_at(NOW);
        let next = code_for_step(RFC_SEED, now + 1);
        assert_eq!(verify(RFC_SEED, &next, NOW, Some(now)), Fresh(now + 1));
        assert_eq!(
            verify(RFC_SEED, &code_for_step(RFC_SEED, now), NOW, Some(now - 1)),
            Fresh(now)
        );
    }

    #[test]
    fn digits_shared_by_two_steps_match_the_latest_so_they_work_once() {
        // With the RFC seed, steps 56_295_193 and 56_295_195 (in 2023) both
        // give 769717 (found by search); at step 56_295_194 both are in the window.
        let (earlier, later) = (56_295_193, 56_295_195);
        let shared = code_for_step(RFC_SEED, earlier);
        assert_eq!(shared, code_for_step(RFC_SEED, later), "the steps collide");
        let now = (earlier + 1) * STEP_SECONDS;

        assert_eq!(verify(RFC_SEED, &shared, now, None), Fresh(later));
        assert_eq!(verify(RFC_SEED, &shared, now, Some(later)), Replayed);
        // With only the earlier step used, the later one is still fresh.
        assert_eq!(verify(RFC_SEED, &shared, now, Some(earlier)), Fresh(later));
    }

    #[test]
    fn first_steps_after_the_epoch_do_not_underflow() {
        let first = code_for_step(RFC_SEED, 0);
        assert_eq!(verify(RFC_SEED, &first, 10, None), Fresh(0));
        assert_eq!(verify(RFC_SEED, &first, 10, Some(0)), Replayed);
    }

    #[test]
    fn parse_accepts_exactly_six_ascii_digits() {
        assert!(OtpCode::parse("000000").is_some());
        assert!(OtpCode::parse("123456").is_some());
        for bad in [
            "",
            "12345",
            "1234567",
            "12345a",
            "+12345",
            "-12345",
            " 123456",
            "123456 ",
            "123 456",
            "１２３４５６", // fullwidth digits
            "١٢٣٤٥٦",       // Arabic-Indic digits
            "١٢٣",          // three Arabic-Indic digits: six bytes
            "1234٥",        // four ASCII digits and one Arabic-Indic: six bytes
            "१२३४५६",       // Devanagari digits
            "12345\u{0}",
        ] {
            assert!(OtpCode::parse(bad).is_none(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn code_debug_hides_the_digits() {
        let debug = format!("{:?}", code("987654"));
        assert!(!debug.contains("987654"), "{debug}");
    }
}

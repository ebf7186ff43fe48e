//! The device-OTP secret at rest (SPEC P7): AES-256-GCM (RustCrypto's
//! `aes-gcm`) under a key ring from configuration, a fresh nonce per
//! encryption, the user id as associated data, and the key's id stored with
//! the ciphertext so keys can rotate without a data migration.

use std::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::key_ring::{is_key_id, parse_entries, KeyLength, KeyRingError};
use super::otp_secret::OtpSecret;
use super::random::fill_random;

/// Keys for the OTP secrets at rest: the first is current (every encryption
/// uses it), every one decrypts what was stored under its id.
///
/// Its value (the secret named by `OTP_ENCRYPTION_KEY_SECRET_ID`) is a key
/// ring as [`super::key_ring`] describes, each key exactly 32 random bytes.
///
/// Rotation without a data migration: put the new key first
/// (`k2:<new>,k1:<old>`); new secrets are stored under `k2`, those stored under
/// `k1` still decrypt (and move to `k2` when a device is enrolled again). Drop
/// `k1` only once no stored secret names it.
///
/// Stored form: `v1:<key-id>:<base64url(nonce ‖ ciphertext ‖ tag)>`, a fresh
/// 96-bit nonce per encryption, the user id as associated data, so a secret
/// copied to another user's record does not decrypt.
#[derive(Clone)]
pub struct OtpKeyRing {
    keys: Vec<RingKey>,
}

#[derive(Clone)]
struct RingKey {
    id: String,
    cipher: Aes256Gcm,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("not an encrypted OTP secret in a known format")]
    Malformed,
    #[error("encrypted under key id {key_id}, which is not configured")]
    UnknownKey { key_id: String },
    #[error("authentication failed: another key, another user, or altered data")]
    Rejected,
}

const FORMAT_VERSION: &str = "v1";
const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

impl OtpKeyRing {
    /// Parses the configuration value described on [`OtpKeyRing`]. Errors
    /// name a key by position or id, never by its value.
    pub fn parse(config: &str) -> Result<Self, KeyRingError> {
        let length = KeyLength {
            accepts: |bytes| bytes == KEY_BYTES,
            needs: "AES-256 needs 32",
        };
        let keys = parse_entries(config, length)?
            .into_iter()
            .map(|(id, key)| RingKey {
                id,
                cipher: Aes256Gcm::new_from_slice(key.expose())
                    .expect("parse_entries checked the key is 32 bytes"),
            })
            .collect();
        Ok(Self { keys })
    }

    /// The id new encryptions are stored under.
    pub fn current_key_id(&self) -> &str {
        &self.current().id
    }

    /// The stored form of `secret` for `user_id` (see [`OtpKeyRing`]).
    pub fn encrypt(&self, secret: &OtpSecret, user_id: &str) -> String {
        let key = self.current();
        let mut nonce = [0u8; NONCE_BYTES];
        fill_random(&mut nonce);
        let ciphertext = key
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &secret.0,
                    aad: user_id.as_bytes(),
                },
            )
            .expect("AES-GCM encrypts any message shorter than 64 GiB");
        let mut sealed = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        format!(
            "{FORMAT_VERSION}:{}:{}",
            key.id,
            URL_SAFE_NO_PAD.encode(sealed)
        )
    }

    /// The secret stored by [`Self::encrypt`] for the same `user_id`. Any
    /// other input (unknown key id, altered text, another user's record)
    /// is an error, never a panic.
    pub fn decrypt(&self, stored: &str, user_id: &str) -> Result<OtpSecret, DecryptError> {
        let mut parts = stored.splitn(3, ':');
        let (Some(FORMAT_VERSION), Some(key_id), Some(encoded)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(DecryptError::Malformed);
        };
        if !is_key_id(key_id) {
            return Err(DecryptError::Malformed);
        }
        let key = self
            .keys
            .iter()
            .find(|key| key.id == key_id)
            .ok_or_else(|| DecryptError::UnknownKey {
                key_id: key_id.to_owned(),
            })?;
        let sealed = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| DecryptError::Malformed)?;
        if sealed.len() < NONCE_BYTES + TAG_BYTES {
            return Err(DecryptError::Malformed);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| DecryptError::Malformed)?;
        let plaintext = key
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: user_id.as_bytes(),
                },
            )
            .map_err(|_| DecryptError::Rejected)?;
        Ok(OtpSecret(plaintext))
    }

    fn current(&self) -> &RingKey {
        // `parse` refuses an empty configuration, so there is always a first key.
        &self.keys[0]
    }
}

impl fmt::Debug for OtpKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|key| key.id.as_str()).collect();
        f.debug_struct("OtpKeyRing")
            .field("key_ids", &ids)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 32 bytes, 0x00..=0x1f, and 32 bytes of 0xff, in standard base64.
    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const KEY_B: &str = "//////////////////////////////////////////8=";
    const USER: &str = "0123456789abcdef01234567";
    const OTHER_USER: &str = "76543210fedcba9876543210";

    fn ring(config: &str) -> OtpKeyRing {
        OtpKeyRing::parse(config).expect("valid key ring")
    }

    fn rfc_seed() -> OtpSecret {
        OtpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").expect("valid base32")
    }

    #[test]
    fn secret_round_trips_through_encryption_for_the_same_user() {
        let keys = ring(&format!("k1:{KEY_A}"));
        let secret = OtpSecret::generate();
        let stored = keys.encrypt(&secret, USER);
        assert!(stored.starts_with("v1:k1:"), "{stored}");
        assert_eq!(keys.decrypt(&stored, USER), Ok(secret));
    }

    #[test]
    fn stored_form_shows_nothing_of_the_secret_and_changes_every_time() {
        let keys = ring(&format!("k1:{KEY_A}"));
        let secret = rfc_seed();
        let first = keys.encrypt(&secret, USER);
        let second = keys.encrypt(&secret, USER);
        assert_ne!(first, second, "a fresh nonce per encryption");
        for stored in [&first, &second] {
            assert!(!stored.contains(secret.to_base32().expose()));
            assert!(!stored.contains("12345678901234567890"));
        }
    }

    #[test]
    fn another_users_record_does_not_decrypt() {
        let keys = ring(&format!("k1:{KEY_A}"));
        let stored = keys.encrypt(&rfc_seed(), USER);
        assert_eq!(
            keys.decrypt(&stored, OTHER_USER),
            Err(DecryptError::Rejected)
        );
    }

    #[test]
    fn any_altered_character_is_rejected() {
        let keys = ring(&format!("k1:{KEY_A}"));
        let stored = keys.encrypt(&rfc_seed(), USER);
        let body_start = "v1:k1:".len();
        for index in body_start..stored.len() {
            let mut altered = stored.clone().into_bytes();
            altered[index] = if altered[index] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(altered).expect("ASCII");
            let outcome = keys.decrypt(&altered, USER);
            assert!(
                matches!(
                    outcome,
                    Err(DecryptError::Rejected | DecryptError::Malformed)
                ),
                "index {index}: {outcome:?}"
            );
        }
    }

    #[test]
    fn malformed_stored_text_is_an_error_not_a_panic() {
        let keys = ring(&format!("k1:{KEY_A}"));
        let stored = keys.encrypt(&rfc_seed(), USER);
        let body = &stored["v1:k1:".len()..];
        for bad in [
            String::new(),
            "v1".into(),
            "v1:k1".into(),
            "v1:k1:".into(),
            "v1:k1:!!!".into(),
            "v1:k1:AAAA".into(),
            format!("v2:k1:{body}"),
            format!("v1:k 1:{body}"),
            format!("v1::{body}"),
            format!("v1:k1:{body}="),
            body[..20].to_owned(),
        ] {
            assert_eq!(
                keys.decrypt(&bad, USER),
                Err(DecryptError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn secret_under_a_key_id_no_longer_configured_is_an_unknown_key() {
        let old = ring(&format!("k1:{KEY_A}"));
        let stored = old.encrypt(&rfc_seed(), USER);
        let new_only = ring(&format!("k2:{KEY_B}"));
        assert_eq!(
            new_only.decrypt(&stored, USER),
            Err(DecryptError::UnknownKey {
                key_id: "k1".into()
            })
        );
    }

    #[test]
    fn same_key_id_with_another_key_is_rejected() {
        let stored = ring(&format!("k1:{KEY_A}")).encrypt(&rfc_seed(), USER);
        assert_eq!(
            ring(&format!("k1:{KEY_B}")).decrypt(&stored, USER),
            Err(DecryptError::Rejected)
        );
    }

    #[test]
    fn rotated_ring_encrypts_with_the_first_key_and_decrypts_with_all() {
        let before = ring(&format!("k1:{KEY_A}"));
        let stored_before = before.encrypt(&rfc_seed(), USER);

        let rotated = ring(&format!("k2:{KEY_B}, k1:{KEY_A}"));
        assert_eq!(rotated.current_key_id(), "k2");
        let stored_after = rotated.encrypt(&rfc_seed(), USER);
        assert!(stored_after.starts_with("v1:k2:"), "{stored_after}");

        assert_eq!(rotated.decrypt(&stored_before, USER), Ok(rfc_seed()));
        assert_eq!(rotated.decrypt(&stored_after, USER), Ok(rfc_seed()));
        assert_eq!(
            before.decrypt(&stored_after, USER),
            Err(DecryptError::UnknownKey {
                key_id: "k2".into()
            })
        );
    }

    #[test]
    fn key_configuration_accepts_base64_with_or_without_padding() {
        let unpadded = KEY_A.trim_end_matches('=');
        let keys = ring(&format!(" main-2024_a:{unpadded} "));
        assert_eq!(keys.current_key_id(), "main-2024_a");
        let stored = keys.encrypt(&rfc_seed(), USER);
        assert_eq!(
            ring(&format!("main-2024_a:{KEY_A}")).decrypt(&stored, USER),
            Ok(rfc_seed())
        );
    }

    #[test]
    fn key_configuration_errors_say_what_is_wrong() {
        let cases = [
            ("", KeyRingError::Empty),
            ("  ", KeyRingError::Empty),
            (KEY_A, KeyRingError::NotIdAndKey { position: 1 }),
            (
                &format!("k1:{KEY_A},"),
                KeyRingError::NotIdAndKey { position: 2 },
            ),
            (&format!(":{KEY_A}"), KeyRingError::BadKeyId { position: 1 }),
            (
                &format!("k/1:{KEY_A}"),
                KeyRingError::BadKeyId { position: 1 },
            ),
            (
                &format!("{}:{KEY_A}", "k".repeat(33)),
                KeyRingError::BadKeyId { position: 1 },
            ),
            (
                "k1:not base64!",
                KeyRingError::NotBase64 {
                    key_id: "k1".into(),
                },
            ),
            (
                "k1:AAECAwQFBgcICQoLDA0ODw==",
                KeyRingError::WrongKeyLength {
                    key_id: "k1".into(),
                    bytes: 16,
                    needs: "AES-256 needs 32",
                },
            ),
            (
                &format!("k1:{KEY_A},k1:{KEY_B}"),
                KeyRingError::DuplicateKeyId {
                    key_id: "k1".into(),
                },
            ),
        ];
        for (config, expected) in cases {
            assert_eq!(
                OtpKeyRing::parse(config).err(),
                Some(expected),
                "{config:?}"
            );
        }
    }

    #[test]
    fn key_configuration_errors_never_repeat_the_key() {
        for config in [
            KEY_A.to_owned(),
            format!("{KEY_A}:{KEY_B}"),
            format!("k1:{}", &KEY_A[..20]),
            format!("k1:{KEY_A}x"),
        ] {
            let message = OtpKeyRing::parse(&config).expect_err("invalid").to_string();
            assert!(!message.contains(&KEY_A[..20]), "{message}");
            assert!(!message.contains(&KEY_B[..20]), "{message}");
        }
    }

    #[test]
    fn debug_output_shows_no_key_and_no_decrypted_secret() {
        let keys = ring(&format!("k2:{KEY_B},k1:{KEY_A}"));
        let decrypted = keys.decrypt(&keys.encrypt(&rfc_seed(), USER), USER);
        for debug in [format!("{keys:?}"), format!("{decrypted:?}")] {
            for hidden in [
                "12345678901234567890",
                "49, 50, 51",
                &KEY_A[..20],
                &KEY_B[..20],
            ] {
                assert!(!debug.contains(hidden), "{debug} shows {hidden}");
            }
        }
        assert!(format!("{keys:?}").contains("\"k2\", \"k1\""), "{keys:?}");
    }
}

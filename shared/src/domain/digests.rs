//! Secrets at rest (SPEC section 3): what is stored instead of a secret.
//! Set-password tokens as SHA-256; PINs and reset codes as HMAC-SHA256 under
//! the server pepper, so a leaked table gives no short secret to an offline
//! search.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::key_ring::{parse_entries, KeyLength, KeyRingError};
use super::random::fill_random;
use super::secret::{Secret, SecretBytes};

/// 256 random bits per set-password token.
const TOKEN_BYTES: usize = 32;

/// A fresh set-password token: 256 random bits, base64url without padding.
pub fn new_token() -> Secret {
    let mut bytes = [0u8; TOKEN_BYTES];
    fill_random(&mut bytes);
    Secret::new(URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored for a token: its SHA-256, hex. A token has 256 bits of
/// entropy, so an unsalted hash is enough to make a stolen table useless.
pub fn token_digest(token: &Secret) -> String {
    hex::encode(Sha256::digest(token.expose().as_bytes()))
}

/// What an HMAC digest was made for: one made for a PIN never verifies as a
/// reset code, and the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Pin,
    ResetCode,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Pin => "pin",
            Purpose::ResetCode => "reset-code",
        }
    }
}

/// The key id a digest without one is read under: digests stored before the
/// pepper had key ids (their ring names that pepper `legacy`).
pub const LEGACY_PEPPER_KEY_ID: &str = "legacy";

/// The server pepper: HMAC-SHA256 keys over user-bound short secrets, as a
/// ring whose first key is current.
///
/// Its value (the secret named by `PEPPER_SECRET_ID`) is a key ring as
/// [`super::key_ring`] describes, each key at least 32 random bytes. A digest
/// is stored as `<key-id>:<hex>`. Rotation without a data migration: put the
/// new key first (`k2:<new>,k1:<old>`); new digests are made under `k2`, those
/// under `k1` still verify, and a PIN's moves to `k2` on its next right proof
/// (reset codes expire within the hour). Drop `k1` once no stored PIN names it.
#[derive(Clone)]
pub struct Pepper {
    keys: Vec<(String, SecretBytes)>,
}

/// How a secret compared with its stored digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestMatch {
    /// Right, under the current key.
    Current,
    /// Right, under an older key of the ring: worth digesting again.
    OlderKey,
    Wrong,
}

impl DigestMatch {
    pub fn is_right(self) -> bool {
        self != DigestMatch::Wrong
    }
}

/// A stored digest names a key the ring no longer holds: a configuration
/// fault, never a wrong secret (counting it would punish the user).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a digest was made under pepper key {key_id}, which the pepper's ring does not hold")]
pub struct UnknownPepperKey {
    pub key_id: String,
}

/// The shortest pepper key: 256 bits.
const MIN_PEPPER_KEY_BYTES: usize = 32;

impl Pepper {
    /// Parses the ring described on [`Pepper`]; errors never repeat a key.
    pub fn parse(config: &str) -> Result<Self, KeyRingError> {
        let length = KeyLength {
            accepts: |bytes| bytes >= MIN_PEPPER_KEY_BYTES,
            needs: "a pepper key needs at least 32",
        };
        Ok(Self {
            keys: parse_entries(config, length)?,
        })
    }

    /// The id new digests are made under.
    pub fn current_key_id(&self) -> &str {
        // `parse` refuses an empty ring, so there is always a first key.
        &self.keys[0].0
    }

    fn mac(key: &SecretBytes, purpose: Purpose, user_id: &str, secret: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(key.expose()).expect("HMAC takes keys of any size");
        // Length-prefixed fields: no two (purpose, user, secret) triples collide.
        for field in [purpose.label(), user_id, secret] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac
    }

    /// The stored form of `secret`: `<current key id>:<hex of the HMAC>`.
    pub fn digest(&self, purpose: Purpose, user_id: &str, secret: &Secret) -> String {
        let (id, key) = &self.keys[0];
        let mac = Self::mac(key, purpose, user_id, secret.expose());
        format!("{id}:{}", hex::encode(mac.finalize().into_bytes()))
    }

    /// Compares `secret` with a stored digest in constant time, under the key
    /// the digest names (`legacy` where it names none). A digest that is not
    /// hex is wrong; one under a key the ring lacks is an error.
    pub fn verify(
        &self,
        purpose: Purpose,
        user_id: &str,
        secret: &Secret,
        stored: &str,
    ) -> Result<DigestMatch, UnknownPepperKey> {
        let (key_id, stored_hex) = stored
            .split_once(':')
            .unwrap_or((LEGACY_PEPPER_KEY_ID, stored));
        let position = self
            .keys
            .iter()
            .position(|(id, _)| id == key_id)
            .ok_or_else(|| UnknownPepperKey {
                key_id: key_id.to_owned(),
            })?;
        let Ok(stored_mac) = hex::decode(stored_hex) else {
            return Ok(DigestMatch::Wrong);
        };
        let right = Self::mac(&self.keys[position].1, purpose, user_id, secret.expose())
            .verify_slice(&stored_mac)
            .is_ok();
        Ok(match (right, position) {
            (false, _) => DigestMatch::Wrong,
            (true, 0) => DigestMatch::Current,
            (true, _) => DigestMatch::OlderKey,
        })
    }
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Pepper")
            .field("key_ids", &ids)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 32 bytes of `byte`, in standard base64.
    fn key(byte: u8) -> String {
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    }

    fn pepper(byte: u8) -> Pepper {
        Pepper::parse(&format!("k{byte}:{}", key(byte))).unwrap()
    }

    fn right(pepper: &Pepper, user: &str, pin: &str, stored: &str) -> DigestMatch {
        pepper
            .verify(Purpose::Pin, user, &Secret::new(pin), stored)
            .unwrap()
    }

    #[test]
    fn tokens_carry_256_bits_in_base64url() {
        let token = new_token();
        assert_eq!(token.expose().len(), 43);
        assert!(token
            .expose()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(token.expose(), new_token().expose());
    }

    #[test]
    fn token_digest_is_sha256_hex_and_not_the_token() {
        let token = Secret::new("abc");
        assert_eq!(
            token_digest(&token),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn pepper_digest_verifies_only_the_same_secret_for_the_same_user() {
        let pepper = pepper(7);
        let stored = pepper.digest(Purpose::Pin, "user-a", &Secret::new("1234"));
        assert!(stored.starts_with("k7:"), "{stored}");
        assert_eq!(
            right(&pepper, "user-a", "1234", &stored),
            DigestMatch::Current
        );
        assert_eq!(
            right(&pepper, "user-a", "1235", &stored),
            DigestMatch::Wrong
        );
        assert_eq!(
            right(&pepper, "user-b", "1234", &stored),
            DigestMatch::Wrong
        );
        let as_code = pepper.verify(Purpose::ResetCode, "user-a", &Secret::new("1234"), &stored);
        assert_eq!(as_code, Ok(DigestMatch::Wrong));
        assert!(!stored.contains("1234"));
    }

    #[test]
    fn a_different_pepper_gives_a_different_digest() {
        let a = pepper(1).digest(Purpose::Pin, "u", &Secret::new("1234"));
        let b = pepper(2).digest(Purpose::Pin, "u", &Secret::new("1234"));
        assert_ne!(a[3..], b[3..]);
    }

    #[test]
    fn a_rotated_ring_digests_under_the_new_key_and_still_verifies_the_old() {
        let old = pepper(1);
        let stored_before = old.digest(Purpose::Pin, "u", &Secret::new("1234"));
        let rotated = Pepper::parse(&format!("k2:{},k1:{}", key(2), key(1))).unwrap();
        assert_eq!(rotated.current_key_id(), "k2");
        assert_eq!(
            right(&rotated, "u", "1234", &stored_before),
            DigestMatch::OlderKey
        );
        assert_eq!(
            right(&rotated, "u", "9999", &stored_before),
            DigestMatch::Wrong
        );
        let stored_after = rotated.digest(Purpose::Pin, "u", &Secret::new("1234"));
        assert!(stored_after.starts_with("k2:"));
        assert_eq!(
            right(&rotated, "u", "1234", &stored_after),
            DigestMatch::Current
        );
        // Once k1 is dropped, its digests are a configuration fault, not wrong PINs.
        let dropped = Pepper::parse(&format!("k2:{}", key(2))).unwrap();
        assert_eq!(
            dropped.verify(Purpose::Pin, "u", &Secret::new("1234"), &stored_before),
            Err(UnknownPepperKey {
                key_id: "k1".into()
            })
        );
    }

    #[test]
    fn a_digest_without_a_key_id_is_read_under_the_legacy_key() {
        // As digests were stored before key ids: bare hex under the one pepper.
        let legacy = pepper(3);
        let bare = legacy.digest(Purpose::Pin, "u", &Secret::new("1234"))[3..].to_owned();
        let ring = Pepper::parse(&format!("k4:{},legacy:{}", key(4), key(3))).unwrap();
        assert_eq!(right(&ring, "u", "1234", &bare), DigestMatch::OlderKey);
        assert_eq!(right(&ring, "u", "4321", &bare), DigestMatch::Wrong);
        let without_legacy = pepper(4);
        assert!(without_legacy
            .verify(Purpose::Pin, "u", &Secret::new("1234"), &bare)
            .is_err());
    }

    #[test]
    fn a_pepper_key_is_at_least_256_bits_and_errors_never_show_it() {
        let short = base64::engine::general_purpose::STANDARD.encode([9u8; 31]);
        let error = Pepper::parse(&format!("k1:{short}")).unwrap_err();
        assert_eq!(
            error,
            KeyRingError::WrongKeyLength {
                key_id: "k1".into(),
                bytes: 31,
                needs: "a pepper key needs at least 32",
            }
        );
        assert!(!error.to_string().contains(&short[..10]));
        assert!(Pepper::parse(&key(5)).is_err(), "a key without an id");
        let debug = format!("{:?}", pepper(6));
        assert!(
            debug.contains("k6") && !debug.contains(&key(6)[..10]),
            "{debug}"
        );
    }
}

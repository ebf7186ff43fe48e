//! Secrets at rest (SPEC section 3): random tokens, SHA-256 for set-password
//! tokens, HMAC-SHA256 under the server pepper for codes and PINs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::domain::Secret;

/// 256 random bits per set-password token.
const TOKEN_BYTES: usize = 32;

pub fn fill_random(buf: &mut [u8]) {
    // The OS generator failing leaves no safe way to go on.
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

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

/// Random hex, for identifiers that must not be guessable (error ids).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf);
    hex::encode(buf)
}

/// HMAC purpose labels: a digest made for one use never verifies another.
pub const PIN_PURPOSE: &str = "pin";

/// HMAC-SHA256 over a user-bound short secret (a PIN or a reset code), so a
/// leaked table does not give the 10,000 PINs away to an offline search.
#[derive(Clone)]
pub struct Pepper(Vec<u8>);

impl Pepper {
    pub fn new(key: Vec<u8>) -> Self {
        Self(key)
    }

    fn mac(&self, purpose: &str, user_id: &str, secret: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any size");
        // Length-prefixed fields: no two (purpose, user, secret) triples collide.
        for field in [purpose, user_id, secret] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac
    }

    pub fn digest(&self, purpose: &str, user_id: &str, secret: &Secret) -> String {
        hex::encode(
            self.mac(purpose, user_id, secret.expose())
                .finalize()
                .into_bytes(),
        )
    }

    /// Constant-time comparison against a stored hex digest.
    pub fn verify(&self, purpose: &str, user_id: &str, secret: &Secret, stored_hex: &str) -> bool {
        let Ok(stored) = hex::decode(stored_hex) else {
            return false;
        };
        self.mac(purpose, user_id, secret.expose())
            .verify_slice(&stored)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let pepper = Pepper::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let stored = pepper.digest("pin", "user-a", &Secret::new("1234"));
        assert!(pepper.verify("pin", "user-a", &Secret::new("1234"), &stored));
        assert!(!pepper.verify("pin", "user-a", &Secret::new("1235"), &stored));
        assert!(!pepper.verify("pin", "user-b", &Secret::new("1234"), &stored));
        assert!(!pepper.verify("code", "user-a", &Secret::new("1234"), &stored));
        assert!(!stored.contains("1234"));
    }

    #[test]
    fn a_different_pepper_gives_a_different_digest() {
        let a = Pepper::new(vec![1; 32]).digest("pin", "u", &Secret::new("1234"));
        let b = Pepper::new(vec![2; 32]).digest("pin", "u", &Secret::new("1234"));
        assert_ne!(a, b);
    }
}

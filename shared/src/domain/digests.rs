//! Secrets at rest (SPEC section 3): what is stored instead of a secret.
//! Set-password tokens as SHA-256; PINs and reset codes as HMAC-SHA256 under
//! the server pepper, so a leaked table gives no short secret to an offline
//! search.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

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

/// HMAC-SHA256 under the server pepper, over a user-bound short secret.
#[derive(Debug, Clone)]
pub struct Pepper(SecretBytes);

impl Pepper {
    pub fn new(key: SecretBytes) -> Self {
        Self(key)
    }

    fn mac(&self, purpose: Purpose, user_id: &str, secret: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.0.expose()).expect("HMAC takes keys of any size");
        // Length-prefixed fields: no two (purpose, user, secret) triples collide.
        for field in [purpose.label(), user_id, secret] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac
    }

    pub fn digest(&self, purpose: Purpose, user_id: &str, secret: &Secret) -> String {
        hex::encode(
            self.mac(purpose, user_id, secret.expose())
                .finalize()
                .into_bytes(),
        )
    }

    /// Constant-time comparison against a stored hex digest.
    pub fn verify(
        &self,
        purpose: Purpose,
        user_id: &str,
        secret: &Secret,
        stored_hex: &str,
    ) -> bool {
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

    fn pepper(byte: u8) -> Pepper {
        Pepper::new(SecretBytes::new(vec![byte; 32]))
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
        assert!(pepper.verify(Purpose::Pin, "user-a", &Secret::new("1234"), &stored));
        assert!(!pepper.verify(Purpose::Pin, "user-a", &Secret::new("1235"), &stored));
        assert!(!pepper.verify(Purpose::Pin, "user-b", &Secret::new("1234"), &stored));
        assert!(!pepper.verify(Purpose::ResetCode, "user-a", &Secret::new("1234"), &stored));
        assert!(!stored.contains("1234"));
    }

    #[test]
    fn a_different_pepper_gives_a_different_digest() {
        let a = pepper(1).digest(Purpose::Pin, "u", &Secret::new("1234"));
        let b = pepper(2).digest(Purpose::Pin, "u", &Secret::new("1234"));
        assert_ne!(a, b);
    }
}

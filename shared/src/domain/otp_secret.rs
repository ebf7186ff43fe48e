//! The device-OTP secret (SPEC P7): made fresh from the OS generator, shown to
//! the user once as base32, an `otpauth://` URI and its QR code, and stored
//! only encrypted (AES-256-GCM, the user id as associated data).
//!
//! Crates: `data-encoding` for RFC 4648 base32, `percent-encoding` for the URI,
//! `qrcode` (SVG renderer only) for the picture, `aes-gcm` (RustCrypto) for
//! the encryption at rest.

use std::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use data_encoding::BASE32_NOPAD;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use crate::domain::totp::{DIGITS, STEP_SECONDS};
use crate::domain::Secret;

/// 160 bits, RFC 4226's recommended length for an HMAC-SHA1 secret.
pub const SECRET_BYTES: usize = 20;
/// RFC 4226 R6: at least 128 bits. Only secrets typed in (operator CLI) can be
/// shorter than [`SECRET_BYTES`].
const MIN_SECRET_BYTES: usize = 16;
const MAX_SECRET_BYTES: usize = 64;

/// A TOTP secret in raw bytes. Debug never shows it; it leaves this type only
/// as base32 for the enrolling user, as bytes for the verifier, or encrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpSecret(Vec<u8>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtpSecretError {
    #[error("not base32 (RFC 4648: letters A-Z and digits 2-7)")]
    NotBase32,
    #[error("{bytes} bytes; a TOTP secret has {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES}")]
    WrongLength { bytes: usize },
}

impl OtpSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        // The OS generator failing leaves no safe way to go on.
        getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
        Self(bytes)
    }

    /// Reads a secret as authenticator apps let people type one: base32 in
    /// either case, spaces and `=` padding ignored.
    pub fn from_base32(text: &str) -> Result<Self, OtpSecretError> {
        let normalised: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = BASE32_NOPAD
            .decode(normalised.trim_end_matches('=').as_bytes())
            .map_err(|_| OtpSecretError::NotBase32)?;
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&bytes.len()) {
            return Err(OtpSecretError::WrongLength { bytes: bytes.len() });
        }
        Ok(Self(bytes))
    }

    /// RFC 4648 base32 without padding, as the Key Uri Format asks.
    pub fn to_base32(&self) -> Secret {
        Secret::new(BASE32_NOPAD.encode(&self.0))
    }

    /// The key for [`crate::domain::totp::verify`].
    pub fn expose_bytes(&self) -> &[u8] {
        &self.0
    }

    /// What the enrolling user is shown once: the secret to type, the URI and
    /// a QR code of it to scan. `account` is the user's email.
    pub fn enrolment(
        &self,
        issuer: &OtpIssuer,
        account: &str,
    ) -> Result<Enrolment, EnrolmentError> {
        let uri = self.provisioning_uri(issuer, account);
        let qr_svg = qr_svg(uri.expose())?;
        Ok(Enrolment {
            secret: self.to_base32(),
            uri,
            qr_svg,
        })
    }

    /// `otpauth://totp/{issuer}:{account}?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`
    /// (Google's Key Uri Format). The issuer is in the label and in the
    /// `issuer` parameter, as the format recommends. Both parts of the label
    /// are percent-encoded (spaces as `%20`, never `+`); a colon in the
    /// account becomes `%3A`: apps split the label at its first colon, and the
    /// issuer has none (see [`OtpIssuer`]).
    pub fn provisioning_uri(&self, issuer: &OtpIssuer, account: &str) -> Secret {
        let issuer = utf8_percent_encode(&issuer.0, URI_COMPONENT);
        let account = utf8_percent_encode(account, URI_COMPONENT);
        Secret::new(format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
             &algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            secret = self.to_base32().expose(),
        ))
    }
}

impl fmt::Debug for OtpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpSecret([redacted])")
    }
}

/// Everything but RFC 3986's unreserved characters is percent-encoded; `@` is
/// left as it is (allowed in a path and a query, and how the Key Uri Format's
/// own examples write an email).
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// The service's name in authenticator apps, from configuration. The Key Uri
/// Format forbids a colon in it (apps split the label at the first colon).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpIssuer(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtpIssuerError {
    #[error("empty")]
    Empty,
    #[error("longer than {} characters", OtpIssuer::MAX_CHARS)]
    TooLong,
    #[error("contains a colon or a control character")]
    ForbiddenCharacter,
}

impl OtpIssuer {
    /// Long enough for any service name, short enough that the QR code stays
    /// easy to scan.
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, OtpIssuerError> {
        let name = raw.trim();
        if name.is_empty() {
            Err(OtpIssuerError::Empty)
        } else if name.chars().count() > Self::MAX_CHARS {
            Err(OtpIssuerError::TooLong)
        } else if name.chars().any(|c| c == ':' || c.is_control()) {
            Err(OtpIssuerError::ForbiddenCharacter)
        } else {
            Ok(Self(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What P7's POST answers, once. Every field carries the secret, so each is a
/// [`Secret`] and Debug shows none of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// Base32 without padding, for typing into an app.
    pub secret: Secret,
    /// The `otpauth://totp/…` URI.
    pub uri: Secret,
    /// A standalone SVG document (with an XML declaration) of the URI's QR code.
    pub qr_svg: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolmentError {
    #[error("the otpauth URI is too long for a QR code")]
    TooLongForQrCode,
}

/// Error correction M (15 %) is what authenticator enrolment pages commonly
/// use; the quiet zone is kept so any scanner finds the code on any background.
fn qr_svg(uri: &str) -> Result<Secret, EnrolmentError> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|_| EnrolmentError::TooLongForQrCode)?;
    let svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    Ok(Secret::new(svg))
}

/// Keys for the OTP secrets at rest: the first is current (every encryption
/// uses it), every one decrypts what was stored under its id.
///
/// Configuration (`OTP_ENCRYPTION_KEY`): comma-separated `<key-id>:<key>`
/// entries, where `<key-id>` is 1 to 32 characters of `A-Z a-z 0-9 - _` and
/// `<key>` is standard base64 (padding optional) of exactly 32 random bytes,
/// e.g. `k1:<output of openssl rand -base64 32>`. Spaces around entries are
/// ignored.
///
/// Rotation without a data migration: put the new key first
/// (`k2:<new>,k1:<old>`); new secrets are stored under `k2`, those stored under
/// `k1` still decrypt (and move to `k2` when a device is enrolled again). Drop
/// `k1` only once no stored secret names it.
///
/// Stored form: `v1:<key-id>:<base64url(nonce ‖ ciphertext ‖ tag)>`, a fresh
/// 96-bit nonce per encryption, the user id as associated data, so a secret
/// copied to another user's record does not decrypt.
pub struct OtpKeyRing {
    keys: Vec<RingKey>,
}

struct RingKey {
    id: String,
    cipher: Aes256Gcm,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    #[error("no key given; expected `<key-id>:<base64 of 32 bytes>`, comma-separated for several")]
    Empty,
    #[error("key {position}: expected `<key-id>:<base64 of 32 bytes>`")]
    NotIdAndKey { position: usize },
    #[error("key {position}: a key id is 1 to {MAX_KEY_ID_CHARS} characters of A-Z, a-z, 0-9, '-' or '_'")]
    BadKeyId { position: usize },
    #[error("key {key_id}: not standard base64")]
    NotBase64 { key_id: String },
    #[error("key {key_id}: {bytes} bytes, AES-256 needs {KEY_BYTES}")]
    WrongKeyLength { key_id: String, bytes: usize },
    #[error("key id {key_id} appears more than once")]
    DuplicateKeyId { key_id: String },
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
const MAX_KEY_ID_CHARS: usize = 32;

/// Standard base64 as `openssl rand -base64 32` prints it, with or without
/// the trailing `=`.
const CONFIG_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn is_key_id(id: &str) -> bool {
    (1..=MAX_KEY_ID_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl OtpKeyRing {
    /// Parses the configuration value described on [`OtpKeyRing`]. Errors
    /// name a key by position or id, never by its value.
    pub fn parse(config: &str) -> Result<Self, KeyRingError> {
        if config.trim().is_empty() {
            return Err(KeyRingError::Empty);
        }
        let mut keys: Vec<RingKey> = Vec::new();
        for (index, entry) in config.split(',').enumerate() {
            let position = index + 1;
            let (id, encoded) = entry
                .trim()
                .split_once(':')
                .ok_or(KeyRingError::NotIdAndKey { position })?;
            if !is_key_id(id) {
                return Err(KeyRingError::BadKeyId { position });
            }
            let key_id = id.to_owned();
            if keys.iter().any(|key| key.id == key_id) {
                return Err(KeyRingError::DuplicateKeyId { key_id });
            }
            let bytes = CONFIG_BASE64
                .decode(encoded)
                .map_err(|_| KeyRingError::NotBase64 {
                    key_id: key_id.clone(),
                })?;
            let cipher =
                Aes256Gcm::new_from_slice(&bytes).map_err(|_| KeyRingError::WrongKeyLength {
                    key_id: key_id.clone(),
                    bytes: bytes.len(),
                })?;
            keys.push(RingKey { id: key_id, cipher });
        }
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
        getrandom::fill(&mut nonce).expect("the operating system's random number generator failed");
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

    fn issuer(name: &str) -> OtpIssuer {
        OtpIssuer::parse(name).expect("valid issuer")
    }

    #[test]
    fn generated_secret_is_160_bits_in_32_base32_characters() {
        let secret = OtpSecret::generate();
        let base32 = secret.to_base32();
        assert_eq!(secret.expose_bytes().len(), 20);
        assert_eq!(base32.expose().len(), 32);
        assert!(base32
            .expose()
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
    }

    #[test]
    fn generated_secrets_differ() {
        assert_ne!(OtpSecret::generate(), OtpSecret::generate());
    }

    #[test]
    fn base32_is_rfc_4648_without_padding() {
        // RFC 6238's seed "12345678901234567890".
        assert_eq!(rfc_seed().expose_bytes(), b"12345678901234567890");
        assert_eq!(
            rfc_seed().to_base32().expose(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        // 16 bytes do not fill the last base32 block: no `=` is written.
        let sixteen = OtpSecret(b"sixteen bytes!!!".to_vec());
        assert_eq!(sixteen.to_base32().expose(), "ONUXQ5DFMVXCAYTZORSXGIJBEE");
    }

    #[test]
    fn base32_input_is_read_as_apps_let_people_type_it() {
        let typed = "gezd gnbv gy3t qojq gezd gnbv gy3t qojq";
        assert_eq!(OtpSecret::from_base32(typed), Ok(rfc_seed()));
        let padded = "ONUXQ5DFMVXCAYTZORSXGIJBEE======";
        assert_eq!(
            OtpSecret::from_base32(padded).map(|s| s.expose_bytes().to_vec()),
            Ok(b"sixteen bytes!!!".to_vec())
        );
    }

    #[test]
    fn base32_input_that_is_not_a_usable_secret_is_refused() {
        assert_eq!(
            OtpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1"),
            Err(OtpSecretError::NotBase32)
        );
        assert_eq!(
            OtpSecret::from_base32(""),
            Err(OtpSecretError::WrongLength { bytes: 0 })
        );
        // 80 bits, the length some older services used: below RFC 4226's minimum.
        assert_eq!(
            OtpSecret::from_base32("JBSWY3DPEHPK3PXP"),
            Err(OtpSecretError::WrongLength { bytes: 10 })
        );
        let too_long = BASE32_NOPAD.encode(&[7u8; 65]);
        assert_eq!(
            OtpSecret::from_base32(&too_long),
            Err(OtpSecretError::WrongLength { bytes: 65 })
        );
    }

    #[test]
    fn uri_follows_the_key_uri_format() {
        let uri = rfc_seed().provisioning_uri(&issuer("Example Co"), "alice@example.com");
        assert_eq!(
            uri.expose(),
            "otpauth://totp/Example%20Co:alice@example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Co\
             &algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn uri_percent_encodes_what_would_break_it() {
        let uri = rfc_seed().provisioning_uri(&issuer("Zahl & Co/ü"), "a+b:c?d#e%f@ex.com");
        let expected_label =
            "otpauth://totp/Zahl%20%26%20Co%2F%C3%BC:a%2Bb%3Ac%3Fd%23e%25f@ex.com?";
        assert!(uri.expose().starts_with(expected_label), "{}", uri.expose());
        assert!(uri.expose().contains("&issuer=Zahl%20%26%20Co%2F%C3%BC&"));
    }

    #[test]
    fn issuer_from_configuration_is_checked() {
        assert_eq!(issuer("  Example  ").as_str(), "Example");
        assert_eq!(OtpIssuer::parse(" "), Err(OtpIssuerError::Empty));
        assert_eq!(
            OtpIssuer::parse("Acme:Pay"),
            Err(OtpIssuerError::ForbiddenCharacter)
        );
        assert_eq!(
            OtpIssuer::parse("Acme\nPay"),
            Err(OtpIssuerError::ForbiddenCharacter)
        );
        assert_eq!(
            OtpIssuer::parse(&"x".repeat(65)),
            Err(OtpIssuerError::TooLong)
        );
        assert!(OtpIssuer::parse(&"ü".repeat(64)).is_ok());
    }

    #[test]
    fn enrolment_holds_the_secret_the_uri_and_an_svg_qr_code() {
        let enrolment = rfc_seed()
            .enrolment(&issuer("Example"), "alice@example.com")
            .expect("fits a QR code");
        assert_eq!(
            enrolment.secret.expose(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert!(enrolment
            .uri
            .expose()
            .starts_with("otpauth://totp/Example:alice@example.com?"));
        let svg = enrolment.qr_svg.expose();
        assert!(svg.starts_with("<?xml"), "{svg}");
        assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<path fill=\"#000000\" d=\"M"));
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn enrolment_for_an_account_beyond_qr_capacity_is_an_error() {
        let account = format!("{}@example.com", "a".repeat(3000));
        assert_eq!(
            rfc_seed().enrolment(&issuer("Example"), &account),
            Err(EnrolmentError::TooLongForQrCode)
        );
    }

    #[test]
    fn longest_email_with_longest_issuer_fits_a_qr_code() {
        // 254 characters is the longest email; every one percent-encoded.
        let account = format!("{}@example.com", "+".repeat(242));
        assert!(rfc_seed()
            .enrolment(&issuer(&"&".repeat(64)), &account)
            .is_ok());
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
    fn debug_output_shows_no_secret_and_no_key() {
        let secret = rfc_seed();
        let enrolment = secret
            .enrolment(&issuer("Example"), "alice@example.com")
            .expect("fits a QR code");
        let keys = ring(&format!("k2:{KEY_B},k1:{KEY_A}"));
        let printed = [
            format!("{secret:?}"),
            format!("{enrolment:?}"),
            format!("{keys:?}"),
            format!("{:?}", keys.decrypt(&keys.encrypt(&secret, USER), USER)),
        ];
        for debug in printed {
            for hidden in [
                "GEZDGNBVGY3TQOJQ",
                "12345678901234567890",
                "49, 50, 51",
                "otpauth",
                "<svg",
                &KEY_A[..20],
                &KEY_B[..20],
            ] {
                assert!(!debug.contains(hidden), "{debug} shows {hidden}");
            }
        }
        assert!(format!("{keys:?}").contains("\"k2\", \"k1\""), "{keys:?}");
    }
}

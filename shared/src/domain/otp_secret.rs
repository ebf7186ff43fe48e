//! The device-OTP secret (SPEC P7): made fresh from the OS generator, shown to
//! the user once as base32, an `otpauth://` URI and its QR code, and stored
//! only encrypted (AES-256-GCM, the user id as associated data).
//!
//! Crates: `data-encoding` for RFC 4648 base32, `percent-encoding` for the URI,
//! `qrcode` (SVG renderer only) for the picture. The encryption at rest is
//! `otp_key_ring`.

use std::fmt;

use data_encoding::BASE32_NOPAD;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use crate::domain::totp::{DIGITS, STEP_SECONDS};
use crate::domain::{fill_random, Secret};

/// 160 bits, RFC 4226's recommended length for an HMAC-SHA1 secret.
pub const SECRET_BYTES: usize = 20;
/// RFC 4226 R6: at least 128 bits. Only secrets typed in (operator CLI) can be
/// shorter than [`SECRET_BYTES`].
const MIN_SECRET_BYTES: usize = 16;
const MAX_SECRET_BYTES: usize = 64;

/// A TOTP secret in raw bytes. Debug never shows it; it leaves this type only
/// as base32 for the enrolling user, as bytes for the verifier, or encrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpSecret(pub(super) Vec<u8>);

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
        fill_random(&mut bytes);
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn debug_output_shows_no_secret() {
        let secret = rfc_seed();
        let enrolment = secret
            .enrolment(&issuer("Example"), "alice@example.com")
            .expect("fits a QR code");
        for debug in [format!("{secret:?}"), format!("{enrolment:?}")] {
            for hidden in [
                "GEZDGNBVGY3TQOJQ",
                "12345678901234567890",
                "49, 50, 51",
                "otpauth",
                "<svg",
            ] {
                assert!(!debug.contains(hidden), "{debug} shows {hidden}");
            }
        }
    }
}

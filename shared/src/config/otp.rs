//! The device OTP's section (SPEC P5, P7): the key ring that seals the
//! secrets at rest (by its secret's id, read at run time: `secrets.rs`),
//! and the issuer authenticator apps show. Present only where
//! `OTP_ENCRYPTION_KEY_SECRET_ID` is set; the stack gives it to P5 and P7 alone.

use super::{ConfigError, Vars};
use crate::domain::OtpIssuer;

/// The issuer authenticator apps show where `OTP_ISSUER` is not set.
const DEFAULT_ISSUER: &str = "Password Service";

#[derive(Debug, Clone)]
pub struct OtpSettings {
    /// The secret holding the key ring ([`crate::domain::OtpKeyRing`]).
    pub key_ring_secret_id: String,
    /// The service's name in authenticator apps.
    pub issuer: OtpIssuer,
}

impl OtpSettings {
    pub(super) fn read(vars: &Vars) -> Result<Option<Self>, ConfigError> {
        let Some(key_ring_secret_id) = vars.optional("OTP_ENCRYPTION_KEY_SECRET_ID") else {
            return Ok(None);
        };
        let issuer = match vars.read_with("OTP_ISSUER", OtpIssuer::parse)? {
            Some(issuer) => issuer,
            None => OtpIssuer::parse(DEFAULT_ISSUER).expect("the default issuer is valid"),
        };
        Ok(Some(Self {
            key_ring_secret_id,
            issuer,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::config::tests::complete;
    use crate::config::Config;

    const RING_ID: &str = "password-service/dev/otp-encryption-key";

    fn vars(otp: &[(&str, &str)]) -> HashMap<String, String> {
        let mut vars = complete();
        vars.extend(otp.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        vars
    }

    #[test]
    fn without_the_ring_there_is_no_otp_section_and_requiring_it_names_it() {
        let config = Config::from_map(&vars(&[])).unwrap();
        assert!(config.otp.is_none());
        let missing = config.require_otp().unwrap_err().to_string();
        assert!(
            missing.contains("OTP_ENCRYPTION_KEY_SECRET_ID"),
            "{missing}"
        );
    }

    #[test]
    fn the_ring_is_named_by_its_secret_and_the_issuer_has_a_default() {
        let config = Config::from_map(&vars(&[("OTP_ENCRYPTION_KEY_SECRET_ID", RING_ID)])).unwrap();
        let otp = config.require_otp().unwrap();
        assert_eq!(otp.key_ring_secret_id, RING_ID);
        assert_eq!(otp.issuer.as_str(), "Password Service");
    }

    #[test]
    fn a_malformed_issuer_is_named() {
        let otp = [
            ("OTP_ENCRYPTION_KEY_SECRET_ID", RING_ID),
            ("OTP_ISSUER", "Acme:Pay"),
        ];
        let error = Config::from_map(&vars(&otp)).unwrap_err().to_string();
        assert!(error.contains("OTP_ISSUER"), "{error}");
    }
}

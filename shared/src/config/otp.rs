//! The device OTP's section (SPEC P5, P7): the key ring that seals the
//! secrets at rest, and the issuer authenticator apps show. Read only where
//! `OTP_ENCRYPTION_KEY` is set; the stack gives it to P5 and P7 alone.

use super::{ConfigError, Vars};
use crate::domain::{OtpIssuer, OtpKeyRing};

/// The issuer authenticator apps show where `OTP_ISSUER` is not set.
const DEFAULT_ISSUER: &str = "Password Service";

#[derive(Debug, Clone)]
pub struct OtpSettings {
    /// Seals the secrets at rest; its `Debug` shows key ids only.
    pub keys: OtpKeyRing,
    /// The service's name in authenticator apps.
    pub issuer: OtpIssuer,
}

impl OtpSettings {
    pub(super) fn read(vars: &Vars) -> Result<Option<Self>, ConfigError> {
        // The ring's errors name a key by position or id, never by its value.
        let Some(keys) = vars.read_with("OTP_ENCRYPTION_KEY", OtpKeyRing::parse)? else {
            return Ok(None);
        };
        let issuer = match vars.read_with("OTP_ISSUER", OtpIssuer::parse)? {
            Some(issuer) => issuer,
            None => OtpIssuer::parse(DEFAULT_ISSUER).expect("the default issuer is valid"),
        };
        Ok(Some(Self { keys, issuer }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::config::tests::complete;
    use crate::config::Config;

    /// 32 bytes in base64 (`openssl rand -base64 32`).
    const KEY: &str = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=";

    fn vars(otp: &[(&str, &str)]) -> HashMap<String, String> {
        let mut vars = complete();
        vars.extend(otp.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        vars
    }

    #[test]
    fn without_the_key_there_is_no_otp_section_and_requiring_it_names_the_key() {
        let config = Config::from_map(&vars(&[])).unwrap();
        assert!(config.otp.is_none());
        let missing = config.require_otp().unwrap_err().to_string();
        assert!(missing.contains("OTP_ENCRYPTION_KEY"), "{missing}");
    }

    #[test]
    fn a_ring_of_two_keys_encrypts_with_the_first_and_never_shows_a_key() {
        let ring = format!("k2:{KEY}, k1:{KEY}");
        let config = Config::from_map(&vars(&[("OTP_ENCRYPTION_KEY", &ring)])).unwrap();
        let otp = config.require_otp().unwrap();
        assert_eq!(otp.keys.current_key_id(), "k2");
        assert_eq!(otp.issuer.as_str(), "Password Service");
        let shown = format!("{config:?}");
        assert!(
            shown.contains("\"k2\"") && !shown.contains(&KEY[..16]),
            "{shown}"
        );
    }

    #[test]
    fn a_malformed_key_or_issuer_is_named_without_repeating_the_key() {
        let ring = format!("k1:{KEY}");
        for otp in [
            [
                ("OTP_ENCRYPTION_KEY", "k1:c2hvcnQ="),
                ("OTP_ISSUER", "Acme"),
            ],
            [("OTP_ENCRYPTION_KEY", KEY), ("OTP_ISSUER", "Acme")],
            [("OTP_ENCRYPTION_KEY", &ring), ("OTP_ISSUER", "Acme:Pay")],
        ] {
            let error = Config::from_map(&vars(&otp)).unwrap_err().to_string();
            let named = if otp[1].1 == "Acme" {
                otp[0].0
            } else {
                otp[1].0
            };
            assert!(error.contains(named), "{error}");
            assert!(!error.contains(&KEY[..16]), "{error}");
        }
    }
}

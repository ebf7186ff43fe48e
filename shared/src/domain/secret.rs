//! Secrets in memory: their `Debug` never shows the value, so none can slip
//! into a log line by formatting.

use std::fmt;

/// A secret from a request or a mail (password, token, code, PIN).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Key material from configuration (pepper, JWT secret): shown as `[set]`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(value: impl Into<Vec<u8>>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[set]")
    }
}

/// A PIN: exactly four ASCII digits (not other scripts' digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin(Secret);

impl Pin {
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 4 && raw.bytes().all(|b| b.is_ascii_digit())).then(|| Self(Secret::new(raw)))
    }

    pub fn secret(&self) -> &Secret {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_exactly_four_ascii_digits() {
        assert!(Pin::parse("0123").is_some());
        for bad in ["123", "12345", "12a4", "١٢٣٤", " 123", ""] {
            assert!(Pin::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn secret_debug_never_shows_the_value() {
        let secret = Secret::new("hunter2-correct-horse");
        assert!(!format!("{secret:?}").contains("hunter2"));
        let bytes = SecretBytes::new(b"hunter2-correct-horse".to_vec());
        assert_eq!(format!("{bytes:?}"), "[set]");
        let pin = Pin::parse("1234").unwrap();
        assert!(!format!("{pin:?}").contains("1234"));
    }
}

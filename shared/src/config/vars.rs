//! Where configuration variables come from, and how each kind is read: a
//! missing or malformed one is an error that names it.

use std::collections::HashMap;

use super::ConfigError;
use crate::domain::SecretBytes;

/// The shortest key accepted for HMAC (pepper, HS256): 256 bits.
const MIN_KEY_BYTES: usize = 32;

/// Looks a variable up by name.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Where variables come from: the environment, or a map (tests, pwctl).
pub(super) struct Vars<'a>(Lookup<'a>);

impl<'a> Vars<'a> {
    pub(super) fn environment() -> Self {
        Self(Box::new(|name| std::env::var(name).ok()))
    }

    pub(super) fn map(vars: &'a HashMap<String, String>) -> Self {
        Self(Box::new(|name| vars.get(name).cloned()))
    }

    /// A set, non-blank value; blank counts as unset.
    pub(super) fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    pub(super) fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    /// Key material of at least 256 bits, where set.
    pub(super) fn key(&self, name: &'static str) -> Result<Option<SecretBytes>, ConfigError> {
        match self.optional(name) {
            Some(key) if key.len() < MIN_KEY_BYTES => Err(ConfigError::Invalid {
                name,
                reason: format!("must be at least {MIN_KEY_BYTES} bytes"),
            }),
            key => Ok(key.map(SecretBytes::new)),
        }
    }

    /// A set value read by `read`, whose error says why it is invalid.
    pub(super) fn read_with<T, E: std::fmt::Display>(
        &self,
        name: &'static str,
        read: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, ConfigError> {
        self.optional(name)
            .map(|raw| read(&raw))
            .transpose()
            .map_err(|e| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            })
    }

    pub(super) fn parsed<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    reason: e.to_string(),
                }),
        }
    }

    pub(super) fn bounded<T>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display,
        T::Err: std::fmt::Display,
    {
        let value = self.parsed(name, default)?;
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(ConfigError::Invalid {
                name,
                reason: format!("must be between {} and {}", range.start(), range.end()),
            })
        }
    }
}

//! The format both key rings are written in (the OTP secrets' and the
//! pepper's): comma-separated `<key-id>:<key>` entries, the first current.
//! `<key-id>` is 1 to 32 characters of `A-Z a-z 0-9 - _`; `<key>` is standard
//! base64 (padding optional), e.g. `k1:<output of openssl rand -base64 32>`.
//! Spaces around entries are ignored. Errors name a key by position or id,
//! never by its value.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

use super::secret::SecretBytes;

const MAX_KEY_ID_CHARS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    #[error("no key given; expected `<key-id>:<base64 key>`, comma-separated for several")]
    Empty,
    #[error("key {position}: expected `<key-id>:<base64 key>`")]
    NotIdAndKey { position: usize },
    #[error("key {position}: a key id is 1 to {MAX_KEY_ID_CHARS} characters of A-Z, a-z, 0-9, '-' or '_'")]
    BadKeyId { position: usize },
    #[error("key {key_id}: not standard base64")]
    NotBase64 { key_id: String },
    #[error("key {key_id}: {bytes} bytes, {needs}")]
    WrongKeyLength {
        key_id: String,
        bytes: usize,
        needs: &'static str,
    },
    #[error("key id {key_id} appears more than once")]
    DuplicateKeyId { key_id: String },
}

/// Standard base64 as `openssl rand -base64 32` prints it, with or without
/// the trailing `=`.
const CONFIG_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(super) fn is_key_id(id: &str) -> bool {
    (1..=MAX_KEY_ID_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What a ring accepts as a key's length, and how its error says so.
pub(super) struct KeyLength {
    pub accepts: fn(usize) -> bool,
    pub needs: &'static str,
}

/// The entries of `config`, in order, each key's length checked.
pub(super) fn parse_entries(
    config: &str,
    length: KeyLength,
) -> Result<Vec<(String, SecretBytes)>, KeyRingError> {
    if config.trim().is_empty() {
        return Err(KeyRingError::Empty);
    }
    let mut keys: Vec<(String, SecretBytes)> = Vec::new();
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
        if keys.iter().any(|(known, _)| *known == key_id) {
            return Err(KeyRingError::DuplicateKeyId { key_id });
        }
        let Ok(bytes) = CONFIG_BASE64.decode(encoded) else {
            return Err(KeyRingError::NotBase64 { key_id });
        };
        if !(length.accepts)(bytes.len()) {
            return Err(KeyRingError::WrongKeyLength {
                key_id,
                bytes: bytes.len(),
                needs: length.needs,
            });
        }
        keys.push((key_id, SecretBytes::new(bytes)));
    }
    Ok(keys)
}

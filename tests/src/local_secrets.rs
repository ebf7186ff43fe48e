//! The secrets a twin app reads: scripts/local-secrets.env's values under the
//! ids local.env gives them (`<NAME>_SECRET_ID`), as the emulator's Secrets
//! Manager holds them after `scripts/emulator.py setup`. An id it does not
//! hold cannot be read, as one never created in Secrets Manager.

use std::collections::HashMap;

use async_trait::async_trait;
use password_service::secrets::{SecretError, SecretSource};

pub struct LocalSecrets {
    by_id: HashMap<String, String>,
}

impl LocalSecrets {
    pub fn new() -> Self {
        let settings = crate::local_settings();
        let by_id = crate::local_secrets()
            .into_iter()
            .filter_map(|(name, value)| {
                let id = settings.get(&format!("{name}_SECRET_ID"))?;
                Some((id.clone(), value))
            })
            .collect();
        Self { by_id }
    }
}

impl Default for LocalSecrets {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl SecretSource for LocalSecrets {
    async fn secret_string(&self, id: &str) -> Result<String, SecretError> {
        self.by_id
            .get(id)
            .cloned()
            .ok_or_else(|| SecretError::Unavailable {
                id: id.to_owned(),
                reason: "not one of the local secrets (scripts/local-secrets.env)".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_values_are_served_under_local_env_s_ids_and_nothing_else() {
        let secrets = LocalSecrets::new();
        let settings = crate::local_settings();
        let values = crate::local_secrets();
        for name in ["PEPPER", "OTP_ENCRYPTION_KEY"] {
            let id = &settings[&format!("{name}_SECRET_ID")];
            assert_eq!(secrets.secret_string(id).await.unwrap(), values[name]);
        }
        let unknown = secrets.secret_string("password-service/tests/none").await;
        assert!(
            matches!(unknown, Err(SecretError::Unavailable { .. })),
            "{unknown:?}"
        );
    }
}

//! Setting a first password by emailed link: P1 issues the link, P2 redeems it.

use std::time::Duration;

use crate::domain::{AuditEventType, Secret, User};
use crate::mail::{render, Notice};
use crate::rate_limit::Limit;
use crate::secrets::{new_token, token_digest};
use crate::service::{ServiceError, Services};
use crate::store::{IssueTokenError, PasswordWrite, SetPasswordWithTokenError};

const SET_PASSWORD_EMAILS: Limit = Limit::Emails {
    kind: "set-password",
};

/// How often a confirmation re-reads and retries when the user changed
/// between its read and its write; more is contention, not progress.
const MAX_WRITE_ATTEMPTS: usize = 3;

/// P1: replaces the user's set-password link with a new one and mails it.
/// Returns when the link expires (Unix seconds).
pub async fn request_link(
    services: &Services,
    user: &User,
    page_url: &str,
) -> Result<i64, ServiceError> {
    if user.has_password() {
        return Err(ServiceError::PasswordAlreadySet);
    }
    let taken = services.take(SET_PASSWORD_EMAILS, user.id.as_str()).await?;
    match issue_and_mail(services, user, page_url).await {
        Ok(expires_at) => Ok(expires_at),
        Err(error) => {
            // No email went out: the attempt does not count.
            services.give_back(taken).await;
            Err(error)
        }
    }
}

async fn issue_and_mail(
    services: &Services,
    user: &User,
    page_url: &str,
) -> Result<i64, ServiceError> {
    let token = new_token();
    let ttl = services.config.set_password_ttl;
    let expires_at = services.clock.now_seconds() + ttl.as_secs() as i64;
    services
        .store
        .issue_set_password_token(user, &token_digest(&token), expires_at)
        .await
        .map_err(|e| match e {
            IssueTokenError::NotEligible => ServiceError::PasswordAlreadySet,
            IssueTokenError::Store(e) => e.into(),
        })?;
    let link = link_with_token(page_url, &token);
    let mail = render(
        Notice::SetPasswordLink {
            link: &link,
            valid_hours: hours(ttl),
        },
        &user.email,
        user.locale,
    );
    services.mailer.send(&mail).await?;
    tracing::info!(user_id = %user.id, "set-password link sent");
    Ok(expires_at)
}

/// P2: sets the first password if the token is live, consuming it in the
/// same transaction. Invalid links count against the client's address.
pub async fn confirm(
    services: &Services,
    client: Option<&str>,
    token: &Secret,
    password: &Secret,
) -> Result<(), ServiceError> {
    let taken = match client {
        Some(address) => Some(services.take(Limit::InvalidLinks, address).await?),
        None => None,
    };
    let outcome = confirm_with_token(services, token, password).await;
    if let (Some(taken), false) = (taken, matches!(outcome, Err(ServiceError::TokenInvalid))) {
        services.give_back(taken).await;
    }
    outcome
}

async fn confirm_with_token(
    services: &Services,
    token: &Secret,
    password: &Secret,
) -> Result<(), ServiceError> {
    let digest = token_digest(token);
    let record = services
        .store
        .find_set_password_token(&digest)
        .await?
        .filter(|r| r.expires_at > services.clock.now_seconds())
        .ok_or(ServiceError::TokenInvalid)?;

    let mut hashed: Option<String> = None;
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let user = services
            .store
            .get_user(&record.user_id)
            .await?
            .ok_or(ServiceError::TokenInvalid)?;
        if user.set_password_token_hash.as_deref() != Some(digest.as_str()) {
            // Replaced by a newer link, or already used.
            return Err(if user.has_password() {
                ServiceError::PasswordAlreadySet
            } else {
                ServiceError::TokenInvalid
            });
        }
        if user.has_password() {
            return Err(ServiceError::PasswordAlreadySet);
        }
        let password_hash = match &hashed {
            Some(h) => h.clone(),
            None => {
                let accepted = services.policy.check(password, &user.email)?;
                let h = services.hasher.hash(accepted).await?;
                hashed.insert(h).clone()
            }
        };
        let now = services.clock.now_millis();
        let write = PasswordWrite {
            user_id: user.id.clone(),
            expected_sequence: user.sequence,
            password_hash,
            change_required: false,
            // The first password ends no session (SPEC section 1).
            sessions_not_before: None,
            event: AuditEventType::PasswordSet,
            actor: user.id.to_string(),
            at: now,
            delete_critical_data: false,
        };
        match services
            .store
            .set_password_with_token(&digest, now.div_euclid(1000), &write)
            .await
        {
            Ok(_) => {
                tracing::info!(user_id = %user.id, "password set");
                services.notify(&user, Notice::PasswordSet).await;
                return Ok(());
            }
            Err(SetPasswordWithTokenError::TokenNotLive) => return Err(ServiceError::TokenInvalid),
            Err(SetPasswordWithTokenError::UserChanged) => continue,
            Err(SetPasswordWithTokenError::Store(e)) => return Err(e.into()),
        }
    }
    Err(ServiceError::Internal(
        "the user kept changing during confirmation".into(),
    ))
}

fn link_with_token(base: &str, token: &Secret) -> String {
    // The token is base64url, so it needs no escaping in a query.
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}token={}", token.expose())
}

fn hours(ttl: Duration) -> u64 {
    ttl.as_secs().div_ceil(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_append_the_token_as_a_query_parameter() {
        let token = Secret::new("abc_-");
        assert_eq!(
            link_with_token("https://x.example/set", &token),
            "https://x.example/set?token=abc_-"
        );
        assert_eq!(
            link_with_token("https://x.example/set?lang=de", &token),
            "https://x.example/set?lang=de&token=abc_-"
        );
    }
}

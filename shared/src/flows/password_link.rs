//! Setting a first password by emailed link: P1 issues the link, P2 redeems it.

use super::ports::{Clocked, Limits, Notices, Passwords, Settings, TokenStore, UserStore};
use std::time::Duration;

use crate::domain::{new_token, token_digest, AuditEventType, Email, Locale, Secret, User, UserId};
use crate::error::ServiceError;
use crate::mail::Notice;
use crate::rate_limit::Limit;
use crate::store::{PasswordWrite, WriteError};

use super::{retry_on_conflict, send_before_storing, Retry};

const SET_PASSWORD_EMAILS: Limit = Limit::Emails {
    kind: "set-password",
};

/// P1: replaces the user's set-password link with a new one and mails it.
/// Returns when the link expires (Unix seconds).
///
/// The mail goes out first and the new link is stored after: if the mail
/// fails, nothing changed and the previous link still works; if the store
/// fails after it, the answer is an error and, again, the previous link
/// still works (the mailed one never became live).
pub async fn request_link(
    ports: &(impl Clocked + Limits + Notices + Settings + TokenStore),
    user: &User,
    page_url: &str,
) -> Result<i64, ServiceError> {
    if user.has_password() {
        return Err(ServiceError::PasswordAlreadySet);
    }
    let taken = ports
        .limiter()
        .take(SET_PASSWORD_EMAILS, user.id.as_str())
        .await?;
    let token = new_token();
    let ttl = ports.config().mail.set_password_ttl;
    let expires_at = ports.clock().now_seconds() + ttl.as_secs() as i64;
    let link = link_with_token(page_url, &token);
    let notice = Notice::SetPasswordLink {
        link: &link,
        valid_hours: hours(ttl),
    };
    send_before_storing(ports, taken, notice, user).await?;
    ports
        .tokens()
        .issue_set_password_token(user, &token_digest(&token), expires_at)
        .await
        .map_err(|e| match e {
            WriteError::NotEligible => ServiceError::PasswordAlreadySet,
            other => other.into(),
        })?;
    tracing::info!(user_id = %user.id, "set-password link sent");
    Ok(expires_at)
}

/// P2: sets the first password if the token is live, consuming it in the
/// same transaction. The link is decided first: a live one always goes
/// through, and only an invalid one counts against the client's address, or
/// is refused by that limit (SPEC section 3: thousands of users may share an
/// address behind a carrier-grade NAT).
pub async fn confirm(
    ports: &(impl Clocked + Limits + Notices + Passwords + TokenStore + UserStore),
    client: Option<&str>,
    token: &Secret,
    password: &Secret,
) -> Result<(), ServiceError> {
    match (redeem(ports, token, password).await, client) {
        (Err(ServiceError::TokenInvalid), Some(address)) => {
            ports.limiter().take(Limit::InvalidLinks, address).await?;
            Err(ServiceError::TokenInvalid)
        }
        (outcome, _) => outcome,
    }
}

/// The user a live token was issued to, as far as redeeming it needs them.
#[derive(Debug, Clone)]
struct Holder {
    id: UserId,
    email: Email,
    locale: Locale,
    /// The sequence the write expects.
    sequence: u64,
}

impl Holder {
    /// The user as stored now, if the link with `digest` is still theirs to redeem.
    async fn read(ports: &impl UserStore, id: &UserId, digest: &str) -> Result<Self, ServiceError> {
        let user = ports
            .users()
            .get_user(id)
            .await?
            .ok_or(ServiceError::TokenInvalid)?;
        still_redeemable(&user, digest)?;
        Ok(Self {
            id: user.id,
            email: user.email,
            locale: user.locale,
            sequence: user.sequence,
        })
    }
}

/// Two round trips when the user did not change since the link was issued:
/// the token (which records its user), then the transaction.
async fn redeem(
    ports: &(impl Clocked + Notices + Passwords + TokenStore + UserStore),
    token: &Secret,
    password: &Secret,
) -> Result<(), ServiceError> {
    let digest = token_digest(token);
    let record = ports
        .tokens()
        .find_set_password_token(&digest)
        .await?
        .filter(|r| r.expires_at > ports.clock().now_seconds())
        .ok_or(ServiceError::TokenInvalid)?;
    let holder = match record.issued_to {
        Some(issued) => Holder {
            id: record.user_id,
            email: issued.email,
            locale: issued.locale,
            sequence: issued.sequence,
        },
        None => Holder::read(ports, &record.user_id, &digest).await?,
    };
    let accepted = ports.policy().accept(password, &holder.email)?;
    let password_hash = ports.hasher().hash(accepted).await?;
    let (digest, password_hash) = (&digest, &password_hash);
    let holder = retry_on_conflict(
        holder,
        // The user changed since the link was issued: the link may have been
        // replaced, or a password set another way; else retry on the new sequence.
        |holder| Box::pin(async move { Holder::read(ports, &holder.id, digest).await }),
        |holder| {
            Box::pin(async move {
                let now = ports.clock().now_millis();
                let write = PasswordWrite {
                    user_id: holder.id.clone(),
                    expected_sequence: holder.sequence,
                    password_hash: password_hash.clone(),
                    change_required: false,
                    // The first password ends no session (SPEC section 1).
                    sessions_not_before: None,
                    event: AuditEventType::PasswordSet,
                    actor: holder.id.to_string(),
                    at: now,
                    delete_critical_data: false,
                };
                match ports
                    .tokens()
                    .set_password_with_token(digest, now.div_euclid(1000), &write)
                    .await
                {
                    Ok(_) => Ok(holder),
                    Err(WriteError::TokenNotLive) => {
                        Err(Retry::Refused(ServiceError::TokenInvalid))
                    }
                    Err(other) => Err(other.into()),
                }
            })
        },
    )
    .await?;
    tracing::info!(user_id = %holder.id, "password set");
    ports
        .notify_address(
            &holder.id,
            &holder.email,
            holder.locale,
            Notice::PasswordSet,
        )
        .await;
    Ok(())
}

/// Whether `user` as read still waits for the link with `digest`: not
/// replaced by a newer link, not used, and no password set another way.
fn still_redeemable(user: &User, digest: &str) -> Result<(), ServiceError> {
    if user.has_password() {
        Err(ServiceError::PasswordAlreadySet)
    } else if user.set_password_token_hash.as_deref() != Some(digest) {
        Err(ServiceError::TokenInvalid)
    } else {
        Ok(())
    }
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

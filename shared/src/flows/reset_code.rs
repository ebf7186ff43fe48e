//! Z1: issue a password-reset code for a user, mailed with a link from a
//! template or answered to an admin.
//!
//! A user's code lives in the tokens table as an HMAC under the pepper, one
//! per user (a new one replaces the old), for an hour, dead after five wrong
//! tries. Issuing one is a change of the user (sequence bump, audit event),
//! so its `details` come from that transaction.

use super::ports::{Clocked, Limits, Notices, PepperKeys, ResetCodeStore, Settings, UserStore};
use crate::auth::{Actor, Caller, SCOPE_RESET_PASSWORD};
use crate::domain::{random_symbols, ChangeDetails, Purpose, Secret, User, UserId};
use crate::error::ServiceError;
use crate::mail::Notice;
use crate::rate_limit::Limit;

use super::caller::check_caller_session;
use super::{retry_user_change, send_before_storing};

pub const CODE_TTL_SECONDS: i64 = 3600;
pub const MAX_WRONG_CODE_TRIES: u32 = 5;
const CODE_ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A code of `length` characters from `[A-Z0-9]`, uniformly.
pub fn new_code(length: usize) -> Secret {
    Secret::new(random_symbols(CODE_ALPHABET, length))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Mail the code, with a link from this template (or the configured one).
    SendLink { url_template: Option<String> },
    /// Answer the code to the (admin) caller.
    ReturnCode,
}

/// The user `user_id` names, once the caller's session is known to be live
/// (see [`check_caller_session`]).
pub(super) async fn find_user(
    ports: &(impl Settings + UserStore),
    caller: &Caller,
    user_id: &str,
) -> Result<User, ServiceError> {
    let id = UserId::parse(user_id).ok_or(ServiceError::UserNotFound)?;
    let user = ports
        .users()
        .get_user(&id)
        .await?
        .ok_or(ServiceError::UserNotFound)?;
    check_caller_session(ports, caller, &user).await?;
    Ok(user)
}

/// Z1: issues a new code for `user_id`, mailing it or answering it, on the
/// authority of `actor` (see [`Caller::authorise`]).
pub async fn issue_code(
    ports: &(impl Clocked + Limits + Notices + PepperKeys + ResetCodeStore + Settings + UserStore),
    caller: &Caller,
    actor: Actor,
    user_id: &str,
    delivery: &Delivery,
) -> Result<(ChangeDetails, Option<Secret>), ServiceError> {
    if *delivery == Delivery::ReturnCode && actor != Actor::Admin {
        return Err(ServiceError::Forbidden(SCOPE_RESET_PASSWORD.into()));
    }
    if let Delivery::SendLink {
        url_template: Some(template),
    } = delivery
    {
        check_link_host(&ports.config().reset_codes.url_hosts, template)?;
    }
    // The pepper is read beside the user (a round trip each, where it is not
    // held), and before anything is counted, mailed or stored.
    let (user, pepper) = tokio::try_join!(find_user(ports, caller, user_id), ports.pepper())?;
    let taken = match delivery {
        Delivery::SendLink { .. } => {
            let emails = Limit::Emails {
                kind: "password-reset-code",
            };
            ports.limiter().take(emails, user.id.as_str()).await?
        }
        Delivery::ReturnCode => {
            ports
                .limiter()
                .take(Limit::AdminResets, &caller.subject)
                .await?
        }
    };
    let code = new_code(ports.config().reset_codes.length);
    if let Delivery::SendLink { url_template } = delivery {
        // The mail goes out before the code is stored: if it fails, nothing
        // changed and the previous code still works.
        let template =
            url_template
                .as_deref()
                .or(ports.config().reset_codes.url_template.as_deref());
        let link = template.map(|t| fill_template(t, &user, &code));
        let notice = Notice::ResetCode {
            code: code.expose(),
            link: link.as_deref(),
            valid_minutes: (CODE_TTL_SECONDS / 60) as u64,
        };
        send_before_storing(ports, taken, notice, &user).await?;
    }
    let digest = pepper.digest(Purpose::ResetCode, user.id.as_str(), &code);
    let digest = &digest;
    let (user, details) = retry_user_change(ports, user, |user| {
        Box::pin(async move {
            let at = ports.clock().now_millis();
            let expires_at = at.div_euclid(1000) + CODE_TTL_SECONDS;
            let sequence = ports
                .reset_codes()
                .issue_reset_code(&user, digest, expires_at, &caller.subject, at)
                .await?;
            let details = ChangeDetails {
                sequence,
                change_date: at,
                resource_owner: user.resource_owner.clone(),
            };
            Ok((user, details))
        })
    })
    .await?;
    tracing::info!(user_id = %user.id, "reset code issued");
    let returned = (*delivery == Delivery::ReturnCode).then_some(code);
    Ok((details, returned))
}

/// A request's `urlTemplate` may link only to a configured host, over https
/// (plain http only to this machine, for the local stack): else anyone with
/// a user's token could have a genuine-looking email carry the code away.
///
/// The template, with sample values in its placeholders, is parsed as a
/// browser parses a link (WHATWG URL), and the host the browser would visit
/// is compared exactly. What a browser reads otherwise than the text shows
/// is refused outright: backslashes (read as `/`), whitespace and control
/// characters (dropped), user info (`allowed@evil` or `evil\@allowed`), and a
/// host whose parsed form is not its text (percent-encoded or
/// internationalised hosts).
fn check_link_host(allowed: &[String], template: &str) -> Result<(), ServiceError> {
    let refuse = |description: &str| ServiceError::InvalidField {
        field: "sendLink.urlTemplate",
        description: description.to_string(),
    };
    if template
        .chars()
        .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
    {
        return Err(refuse(
            "must not contain a backslash, whitespace or a control character",
        ));
    }
    let sample = template
        .replace("{{.UserID}}", "000000000000000000000000")
        .replace("{{.Code}}", "SAMPLE")
        .replace("{{.OrgID}}", "org");
    let link = url::Url::parse(&sample).map_err(|_| refuse("must be an absolute URL"))?;
    if !link.username().is_empty() || link.password().is_some() {
        return Err(refuse("must not carry a user name or password"));
    }
    let host = link
        .host_str()
        .ok_or_else(|| refuse("must be an absolute URL"))?;
    // The host as written: between "//" and the first of "/?#", less a port.
    let authority = sample
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or_default())
        .unwrap_or_default();
    let written = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    if !written.eq_ignore_ascii_case(host) {
        return Err(refuse("must name its host plainly"));
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if !allowed.iter().any(|a| a == bare) {
        return Err(refuse("must link to a host this service is configured for"));
    }
    if !crate::domain::link::is_secure(&link) {
        return Err(refuse("must be an https URL"));
    }
    Ok(())
}

/// The link of a `urlTemplate`: `{{.UserID}}`, `{{.Code}}`, `{{.OrgID}}`
/// replaced by their values, percent-encoded for a URL.
pub fn fill_template(template: &str, user: &User, code: &Secret) -> String {
    template
        .replace("{{.UserID}}", &url_encode(user.id.as_str()))
        .replace("{{.Code}}", &url_encode(code.expose()))
        .replace("{{.OrgID}}", &url_encode(&user.resource_owner))
}

fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, Locale};

    #[test]
    fn codes_have_the_length_asked_and_only_upper_case_letters_and_digits() {
        for length in [1, 6, 20] {
            let code = new_code(length);
            assert_eq!(code.expose().len(), length);
            assert!(code
                .expose()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        }
        assert_ne!(new_code(20).expose(), new_code(20).expose());
    }

    #[test]
    fn link_templates_may_name_only_configured_hosts_over_https() {
        let allowed = vec!["app.example".to_string(), "127.0.0.1".to_string()];
        for good in [
            "https://app.example/reset?code={{.Code}}",
            "https://APP.example:8443/r",
            "http://127.0.0.1:9000/password/reset?code={{.Code}}",
        ] {
            assert!(check_link_host(&allowed, good).is_ok(), "{good}");
        }
        for bad in [
            "https://evil.example/reset?code={{.Code}}",
            "https://app.example@evil.example/",
            "https://app.example.evil.example/",
            "http://app.example/reset",
            "https://{{.OrgID}}.app.example/",
            "app.example/reset",
        ] {
            assert!(check_link_host(&allowed, bad).is_err(), "{bad}");
        }
    }

    /// Each of these sends a browser somewhere other than an allowed host,
    /// or is not what its text shows.
    #[test]
    fn link_templates_are_judged_by_the_host_a_browser_would_visit() {
        let allowed = vec!["app.example".to_string(), "127.0.0.1".to_string()];
        for bad in [
            // A browser reads the backslash as "/": the host is evil.example.
            "https://evil.example\\@app.example/reset?code={{.Code}}",
            "https:\\\\evil.example/reset",
            "https://evil.example\\.app.example/",
            // User info, in any form.
            "https://user@app.example/",
            "https://user:pass@app.example/",
            "https://app.example:443@evil.example/",
            "https://%61pp.example@evil.example/",
            // Suffixes and look-alikes.
            "https://evilapp.example/",
            "https://app.example.evil.example/",
            "https://app.examplе/", // Cyrillic е: parsed as punycode
            "https://аpp.example/", // Cyrillic а
            "https://app%2eexample/",
            "https://app.example%2f@evil.example/",
            "https://app.example%00.evil.example/",
            // Whitespace and controls, which browsers drop.
            "https://app.example /",
            "https://ev\til.example@app.example/",
            "https://evil.example\n@app.example/",
            // Not https, or not absolute.
            "javascript://app.example/%0aalert(1)",
            "//app.example/reset",
            "https:///app.example/",
        ] {
            assert!(check_link_host(&allowed, bad).is_err(), "{bad}");
        }
        for good in [
            "https://app.example",
            "https://app.example/reset?next=https://evil.example",
            "https://app.example/r#@evil.example",
            "https://APP.EXAMPLE/reset?code={{.Code}}&user={{.UserID}}&org={{.OrgID}}",
        ] {
            assert!(check_link_host(&allowed, good).is_ok(), "{good}");
        }
    }

    #[test]
    fn refusals_of_a_link_template_never_repeat_it() {
        let allowed = vec!["app.example".to_string()];
        let template = "https://secret-looking-token.example/";
        let error = check_link_host(&allowed, template).unwrap_err();
        assert!(!error.to_string().contains("secret-looking"), "{error}");
    }

    #[test]
    fn templates_get_their_values_percent_encoded() {
        let user = User::new(
            Email::parse("a@example.com").unwrap(),
            Locale::En,
            "org 1/x".into(),
        );
        let link = fill_template(
            "https://x.example/reset?user={{.UserID}}&code={{.Code}}&org={{.OrgID}}",
            &user,
            &Secret::new("AB12CD"),
        );
        assert_eq!(
            link,
            format!(
                "https://x.example/reset?user={}&code=AB12CD&org=org%201%2Fx",
                user.id
            )
        );
    }
}

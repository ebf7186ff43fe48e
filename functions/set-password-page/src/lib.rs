//! P3 `GET /user/password/set?token=…`: the page the set-password email links
//! to. It reads nothing and writes nothing: opening it (as link scanners do)
//! spends nothing; only its form's submission to P2 uses the token, which the
//! page's script takes from its own URL. No external assets; inline style and
//! script are allowed by hash alone.

use std::sync::LazyLock;

use lambda_http::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use password_service::config::PasswordSettings;
use password_service::domain::Locale;
use password_service::http::csp_sha256;
use serde_json::json;

const STYLE: &str = include_str!("../assets/page.css");
const SCRIPT: &str = include_str!("../assets/page.js");

static CONTENT_SECURITY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; connect-src 'self'; \
         form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        csp_sha256(SCRIPT),
        csp_sha256(STYLE)
    )
});

pub async fn handle(settings: &PasswordSettings, request: Request) -> Response<Body> {
    let locale = preferred_locale(
        request
            .headers()
            .get("accept-language")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default(),
    );
    let has_token = request
        .query_string_parameters_ref()
        .and_then(|q| q.first("token"))
        .is_some_and(|t| !t.is_empty());
    let text = Text::of(locale);
    let (status, html) = if has_token {
        (StatusCode::OK, page(&text, locale, settings.min_length))
    } else {
        (
            StatusCode::BAD_REQUEST,
            notice_page(&text, locale, text.missing_token),
        )
    };
    let mut response = Response::new(Body::Text(html));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The token is in this page's URL: it must not leak in a Referer.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(csp) = HeaderValue::from_str(&CONTENT_SECURITY) {
        headers.insert(CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// English unless German is preferred over it (RFC 9110 `Accept-Language`).
pub fn preferred_locale(header: &str) -> Locale {
    let mut best = (Locale::En, 0.0_f32);
    for range in header.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let tag = parts.next().unwrap_or_default().to_ascii_lowercase();
        let quality = parts
            .find_map(|p| p.strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or_default();
        if let Some(locale) = Locale::parse(primary) {
            if quality > best.1 {
                best = (locale, quality);
            }
        }
    }
    best.0
}

struct Text {
    title: &'static str,
    intro: &'static str,
    label: &'static str,
    hint: &'static str,
    show: &'static str,
    hide: &'static str,
    submit: &'static str,
    working: &'static str,
    success: &'static str,
    expired: &'static str,
    already_set: &'static str,
    too_many: &'static str,
    failed: &'static str,
    missing_token: &'static str,
    too_short: &'static str,
    too_long: &'static str,
    too_common: &'static str,
    user_data: &'static str,
}

impl Text {
    fn of(locale: Locale) -> Self {
        match locale {
            Locale::En => Text {
                title: "Set your password",
                intro: "Choose a password for your account.",
                label: "New password",
                hint: "At least {min} characters. Spaces and any characters are welcome; common passwords are not.",
                show: "Show",
                hide: "Hide",
                submit: "Set password",
                working: "Saving your password…",
                success: "Your password is set. You can close this page and sign in.",
                expired: "This link has expired or was already used. Request a new one from the app.",
                already_set: "Your account already has a password. Sign in, or change your password there.",
                too_many: "Too many attempts. Please try again later.",
                failed: "Something went wrong. Please try again.",
                missing_token: "This link is incomplete. Open the link from the email again, or request a new one.",
                too_short: "The password must have at least {min} characters.",
                too_long: "The password must have at most 200 characters.",
                too_common: "This password is too common: it appears in lists of breached passwords. Choose another.",
                user_data: "The password must not contain the name part of your email address.",
            },
            Locale::De => Text {
                title: "Passwort festlegen",
                intro: "Wählen Sie ein Passwort für Ihr Konto.",
                label: "Neues Passwort",
                hint: "Mindestens {min} Zeichen. Leerzeichen und alle Zeichen sind erlaubt, verbreitete Passwörter nicht.",
                show: "Anzeigen",
                hide: "Verbergen",
                submit: "Passwort festlegen",
                working: "Ihr Passwort wird gespeichert …",
                success: "Ihr Passwort ist festgelegt. Sie können diese Seite schließen und sich anmelden.",
                expired: "Dieser Link ist abgelaufen oder wurde schon benutzt. Fordern Sie in der App einen neuen an.",
                already_set: "Ihr Konto hat bereits ein Passwort. Melden Sie sich an oder ändern Sie es dort.",
                too_many: "Zu viele Versuche. Bitte versuchen Sie es später erneut.",
                failed: "Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.",
                missing_token: "Dieser Link ist unvollständig. Öffnen Sie den Link aus der E-Mail erneut oder fordern Sie einen neuen an.",
                too_short: "Das Passwort muss mindestens {min} Zeichen haben.",
                too_long: "Das Passwort darf höchstens 200 Zeichen haben.",
                too_common: "Dieses Passwort ist zu verbreitet: Es steht in Listen gestohlener Passwörter. Wählen Sie ein anderes.",
                user_data: "Das Passwort darf den Namensteil Ihrer E-Mail-Adresse nicht enthalten.",
            },
        }
    }
}

fn page(text: &Text, locale: Locale, min_length: usize) -> String {
    let min = min_length.to_string();
    let messages = json!({
        "show": text.show,
        "hide": text.hide,
        "working": text.working,
        "success": text.success,
        "expired": text.expired,
        "alreadySet": text.already_set,
        "tooMany": text.too_many,
        "failed": text.failed,
        "tooShort": text.too_short.replace("{min}", &min),
        "reasons": {
            "password-too-short": text.too_short.replace("{min}", &min),
            "password-too-long": text.too_long,
            "password-too-common": text.too_common,
            "password-contains-user-data": text.user_data,
        },
    });
    let body = format!(
        r#"<p>{intro}</p>
<form id="set-password" data-min-length="{min}" novalidate>
<label for="password">{label}</label>
<div class="field">
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="{min}" maxlength="200" aria-describedby="hint status">
<button id="toggle" type="button" aria-controls="password" aria-pressed="false">{show}</button>
</div>
<p id="hint" class="hint">{hint}</p>
<button id="submit" type="submit">{submit}</button>
</form>
<div id="status" role="status" aria-live="polite"></div>"#,
        intro = escape(text.intro),
        label = escape(text.label),
        show = escape(text.show),
        hint = escape(&text.hint.replace("{min}", &min)),
        submit = escape(text.submit),
    );
    document(text, locale, &escape(&messages.to_string()), &body)
}

fn notice_page(text: &Text, locale: Locale, notice: &str) -> String {
    let body = format!(
        r#"<div id="status" role="status" aria-live="polite" class="error">{}</div>"#,
        escape(notice)
    );
    document(text, locale, "{}", &body)
}

fn document(text: &Text, locale: Locale, messages: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>{STYLE}</style>
</head>
<body data-messages="{messages}">
<main>
<h1>{title}</h1>
{body}
</main>
<script>{SCRIPT}</script>
</body>
</html>
"#,
        lang = locale.as_str(),
        title = escape(text.title),
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_is_chosen_only_when_preferred() {
        assert_eq!(preferred_locale("de-DE,de;q=0.9,en;q=0.8"), Locale::De);
        assert_eq!(preferred_locale("en-US,en;q=0.9,de;q=0.8"), Locale::En);
        assert_eq!(preferred_locale("fr-FR,fr;q=0.9"), Locale::En);
        assert_eq!(preferred_locale(""), Locale::En);
        assert_eq!(preferred_locale("fr;q=1, de;q=0.5"), Locale::De);
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}

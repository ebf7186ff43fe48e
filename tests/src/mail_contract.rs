//! The mailer's contract: what the flows rely on from the `Mailer` port, as
//! cases that take an app and its mailer. `tests/api/mail_contract.rs` runs
//! each case on the SES v2 adapter over the emulator and on the in-memory
//! twin, read back as a test reads any mail ([`TestApp::mails_to`]); the twin
//! is trusted because it passes what the adapter passes.
//!
//! Each case writes to addresses of its own, so the cases can run in
//! parallel on one emulator.

use password_service::domain::{Email, Secret};
use password_service::mail::OutgoingMail;
use password_service::metrics::{self, Outcome};

use crate::{unique_email, TestApp};

fn mail(to: &str, subject: &str, html: &str) -> OutgoingMail {
    OutgoingMail {
        to: Email::parse(to).expect("a test address"),
        subject: subject.into(),
        html: Secret::new(html),
        text: Secret::new("the plain-text part"),
    }
}

pub async fn a_sent_mail_reaches_its_address_alone_from_the_configured_sender(app: &TestApp) {
    let (to, other) = (unique_email("mailto"), unique_email("mailother"));
    app.services
        .mailer
        .send(&mail(&to, "Your password was changed", "<p>Hello</p>"))
        .await
        .expect("sent");

    let delivered = app.mails_to(&to);
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].to, vec![to.clone()]);
    assert_eq!(delivered[0].subject, "Your password was changed");
    assert_eq!(delivered[0].body, "<p>Hello</p>", "the HTML part");
    assert_eq!(delivered[0].source, app.services.config.mail.from);
    assert!(app.mails_to(&other).is_empty());
}

pub async fn mails_to_one_address_read_oldest_first(app: &TestApp) {
    let to = unique_email("mailorder");
    for subject in ["first", "second", "third"] {
        app.services
            .mailer
            .send(&mail(&to, subject, "<p>x</p>"))
            .await
            .expect("sent");
    }
    let subjects: Vec<String> = app.mails_to(&to).into_iter().map(|m| m.subject).collect();
    assert_eq!(subjects, ["first", "second", "third"]);
}

pub async fn text_beyond_ascii_and_references_arrive_as_written(app: &TestApp) {
    let to = unique_email("mailutf8");
    let html = r#"<p>Grüße, Straße – <a href="https://example.com/?a=1&amp;b=2">öffnen</a></p>"#;
    app.services
        .mailer
        .send(&mail(&to, "Passwort geändert – Grüße", html))
        .await
        .expect("sent");
    let delivered = app.mails_to(&to);
    assert_eq!(delivered[0].subject, "Passwort geändert – Grüße");
    assert_eq!(
        delivered[0].body,
        r#"<p>Grüße, Straße – <a href="https://example.com/?a=1&b=2">öffnen</a></p>"#,
        "the link as a browser reads it"
    );
}

pub async fn a_send_the_provider_refuses_is_an_error_and_delivers_nothing(app: &TestApp) {
    let to = unique_email("mailrefused");
    let refusing = app.mailer_refused_by_the_provider();
    let sent = refusing.send(&mail(&to, "refused", "<p>x</p>")).await;
    assert!(sent.is_err(), "{sent:?}");
    assert!(app.mails_to(&to).is_empty());
}

pub async fn each_send_is_counted_as_sent_or_failed(app: &TestApp) {
    let to = unique_email("mailcounted");
    let refusing = app.mailer_refused_by_the_provider();
    let ((), record) = metrics::measure(async {
        app.services
            .mailer
            .send(&mail(&to, "counted", "<p>x</p>"))
            .await
            .expect("sent");
        assert!(refusing
            .send(&mail(&to, "refused", "<p>x</p>"))
            .await
            .is_err());
    })
    .await;
    assert_eq!(record.count(Outcome::EmailSent), 1);
    assert_eq!(record.count(Outcome::EmailFailed), 1);
}

//! The mail port's SES v2 adapter. Every email of the service goes out
//! here, so here each one is counted as sent or failed (`metrics`).

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::{MailError, Mailer, OutgoingMail};
use crate::metrics::Outcome;

pub struct SesMailer {
    /// Built on the first mail: most requests send none, and a cold start
    /// need not pay for the client (0.1 ms).
    client: LazyLock<aws_sdk_sesv2::Client, Box<dyn FnOnce() -> aws_sdk_sesv2::Client + Send>>,
    from: String,
}

impl SesMailer {
    pub fn new(
        client: impl FnOnce() -> aws_sdk_sesv2::Client + Send + 'static,
        from: String,
    ) -> Self {
        Self {
            client: LazyLock::new(Box::new(client)),
            from,
        }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let sent = self.deliver(mail).await;
        crate::metrics::record(match sent {
            Ok(()) => Outcome::EmailSent,
            Err(_) => Outcome::EmailFailed,
        });
        sent
    }
}

impl SesMailer {
    async fn deliver(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = message(mail)?;
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(
                Destination::builder()
                    .to_addresses(mail.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| MailError(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

/// SES v2 `Simple` content: the subject, the HTML part and its plain-text
/// alternative, each declared UTF-8 (the German messages need it).
fn message(mail: &OutgoingMail) -> Result<Message, MailError> {
    let content = |text: &str| {
        Content::builder()
            .data(text)
            .charset("UTF-8")
            .build()
            .map_err(|e| MailError(e.to_string()))
    };
    Ok(Message::builder()
        .subject(content(&mail.subject)?)
        // Both parts, so a client that shows no HTML shows the text.
        .body(
            Body::builder()
                .html(content(mail.html.expose())?)
                .text(content(mail.text.expose())?)
                .build(),
        )
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, Secret};

    #[test]
    fn a_mail_goes_out_with_an_html_and_a_text_part_both_utf8() {
        let mail = OutgoingMail {
            to: Email::parse("a@example.com").unwrap(),
            subject: "Ihr Passwort wurde geändert".into(),
            html: Secret::new("<p>Hallo,</p>"),
            text: Secret::new("Hallo,\n"),
        };
        let message = message(&mail).unwrap();
        let body = message.body().unwrap();
        let (html, text) = (body.html().unwrap(), body.text().unwrap());
        assert_eq!(html.data(), "<p>Hallo,</p>");
        assert_eq!(text.data(), "Hallo,\n");
        let subject = message.subject().unwrap();
        assert_eq!(subject.data(), "Ihr Passwort wurde geändert");
        for part in [html, text, subject] {
            assert_eq!(part.charset(), Some("UTF-8"));
        }
    }
}

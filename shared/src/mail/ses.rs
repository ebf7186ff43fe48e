//! The mail port's SES v2 adapter. Every email of the service goes out
//! here, so here each one is counted as sent or failed (`metrics`).

use async_trait::async_trait;
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::{MailError, Mailer, OutgoingMail};
use crate::metrics::Outcome;

pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl SesMailer {
    pub fn new(client: aws_sdk_sesv2::Client, from: String) -> Self {
        Self { client, from }
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
        let content = |text: &str| {
            Content::builder()
                .data(text)
                .charset("UTF-8")
                .build()
                .map_err(|e| MailError(e.to_string()))
        };
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .body(Body::builder().text(content(mail.text.expose())?).build())
            .build();
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

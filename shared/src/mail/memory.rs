//! The mailer's in-memory twin, for tests that need no emulator: it keeps
//! every mail it was handed, and can be told to fail, as SES does when it is
//! unreachable or refuses the sender.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{MailError, Mailer, OutgoingMail};
use crate::metrics::Outcome;

#[derive(Default)]
pub struct MemoryMailer {
    /// The outbox, shared with [`MemoryMailer::with_refused_sender`]'s mailer.
    sent: Arc<Mutex<Vec<OutgoingMail>>>,
    failing: AtomicBool,
}

impl MemoryMailer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every mail sent, oldest first.
    pub fn sent(&self) -> Vec<OutgoingMail> {
        self.mails().clone()
    }

    /// The mails sent to `to`, oldest first.
    pub fn mails_to(&self, to: &str) -> Vec<OutgoingMail> {
        self.mails()
            .iter()
            .filter(|mail| mail.to.as_str() == to)
            .cloned()
            .collect()
    }

    /// From now on every `send` fails (and keeps nothing), or, with
    /// `false`, succeeds again.
    pub fn fail_sends(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// A mailer on the same outbox whose every send is refused, as SES
    /// refuses a sender it has not verified: what it kept, if it kept
    /// anything, would be read with this mailer's mail.
    pub fn with_refused_sender(&self) -> Self {
        Self {
            sent: Arc::clone(&self.sent),
            failing: AtomicBool::new(true),
        }
    }

    fn mails(&self) -> std::sync::MutexGuard<'_, Vec<OutgoingMail>> {
        self.sent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        // Counted as the SES adapter counts, so an invocation's metrics read
        // the same on either mailer.
        if self.failing.load(Ordering::SeqCst) {
            crate::metrics::record(Outcome::EmailFailed);
            return Err(MailError("the mailer is set to fail".into()));
        }
        self.mails().push(mail.clone());
        crate::metrics::record(Outcome::EmailSent);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, Secret};

    fn mail_to(to: &str) -> OutgoingMail {
        OutgoingMail {
            to: Email::parse(to).unwrap(),
            subject: "Your password was changed".into(),
            html: Secret::new("<p>Hello</p>"),
            text: Secret::new("Hello"),
        }
    }

    #[tokio::test]
    async fn mails_are_kept_and_read_by_address() {
        let mailer = MemoryMailer::new();
        mailer.send(&mail_to("a@example.com")).await.unwrap();
        mailer.send(&mail_to("b@example.com")).await.unwrap();
        mailer.send(&mail_to("a@example.com")).await.unwrap();
        assert_eq!(mailer.sent().len(), 3);
        assert_eq!(mailer.mails_to("a@example.com").len(), 2);
        assert_eq!(
            mailer.mails_to("b@example.com"),
            vec![mail_to("b@example.com")]
        );
        assert!(mailer.mails_to("c@example.com").is_empty());
    }

    #[tokio::test]
    async fn a_failing_mailer_refuses_and_keeps_nothing_until_told_otherwise() {
        let mailer = MemoryMailer::new();
        mailer.fail_sends(true);
        assert!(mailer.send(&mail_to("a@example.com")).await.is_err());
        assert!(mailer.sent().is_empty());
        mailer.fail_sends(false);
        mailer.send(&mail_to("a@example.com")).await.unwrap();
        assert_eq!(mailer.sent().len(), 1);
    }
}

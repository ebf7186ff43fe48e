//! The mail port: what a flow hands over to be sent, the SES v2 adapter, and
//! the messages in each locale.

mod messages;
mod ses;

pub use messages::{render, Notice};
pub use ses::SesMailer;

use async_trait::async_trait;

use crate::domain::{Email, Secret};

/// A rendered email. Its text may carry a link or a code, so it is held as
/// a [`Secret`] and never shown by `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: Email,
    pub subject: String,
    pub text: Secret,
}

#[derive(Debug, thiserror::Error)]
#[error("sending mail failed: {0}")]
pub struct MailError(pub String);

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}

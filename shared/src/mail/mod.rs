//! The mail port: what a flow hands over to be sent, the SES v2 adapter, and
//! the messages, rendered from templates in each locale.

mod memory;
mod messages;
mod ses;
mod templates;

pub use memory::MemoryMailer;
pub use messages::Notice;
pub use ses::SesMailer;
pub use templates::{Preview, TemplateError, Templates};

use async_trait::async_trait;

use crate::domain::{Email, Secret};

/// A rendered email: an HTML part and its plain-text alternative. Either may
/// carry a link or a code, so both are held as [`Secret`]s and never shown
/// by `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: Email,
    pub subject: String,
    pub html: Secret,
    pub text: Secret,
}

#[derive(Debug, thiserror::Error)]
#[error("sending mail failed: {0}")]
pub struct MailError(pub String);

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}

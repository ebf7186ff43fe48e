//! An operator's unlock of a user's PIN failure window (`pwctl user
//! unlock`), under the same conditional writes as the rule's own steps
//! (`pin_proof`).

use super::pin_proof::user_and_failures;
use super::ports::{Clocked, PinStore};
use super::retry_on_conflict;
use crate::domain::UserId;
use crate::error::ServiceError;

/// What an operator's unlock did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unlocked {
    /// The failures the cleared window held; 0 when none was live.
    pub cleared_failures: u32,
    /// The user's sequence afterwards.
    pub sequence: u64,
}

/// An operator clears the user's PIN failure window (`pwctl user unlock`), so
/// the user may prove the PIN again before the 24 hours are up. An audited
/// change by `actor`; with no live window, nothing changes. Payment methods
/// already deleted stay deleted.
pub async fn unlock(
    ports: &(impl Clocked + PinStore),
    id: &UserId,
    actor: &str,
) -> Result<Unlocked, ServiceError> {
    let state = user_and_failures(ports, id).await?;
    retry_on_conflict(
        state,
        |(user, _)| Box::pin(async move { user_and_failures(ports, &user.id).await }),
        |(user, failures)| {
            Box::pin(async move {
                if failures.count == 0 {
                    return Ok(Unlocked {
                        cleared_failures: 0,
                        sequence: user.sequence,
                    });
                }
                let sequence = ports
                    .pin_proofs()
                    .unlock_pin_failures(
                        &user,
                        failures,
                        ports.clock().now_seconds(),
                        actor,
                        ports.clock().now_millis(),
                    )
                    .await?;
                tracing::info!(user_id = %user.id, actor, "PIN failure window cleared");
                Ok(Unlocked {
                    cleared_failures: failures.count,
                    sequence,
                })
            })
        },
    )
    .await
}

//! Counts every HTTP request the store's client sends (SDK retries and
//! resubmitted transactions included) into the invocation's metrics.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};

#[derive(Debug)]
pub(super) struct RoundTrips;

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        crate::metrics::record_dynamodb_round_trip();
        Ok(())
    }
}

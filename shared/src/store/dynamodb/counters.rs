//! Rate-limit counters: fixed windows counted by one conditional update.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;

use super::codec::{backend, n, s, BELOW_QUOTA};
use super::DynamoStore;
use crate::rate_limit::{CounterError, Counters};

#[async_trait]
impl Counters for DynamoStore {
    async fn take_from_counter(
        &self,
        counter: &str,
        limit: u32,
        expires_at: i64,
    ) -> Result<bool, CounterError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.counters)
            .key("counterId", s(counter))
            .update_expression("ADD #count :one SET expiresAt = if_not_exists(expiresAt, :expires)")
            .condition_expression(BELOW_QUOTA)
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":quota", n(limit))
            .expression_attribute_values(":expires", n(expires_at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(false)
            }
            Err(e) => Err(CounterError(backend(e).0)),
        }
    }

    async fn give_back_to_counter(&self, counter: &str) -> Result<(), CounterError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.counters)
            .key("counterId", s(counter))
            .update_expression("ADD #count :minus_one")
            .condition_expression("#count > :zero")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Nothing to give back: the window ended and the item expired.
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(())
            }
            Err(e) => Err(CounterError(backend(e).0)),
        }
    }
}

//! The store traits over one DynamoDB table.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{DeleteRequest, ReturnValue, Select, WriteRequest};
use primescaler_core::{
    ClearRecords, CountRecords, EvictRecord, GetRecord, PrimeRecord, PutOutcome, PutRecordIfAbsent,
    RecordKey, ScanCursor, ScanPage, ScanRecords, StoreError,
};

use crate::item::{self, Item};

/// DynamoDB's limit on the writes in one BatchWriteItem.
const BATCH_WRITE_MAX: usize = 25;
/// How often unprocessed batch writes are retried before the clear gives up.
const BATCH_RETRIES: u32 = 8;

/// One node's table, behind the store traits.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// The store over `table`, reached through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Every key in the table, a page at a time; `visit` sees each page.
    async fn for_each_key_page<F, Fut>(&self, mut visit: F) -> Result<(), StoreError>
    where
        F: FnMut(Vec<Item>) -> Fut,
        Fut: Future<Output = Result<(), StoreError>>,
    {
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .projection_expression("#s, #n")
                .expression_attribute_names("#s", item::SHARD)
                .expression_attribute_names("#n", item::N)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error("Scan", e))?;
            start = page.last_evaluated_key().cloned();
            visit(page.items.unwrap_or_default()).await?;
            if start.is_none() {
                return Ok(());
            }
        }
    }

    async fn delete_batch(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        let mut pending: Vec<WriteRequest> = keys
            .into_iter()
            .map(|key| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map_err(|e| StoreError::Failed(e.to_string()))?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<_, StoreError>>()?;
        for attempt in 0..=BATCH_RETRIES {
            if pending.is_empty() {
                return Ok(());
            }
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(20 << attempt.min(6))).await;
            }
            let answer = self
                .client
                .batch_write_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(|e| store_error("BatchWriteItem", e))?;
            pending = answer
                .unprocessed_items
                .and_then(|mut left| left.remove(&self.table))
                .unwrap_or_default();
        }
        Err(StoreError::Unavailable(format!(
            "{} deletes were still unprocessed after {BATCH_RETRIES} retries",
            pending.len()
        )))
    }
}

impl GetRecord for DynamoStore {
    async fn get_record(&self, key: RecordKey) -> Result<Option<PrimeRecord>, StoreError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem", e))?;
        answer.item.as_ref().map(item::item_record).transpose()
    }
}

impl PutRecordIfAbsent for DynamoStore {
    async fn put_record_if_absent(&self, record: &PrimeRecord) -> Result<PutOutcome, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item::record_item(record)))
            .condition_expression("attribute_not_exists(#n)")
            .expression_attribute_names("#n", item::N)
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Stored),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(PutOutcome::AlreadyPresent)
            }
            Err(e) => Err(store_error("PutItem", e)),
        }
    }
}

impl EvictRecord for DynamoStore {
    async fn evict_record(&self, key: RecordKey) -> Result<bool, StoreError> {
        let answer = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(key)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| store_error("DeleteItem", e))?;
        Ok(answer.attributes.is_some_and(|old| !old.is_empty()))
    }
}

impl ScanRecords for DynamoStore {
    async fn scan_records(
        &self,
        cursor: Option<ScanCursor>,
        limit: u32,
    ) -> Result<ScanPage, StoreError> {
        let answer = self
            .client
            .scan()
            .table_name(&self.table)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX).max(1))
            .set_exclusive_start_key(cursor.map(item::key_item))
            .send()
            .await
            .map_err(|e| store_error("Scan", e))?;
        let records = answer
            .items()
            .iter()
            .map(item::item_record)
            .collect::<Result<_, _>>()?;
        let next = answer
            .last_evaluated_key()
            .map(item::item_key)
            .transpose()?;
        Ok(ScanPage { records, next })
    }
}

impl ClearRecords for DynamoStore {
    async fn clear_records(&self) -> Result<u64, StoreError> {
        let mut removed = 0u64;
        self.for_each_key_page(|keys| {
            removed += keys.len() as u64;
            async move {
                for chunk in keys.chunks(BATCH_WRITE_MAX) {
                    self.delete_batch(chunk.to_vec()).await?;
                }
                Ok(())
            }
        })
        .await?;
        Ok(removed)
    }
}

impl CountRecords for DynamoStore {
    async fn count_records(&self) -> Result<u64, StoreError> {
        let mut count = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .select(Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error("Scan", e))?;
            count += u64::try_from(page.count()).unwrap_or(0);
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(count);
            }
        }
    }
}

/// Maps an SDK error to a store error: unreachable, timed out, throttled or a server
/// fault is `Unavailable`; anything else is `Failed`.
pub(crate) fn store_error<E, R>(operation: &str, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let message = format!("{operation}: {}", DisplayErrorContext(&error));
    match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            StoreError::Unavailable(message)
        }
        SdkError::ServiceError(service)
            if matches!(
                service.err().code(),
                Some(
                    "ProvisionedThroughputExceededException"
                        | "ThrottlingException"
                        | "RequestLimitExceeded"
                        | "InternalServerError"
                        | "ServiceUnavailable"
                )
            ) =>
        {
            StoreError::Unavailable(message)
        }
        _ => StoreError::Failed(message),
    }
}

//! Storage of prime records, as one trait per operation.
//!
//! Each adapter (DynamoDB in production, an emulator locally) implements the traits it
//! supports; handlers ask only for the operations they use.

use std::future::Future;

use thiserror::Error;

use crate::record::{PrimeRecord, RecordKey};

/// A storage failure, described without the adapter's types.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The store could not be reached or did not answer in time.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store answered with something this code cannot use.
    #[error("store failure: {0}")]
    Failed(String),
}

/// The outcome of a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// The record was written; nothing was stored for its key before.
    Stored,
    /// A record was already stored for the key; it was left as it was.
    AlreadyPresent,
}

/// A position in a scan: the key after which the next page starts.
pub type ScanCursor = RecordKey;

/// One page of a scan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanPage {
    /// The records on this page, in the store's order.
    pub records: Vec<PrimeRecord>,
    /// Where the next page starts, or `None` after the last page.
    pub next: Option<ScanCursor>,
}

/// Reads one record.
pub trait GetRecord {
    /// The record stored at `key`, if any, read consistently.
    fn get_record(
        &self,
        key: RecordKey,
    ) -> impl Future<Output = Result<Option<PrimeRecord>, StoreError>> + Send;
}

/// Writes a record only where none exists.
pub trait PutRecordIfAbsent {
    /// Stores `record` unless a record already exists at its key.
    fn put_record_if_absent(
        &self,
        record: &PrimeRecord,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;
}

/// Removes one record.
pub trait EvictRecord {
    /// Deletes the record at `key`; answers whether one was there.
    fn evict_record(&self, key: RecordKey)
    -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Reads the store page by page.
pub trait ScanRecords {
    /// Up to `limit` records after `cursor` (from the start when `None`).
    fn scan_records(
        &self,
        cursor: Option<ScanCursor>,
        limit: u32,
    ) -> impl Future<Output = Result<ScanPage, StoreError>> + Send;
}

/// Removes every record.
pub trait ClearRecords {
    /// Deletes all records; answers how many were removed.
    fn clear_records(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Counts the records.
pub trait CountRecords {
    /// How many records are stored.
    fn count_records(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

//! PrimeScaler's domain, free of AWS and HTTP types.
//!
//! - [`index`]: which n the service accepts, and why it rejects the rest.
//! - [`shard`]: the stable hash that places n in a shard.
//! - [`record`]: the cached answer for one n, "the process for n".
//! - [`store`]: the storage traits, one per operation.
//! - [`service`]: the get-or-compute rules that tie them together.

pub mod index;
pub mod record;
pub mod service;
pub mod shard;
pub mod store;

pub use index::{InvalidIndex, parse_index};
pub use record::{Computation, Lookup, PrimeRecord, RecordKey, Source};
pub use service::{ComputeError, PrimeCalculator, PrimeService, ServiceError};
pub use shard::{SHARD_COUNT, Shard, shard_of};
pub use store::{
    ClearRecords, CountRecords, EvictRecord, GetRecord, PutOutcome, PutRecordIfAbsent, ScanCursor,
    ScanPage, ScanRecords, StoreError,
};

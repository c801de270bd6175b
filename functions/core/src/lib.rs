//! PrimeScaler's domain, free of AWS and HTTP types.
//!
//! - [`index`]: which n the service accepts, and why it rejects the rest.
//! - [`shard`]: the stable hash that places n in a shard.
//! - [`record`]: the cached answer for one n, "the process for n".
//! - [`store`]: the storage traits, one per operation.
//! - [`membership`]: the node set the nodes hold, and its transitions.
//! - [`service`]: the calculator port and the service's errors.
//! - [`settings`]: reading settings from the environment.

pub mod index;
pub mod membership;
pub mod record;
pub mod service;
pub mod settings;
pub mod shard;
pub mod store;

pub use index::{InvalidIndex, parse_index};
pub use membership::{
    Membership, PutRecordOverPointer, ReadMembership, ShardEntries, WriteMembership,
};
pub use record::{
    COUNTERS_SHARD, Computation, GRID_MAX_N, HINTS_SHARD, Lookup, PRIMARY_CALCULATOR, PrimeRecord,
    RecordKey, Source, in_grid,
};
pub use service::{ComputeError, PrimeCalculator, ServiceError};
pub use settings::{DEFAULT_MAX_N, DEFAULT_TABLE, MAX_N_CEILING, read_max_n, read_table_name};
pub use shard::{SHARD_COUNT, Shard, shard_of};
pub use store::{
    AddCounters, ClearRecords, CountChange, DropHint, DropPointer, Epoch, EvictRecord, GetRecord,
    GridRecord, GridScan, Hint, KnownEpoch, ListHints, NodeCounters, NodeFigures, PutHint,
    PutOutcome, PutPointerIfAbsent, PutRecordIfAbsent, ReadCounters, RecordChange, RepointPointer,
    ScanCursor, ScanGrid, ScanPage, ScanRecords, StoreError, StoredEntry, Sweep, SweepStale,
    WalkEntries, WalkSlice,
};

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
    /// The store could not be reached (the call never went out), or has no table: the
    /// node is down, and nothing was applied.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The call went out and its answer never came whole (a timeout, a cut response):
    /// the node is taken for down, and a write may have landed.
    #[error("store answer lost: {0}")]
    Lost(String),
    /// The store answered but turned the call away for now (throttled, or a transient
    /// server error), after the client's retries with backoff and jitter: the node is
    /// up, and this call goes elsewhere.
    #[error("store busy: {0}")]
    Busy(String),
    /// The store answered with something this code cannot use.
    #[error("store failure: {0}")]
    Failed(String),
}

/// What a node stores at one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredEntry {
    /// The cached record itself.
    Record(PrimeRecord),
    /// A claim that the record lives on another node (written by the node that
    /// arbitrates n when a strategy stores n away from it).
    Pointer {
        /// The key.
        key: RecordKey,
        /// The node that holds the record.
        node: String,
        /// When the pointer was written, in ms since the Unix epoch (0 for a pointer
        /// written before pointers carried their time). A pointer is written before its
        /// record, so a young pointer with no record behind it may be a write under way.
        written_at_ms: u64,
        /// The token of the claim that wrote it (0 when no claim did, or for a pointer
        /// written before pointers carried one): a claim that meets a pointer with its
        /// own token knows the pointer for its own write, landed by an attempt whose
        /// answer was lost, and not a rival's.
        claim: u64,
    },
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

/// Reads one entry.
pub trait GetRecord {
    /// The entry stored at `key`, if any, read consistently.
    fn get_entry(
        &self,
        key: RecordKey,
    ) -> impl Future<Output = Result<Option<StoredEntry>, StoreError>> + Send;
}

/// Writes a record only where none exists.
pub trait PutRecordIfAbsent {
    /// Stores `record` unless a record already exists at its key.
    fn put_record_if_absent(
        &self,
        record: &PrimeRecord,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;
}

/// Writes a pointer only where nothing exists.
pub trait PutPointerIfAbsent {
    /// Stores a pointer from `key` to `node`, written at `written_at_ms` by the claim
    /// with token `claim`, unless an entry already exists at `key`.
    fn put_pointer_if_absent(
        &self,
        key: RecordKey,
        node: &str,
        written_at_ms: u64,
        claim: u64,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;
}

/// Removes one pointer, and only that one.
pub trait DropPointer {
    /// Deletes the entry at `key` if it is still the pointer to `node` written at
    /// `written_at_ms`; answers whether it was deleted.
    fn drop_pointer(
        &self,
        key: RecordKey,
        node: &str,
        written_at_ms: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Moves one pointer to another node, in place.
pub trait RepointPointer {
    /// Makes the entry at `key`, if it is still the pointer to `from` written at
    /// `written_at_ms`, a pointer to `to` written at `now_ms`, in one conditional write
    /// (the entry is never absent meanwhile); answers whether it was moved.
    fn repoint_pointer(
        &self,
        key: RecordKey,
        from: &str,
        written_at_ms: u64,
        to: &str,
        now_ms: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Removes one entry.
pub trait EvictRecord {
    /// Deletes the entry at `key`; answers whether it was a record.
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

/// One grid record, as a grid scan reads it: what the page draws of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridRecord {
    /// The index n.
    pub n: u64,
    /// The nth prime.
    pub prime: u64,
    /// Whether a calculator other than the primary computed it (its `calculator` is
    /// not [`crate::PRIMARY_CALCULATOR`]).
    pub by_fallback: bool,
}

/// One read of a node's grid records.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GridScan {
    /// Every record with `n <= GRID_MAX_N`, in no particular order.
    pub cells: Vec<GridRecord>,
    /// How many items the store read to answer, as it reports them: the grid's own
    /// records only, whatever else the node holds.
    pub scanned: u64,
}

/// Reads, whole, the grid's records (`n <= GRID_MAX_N`) and nothing else.
pub trait ScanGrid {
    /// The node's grid records.
    fn scan_grid(&self) -> impl Future<Output = Result<GridScan, StoreError>> + Send;
}

/// Removes every record and pointer (the counters stay).
pub trait ClearRecords {
    /// Deletes all records and pointers; answers how many records were removed.
    fn clear_records(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// A handoff hint: a note, on the node that arbitrated n, that n's entry is there
/// although nodes before it in n's order were down when it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// The index n.
    pub n: u64,
    /// When the hint was left, in milliseconds since the Unix epoch.
    pub hinted_at_ms: u64,
    /// The nodes the record was written to, by every claim that left this hint (none in
    /// hints written before hints named them): handoff finds every copy they name, even
    /// when the arbiter's entry leads elsewhere or is gone.
    pub holders: Vec<String>,
    /// How many times the hint was written, as the store counts them (0 in a hint about
    /// to be written): a hint is dropped only if no claim wrote it again since it was read.
    pub writes: u64,
}

/// Leaves a handoff hint.
pub trait PutHint {
    /// Writes `hint`; a hint already there for the same n keeps the holders it named
    /// and gains these, and takes this hint's time. Either way its count of writes goes
    /// up by one.
    fn put_hint(&self, hint: Hint) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Lists the handoff hints a node holds.
pub trait ListHints {
    /// Up to `limit` of the hints this node holds, smallest n first, starting after the
    /// hint for `after` (from the first hint when `None`): a page of a listing that a
    /// caller continues from the last n it was given.
    fn list_hints(
        &self,
        after: Option<u64>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Hint>, StoreError>> + Send;
}

/// Removes a handoff hint once it is handed off.
pub trait DropHint {
    /// Deletes `hint` if it is still as it was read (written no more times since);
    /// answers whether it was deleted. A claim that wrote the hint again meanwhile
    /// announced a write that the handoff that read it has not seen: the hint stays.
    fn drop_hint(&self, hint: &Hint) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A node's activity counters, kept in its own store so that they add up across every
/// function instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeCounters {
    /// Requests this node answered (hits and stores).
    pub requests: u64,
    /// Requests answered from this node's cache.
    pub hits: u64,
    /// Requests that computed and stored on this node.
    pub misses: u64,
    /// Computations stored here that the fallback calculator answered.
    pub fallbacks: u64,
    /// Requests this node answered because a node before it in the order was down.
    pub failovers: u64,
    /// Function instances that started beside this node (each one's first request is
    /// its cold start).
    pub cold_starts: u64,
}

impl NodeCounters {
    /// Whether every counter is zero.
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    /// Adds `other` to these counters.
    pub fn add(&mut self, other: &NodeCounters) {
        self.requests += other.requests;
        self.hits += other.hits;
        self.misses += other.misses;
        self.fallbacks += other.fallbacks;
        self.failovers += other.failovers;
        self.cold_starts += other.cold_starts;
    }
}

/// Adds to a node's counters.
pub trait AddCounters {
    /// Atomically adds `delta` to the stored counters.
    fn add_counters(
        &self,
        delta: &NodeCounters,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A change to the records a node holds, counted where it happens so that no request
/// ever counts them with a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordChange {
    /// Records added (stored) less records removed (evicted or cleared).
    pub items: i64,
    /// Whether any of the records changed is one of the grid's (`n <= GRID_MAX_N`):
    /// then the node's grid version moves on, and viewers read its grid again.
    pub grid: bool,
}

/// Counts a change to the records a node holds, as one atomic write on that node.
pub trait CountChange {
    /// Adds `change` to the node's record count and, when it touches the grid, to its
    /// grid version.
    fn count_change(
        &self,
        change: RecordChange,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// After the node was cleared: its record count starts again from zero (whatever
    /// drift it had), and its grid version moves on.
    fn count_cleared(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Everything a node keeps about itself, in one small item read in one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeFigures {
    /// The activity counters, added up over every function instance.
    pub counters: NodeCounters,
    /// The records the node holds, as counted by [`CountChange`].
    pub items: u64,
    /// The node's grid version: it moves on after every change to a grid record there
    /// (a store, an eviction, a clear), so an unchanged version means unchanged cells.
    pub grid_version: u64,
}

/// Reads a node's counters, record count and grid version.
pub trait ReadCounters {
    /// The stored figures (all zero when nothing was ever counted).
    fn read_counters(&self) -> impl Future<Output = Result<NodeFigures, StoreError>> + Send;
}

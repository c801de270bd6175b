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
    /// The visible entry stored at `key`, if any, read consistently, with the epoch it
    /// was written under.
    fn read_entry(
        &self,
        key: RecordKey,
    ) -> impl Future<Output = Result<Option<(StoredEntry, Epoch)>, StoreError>> + Send;

    /// The visible entry stored at `key`, if any, read consistently.
    fn get_entry(
        &self,
        key: RecordKey,
    ) -> impl Future<Output = Result<Option<StoredEntry>, StoreError>> + Send
    where
        Self: Sync,
    {
        async move { Ok(self.read_entry(key).await?.map(|(entry, _)| entry)) }
    }
}

/// Writes a record only where none exists.
pub trait PutRecordIfAbsent {
    /// Stores `record` under `epoch` unless an entry of that epoch or a later one
    /// already exists at its key.
    fn put_record_if_absent(
        &self,
        record: &PrimeRecord,
        epoch: Epoch,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;
}

/// Writes a pointer only where nothing exists.
pub trait PutPointerIfAbsent {
    /// Stores a pointer from `key` to `node`, written at `written_at_ms` by the claim
    /// with token `claim`, under `epoch`, unless an entry of that epoch or a later one
    /// already exists at `key`.
    fn put_pointer_if_absent(
        &self,
        key: RecordKey,
        node: &str,
        written_at_ms: u64,
        claim: u64,
        epoch: Epoch,
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
    /// Deletes the entry at `key`; answers the epoch it was written under when it was a
    /// visible record.
    fn evict_record(
        &self,
        key: RecordKey,
    ) -> impl Future<Output = Result<Option<Epoch>, StoreError>> + Send;
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

/// A node's epoch: when it was last reset, in ms since the Unix epoch (`Epoch(0)`: never).
///
/// Every record and pointer is written under an epoch, and is visible while that epoch
/// is the node's or a later one. A claim writes its pointer and its record under one
/// epoch, the latest its instance has read on any node, so a reset between them leaves
/// both visible or neither once every node has had it: never a record that nothing leads
/// to. (Until a node that was down for the reset has it carried over, that node may
/// still show what the reset hid elsewhere.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Epoch(pub u64);

/// Resets a node in O(1): one write to its counters item, however much it holds.
///
/// The node's epoch moves on to the reset's time: everything written under an earlier
/// one is invisible from then on (a read answers nothing, a put writes over it, a grid
/// scan skips it). The record count starts again from zero and the grid version moves
/// on. The items themselves are removed later, a bounded slice at a time, by
/// [`SweepStale`].
pub trait ClearRecords {
    /// Moves the node's epoch on to `reset`; answers how many records the node counted
    /// before. A node already at `reset` or later is left as it is, and answers 0.
    fn clear_records(&self, reset: Epoch) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The epoch a store last read of its node.
pub trait KnownEpoch {
    /// The latest epoch of the node this store has read (by any read of the node).
    fn known_epoch(&self) -> Epoch;
}

/// What one [`SweepStale`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sweep {
    /// Items read.
    pub read: u64,
    /// Records and pointers of earlier epochs removed.
    pub removed: u64,
    /// Whether a whole pass has gone by since the node's last reset. (An item written
    /// under an earlier epoch behind the pass, by a writer that had not read the reset
    /// yet, stays until the next reset's pass: it is invisible meanwhile.)
    pub done: bool,
}

/// Removes, in the background, what resets left invisible.
pub trait SweepStale {
    /// Continues the node's sweep (from where the last call stopped, as the node itself
    /// remembers) for at most `pages` pages of a scan, removing every record and pointer
    /// of an earlier epoch that it reads. Each removal checks that the item is still of
    /// an earlier epoch, so a record stored over it meanwhile stays. A node with nothing left to sweep answers after
    /// one small read.
    fn sweep_stale(&self, pages: u32) -> impl Future<Output = Result<Sweep, StoreError>> + Send;
}

/// One slice of a node's repair walk ([`WalkEntries`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WalkSlice {
    /// The visible records and pointers read, in the store's order.
    pub entries: Vec<StoredEntry>,
    /// Items read, whatever they were (hints and the counters item too).
    pub read: u64,
    /// Whether the slice reached the end of the node's items: the walk's next slice starts
    /// again from the beginning.
    pub wrapped: bool,
}

/// Walks a node's items, a bounded slice at a time, for the anti-entropy repair.
pub trait WalkEntries {
    /// Continues the node's repair walk from where its last slice stopped, as the node
    /// itself remembers (so that a walk goes on across function instances), reading at
    /// most `budget` items (at least one), and moves the node's cursor past them.
    /// Answers the visible records and pointers read.
    ///
    /// The cursor moves before the caller acts on the slice: a caller cut off mid-slice
    /// leaves those entries to the walk's next pass.
    fn walk_entries(
        &self,
        budget: u64,
    ) -> impl Future<Output = Result<WalkSlice, StoreError>> + Send;
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
    /// The epoch the records changed were written under.
    pub epoch: Epoch,
}

/// Counts a change to the records a node holds, as one atomic write on that node.
pub trait CountChange {
    /// Adds `change` to the node's record count and, when it touches the grid, to its
    /// grid version.
    ///
    /// Answers whether the change was counted: `false` when its epoch is earlier than
    /// the count's, and the store has then read the node's epoch (its writes go under
    /// that one from then on).
    fn count_change(
        &self,
        change: RecordChange,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
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
    /// The node's epoch ([`ClearRecords`]): records and pointers written under an earlier
    /// one are invisible.
    pub epoch: Epoch,
}

/// Reads a node's counters, record count and grid version.
pub trait ReadCounters {
    /// The stored figures (all zero when nothing was ever counted).
    fn read_counters(&self) -> impl Future<Output = Result<NodeFigures, StoreError>> + Send;
}

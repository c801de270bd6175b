//! [`MemStore`]: one node of a simulated [`World`], behind every store trait the rules
//! use, with the conditions of the DynamoDB adapter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use primescaler_core::{
    AddCounters, ClearRecords, CountChange, DropHint, DropPointer, Epoch, EvictRecord, GetRecord,
    GridRecord, GridScan, Hint, KnownEpoch, ListHints, NodeCounters, NodeFigures,
    PRIMARY_CALCULATOR, PrimeRecord, PutHint, PutOutcome, PutPointerIfAbsent, PutRecordIfAbsent,
    ReadCounters, RecordChange, RecordKey, RepointPointer, ScanCursor, ScanGrid, ScanPage,
    ScanRecords, StoreError, StoredEntry, Sweep, SweepStale, WalkEntries, WalkSlice, in_grid,
};

use super::{Fate, LOST_AFTER, NodeData, World};

/// One node's store in a simulated world.
#[derive(Clone)]
pub struct MemStore {
    world: World,
    node: usize,
    /// The node's epoch as this store last read it, as the adapter keeps it: what its
    /// scans skip.
    seen_epoch: Arc<AtomicU64>,
}

/// The operations, numbered for the world's trace.
#[derive(Debug, Clone, Copy)]
pub(super) enum Operation {
    Get = 1,
    PutRecord,
    PutPointer,
    DropPointer,
    Repoint,
    Evict,
    Scan,
    Clear,
    Count,
    AddCounters,
    ReadCounters,
    PutHint,
    ListHints,
    DropHint,
    Sweep,
    Walk,
    ReadMembership,
    WriteMembership,
    ShardEntries,
}

impl MemStore {
    pub(super) fn new(world: World, node: usize) -> Self {
        Self {
            world,
            node,
            seen_epoch: Arc::default(),
        }
    }

    /// Runs `apply` on this node's data as the world's fault plan says: it may wait
    /// before and after, be refused or throttled (not applied), or have its answer lost
    /// before it lands (not applied) or after (applied).
    pub(super) async fn call<T>(
        &self,
        operation: Operation,
        n: u64,
        apply: impl FnOnce(&mut NodeData) -> T,
    ) -> Result<T, StoreError>
    where
        T: std::fmt::Debug,
    {
        let course = self.world.course(self.node, operation as u64);
        tracing::debug!(node = self.node, ?operation, n, fate = ?course.fate, "store call");
        if !course.before.is_zero() {
            tokio::time::sleep(course.before).await;
        }
        match course.fate {
            Fate::Refused => return Err(StoreError::Unavailable("connection refused".into())),
            Fate::Busy => return Err(StoreError::Busy("ThrottlingException".into())),
            Fate::LostBefore => {
                tokio::time::sleep(LOST_AFTER).await;
                return Err(StoreError::Lost("timed out before it landed".into()));
            }
            Fate::Through | Fate::LostAfter => {}
        }
        let value = apply(&mut self.world.lock().nodes[self.node]);
        tracing::debug!(
            node = self.node,
            ?operation,
            n,
            ?value,
            "store call applied"
        );
        if !course.after.is_zero() {
            tokio::time::sleep(course.after).await;
        }
        if course.fate == Fate::LostAfter {
            tokio::time::sleep(LOST_AFTER).await;
            return Err(StoreError::Lost("landed, then its answer was lost".into()));
        }
        Ok(value)
    }
}

impl MemStore {
    fn saw(&self, epoch: Epoch) {
        self.seen_epoch.fetch_max(epoch.0, Ordering::Relaxed);
    }

    /// Whether an entry written under `epoch` is visible by the epoch this store knows.
    fn shows(&self, epoch: Epoch) -> bool {
        epoch >= self.known_epoch()
    }

    /// Puts `entry` at n under `epoch` unless an entry of that epoch or a later one is
    /// there, as the adapter's condition.
    fn put(&self, data: &mut NodeData, n: u64, entry: StoredEntry, epoch: Epoch) -> PutOutcome {
        if data.entries.contains_key(&n) && data.epoch_of(n) >= epoch {
            return PutOutcome::AlreadyPresent;
        }
        data.write(n, entry, epoch);
        PutOutcome::Stored
    }
}

impl KnownEpoch for MemStore {
    fn known_epoch(&self) -> Epoch {
        Epoch(self.seen_epoch.load(Ordering::Relaxed))
    }
}

/// Whether `entry` is the pointer to `node` written at `written_at_ms`.
fn is_pointer(entry: Option<&StoredEntry>, node: &str, written_at_ms: u64) -> bool {
    matches!(entry, Some(StoredEntry::Pointer { node: to, written_at_ms: at, .. })
        if to == node && *at == written_at_ms)
}

impl GetRecord for MemStore {
    async fn read_entry(&self, key: RecordKey) -> Result<Option<(StoredEntry, Epoch)>, StoreError> {
        // As the adapter: read with the node's counters, judged by its last reset now.
        let (entry, epoch) = self
            .call(Operation::Get, key.n, |data| {
                let entry = data.entry(key.n).cloned();
                (
                    entry.map(|entry| (entry, data.epoch_of(key.n))),
                    data.figures.epoch,
                )
            })
            .await?;
        self.saw(epoch);
        Ok(entry)
    }
}

impl PutRecordIfAbsent for MemStore {
    async fn put_record_if_absent(
        &self,
        record: &PrimeRecord,
        epoch: Epoch,
    ) -> Result<PutOutcome, StoreError> {
        self.call(Operation::PutRecord, record.key.n, |data| {
            let entry = StoredEntry::Record(record.clone());
            self.put(data, record.key.n, entry, epoch)
        })
        .await
    }
}

impl PutPointerIfAbsent for MemStore {
    async fn put_pointer_if_absent(
        &self,
        key: RecordKey,
        node: &str,
        written_at_ms: u64,
        claim: u64,
        epoch: Epoch,
    ) -> Result<PutOutcome, StoreError> {
        self.call(Operation::PutPointer, key.n, |data| {
            let pointer = StoredEntry::Pointer {
                key,
                node: node.to_owned(),
                written_at_ms,
                claim,
            };
            self.put(data, key.n, pointer, epoch)
        })
        .await
    }
}

impl DropPointer for MemStore {
    async fn drop_pointer(
        &self,
        key: RecordKey,
        node: &str,
        written_at_ms: u64,
    ) -> Result<bool, StoreError> {
        self.call(Operation::DropPointer, key.n, |data| {
            let dropped = is_pointer(data.entries.get(&key.n), node, written_at_ms);
            if dropped {
                data.remove(key.n);
            }
            dropped
        })
        .await
    }
}

impl RepointPointer for MemStore {
    async fn repoint_pointer(
        &self,
        key: RecordKey,
        from: &str,
        written_at_ms: u64,
        to: &str,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        self.call(Operation::Repoint, key.n, |data| {
            let Some(StoredEntry::Pointer {
                node,
                written_at_ms: at,
                ..
            }) = data.entries.get_mut(&key.n)
            else {
                return false;
            };
            let moved = node == from && *at == written_at_ms;
            if moved {
                // In place, as the adapter's update: the claim's token stays.
                *node = to.to_owned();
                *at = now_ms;
            }
            moved
        })
        .await
    }
}

impl EvictRecord for MemStore {
    async fn evict_record(&self, key: RecordKey) -> Result<Option<Epoch>, StoreError> {
        self.call(Operation::Evict, key.n, |data| match data.remove(key.n) {
            Some((StoredEntry::Record(_), epoch)) if self.shows(epoch) => Some(epoch),
            _ => None,
        })
        .await
    }
}

impl ScanRecords for MemStore {
    async fn scan_records(
        &self,
        cursor: Option<ScanCursor>,
        limit: u32,
    ) -> Result<ScanPage, StoreError> {
        if cursor.is_none() {
            self.read_counters().await?;
        }
        self.call(Operation::Scan, 0, |data| {
            let after = cursor.map_or(0, |key| key.n);
            let mut records: Vec<PrimeRecord> = data
                .entries
                .range(after + 1..)
                .filter_map(|(n, entry)| match entry {
                    StoredEntry::Record(record) if self.shows(data.epoch_of(*n)) => {
                        Some(record.clone())
                    }
                    _ => None,
                })
                .take(limit as usize + 1)
                .collect();
            let next = (records.len() > limit as usize).then(|| {
                records.truncate(limit as usize);
                records.last().expect("a full page").key
            });
            ScanPage { records, next }
        })
        .await
    }
}

impl ScanGrid for MemStore {
    async fn scan_grid(&self) -> Result<GridScan, StoreError> {
        self.call(Operation::Scan, 0, |data| {
            let cells: Vec<GridRecord> = data
                .entries
                .iter()
                .filter_map(|(n, entry)| match entry {
                    StoredEntry::Record(record) if in_grid(*n) && self.shows(data.epoch_of(*n)) => {
                        Some(GridRecord {
                            n: *n,
                            prime: record.prime,
                            by_fallback: record.calculator != PRIMARY_CALCULATOR,
                        })
                    }
                    _ => None,
                })
                .collect();
            GridScan {
                scanned: cells.len() as u64,
                cells,
            }
        })
        .await
    }
}

impl ClearRecords for MemStore {
    async fn clear_records(&self, reset: Epoch) -> Result<u64, StoreError> {
        let removed = self
            .call(Operation::Clear, 0, |data| {
                if data.figures.epoch >= reset {
                    return None;
                }
                data.figures.epoch = reset;
                data.figures.grid_version += 1;
                // Unless this epoch's count has begun already (a change under it came
                // first), as the adapter's condition.
                if data.items_epoch >= reset {
                    return Some(0);
                }
                let counted = data.figures.items;
                data.items_epoch = reset;
                data.counted_items = 0;
                data.figures.items = 0;
                Some(counted)
            })
            .await?;
        if removed.is_some() {
            self.saw(reset);
        }
        Ok(removed.unwrap_or(0))
    }
}

impl SweepStale for MemStore {
    async fn sweep_stale(&self, _pages: u32) -> Result<Sweep, StoreError> {
        self.call(Operation::Sweep, 0, |data| {
            let before = data.entries.len();
            let stale: Vec<u64> = data
                .entries
                .keys()
                .copied()
                .filter(|&n| data.epoch_of(n) < data.figures.epoch)
                .collect();
            for n in &stale {
                data.remove(*n);
            }
            Sweep {
                read: before as u64 + 1,
                removed: stale.len() as u64,
                done: true,
            }
        })
        .await
    }
}

impl WalkEntries for MemStore {
    async fn walk_entries(&self, budget: u64) -> Result<WalkSlice, StoreError> {
        self.call(Operation::Walk, 0, |data| {
            let after = data.walked.map_or(0, |n| n + 1);
            // (Records and pointers only: the adapter's budget also covers hints and
            // what resets left, which the simulation's nodes keep apart.)
            let taken: Vec<(u64, Epoch, StoredEntry)> = data
                .entries
                .range(after..)
                .take(budget.max(1) as usize)
                .map(|(&n, entry)| (n, data.epoch_of(n), entry.clone()))
                .collect();
            let wrapped = taken.len() < budget.max(1) as usize
                || data
                    .entries
                    .range(taken.last().map_or(after, |t| t.0 + 1)..)
                    .next()
                    .is_none();
            data.walked = if wrapped {
                None
            } else {
                taken.last().map(|t| t.0)
            };
            WalkSlice {
                read: taken.len() as u64 + 1,
                entries: taken
                    .into_iter()
                    .filter(|(_, epoch, _)| *epoch >= data.figures.epoch)
                    .map(|(_, _, entry)| entry)
                    .collect(),
                wrapped,
            }
        })
        .await
    }
}

impl CountChange for MemStore {
    async fn count_change(&self, change: RecordChange) -> Result<bool, StoreError> {
        let (counted, epoch) = self
            .call(Operation::Count, 0, |data| {
                (count(data, change), data.figures.epoch)
            })
            .await?;
        if !counted {
            self.saw(epoch);
        }
        Ok(counted)
    }
}

/// Counts `change` in `data` as the adapter does; answers whether it was counted.
fn count(data: &mut NodeData, change: RecordChange) -> bool {
    // A change under the count's epoch is added, one under a later epoch starts that
    // epoch's count, one under an earlier is dropped.
    if change.epoch > data.items_epoch {
        data.items_epoch = change.epoch;
        data.counted_items = change.items.max(0);
        data.figures.grid_version += 1;
    } else if change.epoch == data.items_epoch {
        data.counted_items += change.items;
        if change.grid {
            data.figures.grid_version += 1;
        }
    } else {
        return false;
    }
    data.figures.items = data.counted_items.max(0) as u64;
    true
}

impl AddCounters for MemStore {
    async fn add_counters(&self, delta: &NodeCounters) -> Result<(), StoreError> {
        self.call(Operation::AddCounters, 0, |data| {
            data.figures.counters.add(delta)
        })
        .await
    }
}

impl ReadCounters for MemStore {
    async fn read_counters(&self) -> Result<NodeFigures, StoreError> {
        let figures = self
            .call(Operation::ReadCounters, 0, |data| data.figures)
            .await?;
        self.saw(figures.epoch);
        Ok(figures)
    }
}

impl PutHint for MemStore {
    async fn put_hint(&self, hint: Hint) -> Result<(), StoreError> {
        self.call(Operation::PutHint, hint.n, |data| {
            let kept = data.hints.entry(hint.n).or_insert_with(|| Hint {
                n: hint.n,
                hinted_at_ms: hint.hinted_at_ms,
                holders: Vec::new(),
                writes: 0,
            });
            kept.hinted_at_ms = hint.hinted_at_ms;
            kept.writes += 1;
            for holder in hint.holders {
                if !kept.holders.contains(&holder) {
                    kept.holders.push(holder);
                }
            }
            kept.holders.sort();
        })
        .await
    }
}

impl ListHints for MemStore {
    async fn list_hints(&self, after: Option<u64>, limit: u32) -> Result<Vec<Hint>, StoreError> {
        self.call(Operation::ListHints, 0, |data| {
            data.hints
                .range(after.map_or(0, |n| n + 1)..)
                .take(limit as usize)
                .map(|(_, hint)| hint.clone())
                .collect()
        })
        .await
    }
}

impl DropHint for MemStore {
    async fn drop_hint(&self, hint: &Hint) -> Result<bool, StoreError> {
        self.call(Operation::DropHint, hint.n, |data| {
            // As the adapter's condition: a hint that counts no writes is dropped when
            // none is there either.
            match data.hints.get(&hint.n) {
                None => hint.writes == 0,
                Some(kept) if kept.writes == hint.writes => {
                    data.hints.remove(&hint.n);
                    true
                }
                Some(_) => false,
            }
        })
        .await
    }
}

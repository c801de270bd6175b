//! [`MemStore`]: one node of a simulated [`World`], behind every store trait the rules
//! use, with the conditions of the DynamoDB adapter.

use primescaler_core::{
    AddCounters, ClearRecords, CountChange, DropHint, DropPointer, EvictRecord, GetRecord,
    GridRecord, GridScan, Hint, ListHints, NodeCounters, NodeFigures, PRIMARY_CALCULATOR,
    PrimeRecord, PutHint, PutOutcome, PutPointerIfAbsent, PutRecordIfAbsent, ReadCounters,
    RecordChange, RecordKey, RepointPointer, ScanCursor, ScanGrid, ScanPage, ScanRecords,
    StoreError, StoredEntry, in_grid,
};

use super::{Fate, LOST_AFTER, NodeData, World};

/// One node's store in a simulated world.
#[derive(Clone)]
pub struct MemStore {
    world: World,
    node: usize,
}

/// The operations, numbered for the world's trace.
#[derive(Debug, Clone, Copy)]
enum Operation {
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
}

impl MemStore {
    pub(super) fn new(world: World, node: usize) -> Self {
        Self { world, node }
    }

    /// Runs `apply` on this node's data as the world's fault plan says: it may wait
    /// before and after, be refused or throttled (not applied), or have its answer lost
    /// before it lands (not applied) or after (applied).
    async fn call<T>(
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

/// Whether `entry` is the pointer to `node` written at `written_at_ms`.
fn is_pointer(entry: Option<&StoredEntry>, node: &str, written_at_ms: u64) -> bool {
    matches!(entry, Some(StoredEntry::Pointer { node: to, written_at_ms: at, .. })
        if to == node && *at == written_at_ms)
}

impl GetRecord for MemStore {
    async fn get_entry(&self, key: RecordKey) -> Result<Option<StoredEntry>, StoreError> {
        self.call(Operation::Get, key.n, |data| {
            data.entries.get(&key.n).cloned()
        })
        .await
    }
}

impl PutRecordIfAbsent for MemStore {
    async fn put_record_if_absent(&self, record: &PrimeRecord) -> Result<PutOutcome, StoreError> {
        self.call(Operation::PutRecord, record.key.n, |data| {
            if data.entries.contains_key(&record.key.n) {
                return PutOutcome::AlreadyPresent;
            }
            data.entries
                .insert(record.key.n, StoredEntry::Record(record.clone()));
            PutOutcome::Stored
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
    ) -> Result<PutOutcome, StoreError> {
        self.call(Operation::PutPointer, key.n, |data| {
            if data.entries.contains_key(&key.n) {
                return PutOutcome::AlreadyPresent;
            }
            let pointer = StoredEntry::Pointer {
                key,
                node: node.to_owned(),
                written_at_ms,
                claim,
            };
            data.entries.insert(key.n, pointer);
            PutOutcome::Stored
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
                data.entries.remove(&key.n);
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
    async fn evict_record(&self, key: RecordKey) -> Result<bool, StoreError> {
        self.call(Operation::Evict, key.n, |data| {
            matches!(data.entries.remove(&key.n), Some(StoredEntry::Record(_)))
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
        self.call(Operation::Scan, 0, |data| {
            let after = cursor.map_or(0, |key| key.n);
            let mut records: Vec<PrimeRecord> = data
                .entries
                .range(after + 1..)
                .filter_map(|(_, entry)| match entry {
                    StoredEntry::Record(record) => Some(record.clone()),
                    StoredEntry::Pointer { .. } => None,
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
                    StoredEntry::Record(record) if in_grid(*n) => Some(GridRecord {
                        n: *n,
                        prime: record.prime,
                        by_fallback: record.calculator != PRIMARY_CALCULATOR,
                    }),
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
    async fn clear_records(&self) -> Result<u64, StoreError> {
        self.call(Operation::Clear, 0, |data| {
            let removed = data
                .entries
                .values()
                .filter(|entry| matches!(entry, StoredEntry::Record(_)))
                .count() as u64;
            data.entries.clear();
            data.hints.clear();
            removed
        })
        .await
    }
}

impl CountChange for MemStore {
    async fn count_change(&self, change: RecordChange) -> Result<(), StoreError> {
        self.call(Operation::Count, 0, |data| {
            data.counted_items += change.items;
            data.figures.items = data.counted_items.max(0) as u64;
            if change.grid {
                data.figures.grid_version += 1;
            }
        })
        .await
    }

    async fn count_cleared(&self) -> Result<(), StoreError> {
        self.call(Operation::Count, 0, |data| {
            data.counted_items = 0;
            data.figures.items = 0;
            data.figures.grid_version += 1;
        })
        .await
    }
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
        self.call(Operation::ReadCounters, 0, |data| data.figures)
            .await
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

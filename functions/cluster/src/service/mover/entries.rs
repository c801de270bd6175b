//! The mover's work on one entry: a record carried to its new node and the old copy
//! removed, or a pointer carried and the old one dropped.

use primescaler_core::{
    Epoch, PrimeCalculator, PrimeRecord, PutOutcome, RecordKey, StoredEntry, in_grid,
};

use crate::service::handoff::Handoff;
use crate::service::{ClusterService, DownNodes, NodeStore, Resolved};

/// What became of one entry.
pub(in crate::service) enum Moved {
    /// The record is on its new node, and gone from the old one.
    Record,
    /// The pointer is on its new node, and gone from the old one.
    Pointer,
    /// The old copy was a double of one the new node leads to, and is gone.
    Double,
    /// The entry may stay: its node stays, and the new home leads to it.
    Stays,
}

impl<S: NodeStore, C: PrimeCalculator + Sync> ClusterService<S, C> {
    /// Moves `source`'s record of n to `target`; a node that stays (`staying`) keeps a
    /// record that `target` leads to.
    pub(in crate::service) async fn move_record(
        &self,
        key: RecordKey,
        source: usize,
        target: usize,
        staying: bool,
    ) -> Option<Moved> {
        // Read again, with the reset epoch it was written under: it is written under the
        // same one, so that a reset hides both or neither.
        let read = self.nodes[source].store.read_entry(key);
        let Some((StoredEntry::Record(record), epoch)) = self.guard(source, read).await.ok()?
        else {
            // Gone meanwhile (evicted, reset, or moved by a run cut off after its put).
            return Some(Moved::Stays);
        };
        // Twice at most: a pointer that leads nowhere is made to lead here first.
        for _ in 0..2 {
            let put = self.put_counted(target, &record, epoch).await;
            match put {
                Ok(PutOutcome::Stored) => {
                    return self
                        .remove_old_copy(key, source, target, Moved::Record)
                        .await;
                }
                Ok(PutOutcome::AlreadyPresent) => {}
                Err(_) => return None,
            }
            let mut down = DownNodes::default();
            match self.resolve_entry(key, target, &mut down).await.ok()? {
                Resolved::Found(_, at) if at == source && staying => return Some(Moved::Stays),
                Resolved::Found(_, at) if at == source => {
                    if self.put_over_pointer(target, &record, epoch).await? {
                        return self
                            .remove_old_copy(key, source, target, Moved::Record)
                            .await;
                    }
                }
                Resolved::Found(_, other) => {
                    return self
                        .remove_old_copy(key, source, other, Moved::Double)
                        .await;
                }
                // A pointer that leads nowhere, past its grace: made to lead here, then
                // replaced like any pointer here.
                Resolved::Dangling { newest_ms, .. } if self.past_write_grace(newest_ms) => {
                    self.point_at(key, target, source).await?;
                }
                Resolved::Dangling { .. } | Resolved::Missing | Resolved::Unreachable => {
                    return None;
                }
            }
        }
        None
    }

    /// Removes `source`'s copy of n once `stays` holds one, the pointers to it moved.
    async fn remove_old_copy(
        &self,
        key: RecordKey,
        source: usize,
        stays: usize,
        moved: Moved,
    ) -> Option<Moved> {
        match self.remove_double(key, None, source, stays).await? {
            Handoff::DoubleRemoved { .. } => Some(moved),
            Handoff::Settled | Handoff::Kept => None,
        }
    }

    /// Writes `record` over `target`'s pointer (whose way leads to `source`, which
    /// leaves), in one conditional write, and counts it: a read at `target` finds the
    /// pointer or the record, never nothing. Answers whether it did.
    async fn put_over_pointer(
        &self,
        target: usize,
        record: &PrimeRecord,
        epoch: Epoch,
    ) -> Option<bool> {
        let store = &self.nodes[target].store;
        let Some(StoredEntry::Pointer {
            node,
            written_at_ms,
            ..
        }) = self.guard(target, store.get_entry(record.key)).await.ok()?
        else {
            return Some(false);
        };
        let put = store.put_record_over_pointer(record, epoch, &node, written_at_ms);
        if !self.guard(target, put).await.ok()? {
            return Some(false);
        }
        self.count_added(target, in_grid(record.key.n), epoch).await;
        Some(true)
    }

    /// Moves `source`'s pointer of n (to a node, written at a time by a claim, under an
    /// epoch) to `target`, then drops it from `source`.
    pub(super) async fn move_pointer(
        &self,
        key: RecordKey,
        (to, written_at_ms, claim, epoch): (&str, u64, u64, Epoch),
        source: usize,
        target: usize,
    ) -> Option<Moved> {
        if self.nodes[target].name != to {
            let store = &self.nodes[target].store;
            let put = store.put_pointer_if_absent(key, to, written_at_ms, claim, epoch);
            // Either way the target has an entry now: its own, or this one.
            self.guard(target, put).await.ok()?;
        }
        let store = &self.nodes[source].store;
        let dropped = store.drop_pointer(key, to, written_at_ms);
        if self.guard(source, dropped).await.ok()? {
            Some(Moved::Pointer)
        } else {
            // Changed since it was read: the next run looks again.
            None
        }
    }
}

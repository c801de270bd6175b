//! The mover: carries a membership transition's entries to their new nodes.
//!
//! A change of membership changes the ring. The mover goes in shard order, a chunk of
//! [`MOVE_CHUNK`] shards at a time, and reads what it must carry:
//! - every entry of the chunk on a node that leaves (one Scan of that node per chunk:
//!   all it holds must go);
//! - a shard's entries on its old home when its home changed: one Query per such shard,
//!   so the reads grow with the shards that move, not with the table; or, when the old
//!   home holds so little that one Scan of it is fewer calls, one Scan for the chunk.
//!
//! Then, per entry:
//! - **a record** is written to its new home with the store's conditional put, and the
//!   old copy is removed with handoff's own removal of a double: every pointer to it is
//!   moved first, and the new copy is checked before and after. When the new home holds
//!   another copy already (a request stored n there during the move), the old one is
//!   simply that double. A record on a node that stays, which the new home leads to
//!   through a pointer, is left where it is;
//! - **a pointer** is written to the new home (to the node it names), then dropped from
//!   the old one, conditionally on its being that very pointer.
//!
//! During the move reads look at n's new home, then at its old one, and writes follow
//! the new ring, so an n is always found while it moves; the conditional writes settle
//! every race with a request, and with a reset (which hides what it cleared from the
//! mover too: entries are moved under the reset epoch they were written under). An
//! eviction that lands between the mover's read of a record and its put at the new home
//! is undone, as one followed by a request for n would be.
//!
//! Progress is written to every node's membership item after each [`MOVE_CHUNK`] shards
//! that moved whole: a mover cut off goes on from there. A chunk whose nodes do not all
//! answer is tried again by the next run: the move waits for a node that is down. It
//! starts only [`MOVE_SETTLE`] after the change, once every request begun on the old
//! ring has ended. A write that lands on the old ring later all the same (an instance
//! whose own node missed the change, or that could reach no node) is an orphan, or on
//! a node that left: the repair carries it.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::ops::Range;
use std::time::Duration;

use futures::FutureExt;
use futures::stream::{self, StreamExt};
use primescaler_core::{Epoch, PrimeCalculator, RecordKey, SHARD_COUNT, Shard, StoredEntry};

use super::{ClusterService, NodeStore};
use crate::clock::Instant;
use crate::layout::Layout;

mod entries;

pub(super) use entries::Moved;

/// How long one upkeep run may go on starting chunks of the move: the rest of the run's
/// 40 s is left to handoff and the repair.
pub const MOVE_BUDGET: Duration = Duration::from_secs(25);

/// Shards per progress write.
pub const MOVE_CHUNK: Shard = 2048;

/// About how many items one page of a scan reads (a page holds up to 1 MB; a record's
/// item is about 100 bytes): what the choice between a scan and a Query per shard counts
/// a scan's calls by.
pub const SCAN_ITEMS_PER_CALL: u64 = 5_000;

/// Shards moved at once.
const MOVE_PARALLEL: usize = 32;

/// How long after a change the mover waits: until no request that began on the old ring
/// can still be writing. An instance reads the ring before a request when its copy is
/// older than [`super::MEMBERSHIP_STALE`], and a request ends by its deadline
/// ([`super::DEFAULT_DEADLINE`]); past both, every write follows the new ring.
pub const MOVE_SETTLE: Duration = Duration::from_secs(25);

/// What one run of the mover did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MoveReport {
    /// The membership's epoch.
    pub epoch: u64,
    /// Records carried to their new node in this run.
    pub moved: u64,
    /// Pointers carried to their new node in this run.
    pub pointers_moved: u64,
    /// Old copies found to be doubles of one the new node already held, and removed.
    pub doubles_removed: u64,
    /// Shards finished in this run.
    pub shards: u64,
    /// The first shard not yet finished ([`SHARD_COUNT`]: the move is done).
    pub next_shard: Shard,
    /// Whether the run waited: for the change to settle, or for a node that is down.
    pub waiting: bool,
}

/// What became of one shard's entries.
#[derive(Debug, Default)]
struct ShardMove {
    moved: u64,
    pointers_moved: u64,
    doubles_removed: u64,
    /// Something could not be moved now (a node did not answer, or a write under way).
    left: bool,
}

impl<S: NodeStore, C: PrimeCalculator + Sync> ClusterService<S, C> {
    /// One run of the mover, starting nothing after `budget`; `None` when no transition
    /// is under way.
    pub async fn move_within(&self, budget: Duration) -> Option<MoveReport> {
        let stop_at = Instant::now() + budget;
        let layout = self.layout();
        let membership = layout.membership().clone();
        if !membership.moving() {
            return None;
        }
        let mut report = MoveReport {
            epoch: membership.epoch,
            next_shard: membership.next_shard,
            ..MoveReport::default()
        };
        let settled_at = membership.changed_at_ms + self.move_settle.as_millis() as u64;
        if crate::clock::now_ms() < settled_at {
            report.waiting = true;
            return Some(report);
        }
        let mut progress = membership;
        while progress.moving() && Instant::now() < stop_at {
            let from = progress.next_shard;
            let to = (from + MOVE_CHUNK).min(SHARD_COUNT);
            let Some(chunk) = self.move_chunk(&layout, from..to).await else {
                report.waiting = true;
                break;
            };
            report.moved += chunk.moved;
            report.pointers_moved += chunk.pointers_moved;
            report.doubles_removed += chunk.doubles_removed;
            report.shards += u64::from(to - from);
            progress = progress.advanced(to, chunk.moved);
            self.write_everywhere(&progress).await;
            report.next_shard = progress.next_shard;
        }
        self.adopt(progress);
        tracing::info!(?report, "mover run");
        Some(report)
    }

    /// Moves every shard of `shards`; `None` when any of them left something behind.
    async fn move_chunk(&self, layout: &Layout, shards: Range<Shard>) -> Option<ShardMove> {
        let (held, scanned) = self.read_chunk(layout, shards.clone()).await?;
        let moving = shards
            .filter(|&shard| held.contains_key(&shard) || layout.previous_home(shard).is_some());
        let moves: Vec<ShardMove> = stream::iter(moving)
            .map(|shard| {
                let found = held.get(&shard).cloned().unwrap_or_default();
                self.move_shard(layout, shard, found, &scanned)
            })
            .buffer_unordered(MOVE_PARALLEL)
            .collect()
            .await;
        let mut total = ShardMove::default();
        for done in moves {
            if done.left {
                return None;
            }
            total.moved += done.moved;
            total.pointers_moved += done.pointers_moved;
            total.doubles_removed += done.doubles_removed;
        }
        Some(total)
    }

    /// Reads, in one scan each, the chunk's entries on the nodes that leave (all they
    /// hold must go) and on the old homes for which a scan is fewer calls than a Query
    /// per shard whose home changed (a node that holds less than [`SCAN_ITEMS_PER_CALL`]
    /// items per such shard). Answers what they hold that must move, by shard, and the
    /// nodes read.
    async fn read_chunk(
        &self,
        layout: &Layout,
        shards: Range<Shard>,
    ) -> Option<(BTreeMap<Shard, Vec<Held>>, Vec<usize>)> {
        let mut moving_from: BTreeMap<usize, u64> = BTreeMap::new();
        for shard in shards.clone() {
            if let Some(previous) = layout.previous_home(shard) {
                *moving_from.entry(previous).or_default() += 1;
            }
        }
        let mut scanned: Vec<usize> = layout.leaving().collect();
        for (&node, &queries) in &moving_from {
            if scanned.contains(&node) {
                continue;
            }
            let items = self
                .guard(node, self.nodes[node].store.read_counters())
                .await;
            if items.ok()?.items / SCAN_ITEMS_PER_CALL < queries {
                scanned.push(node);
            }
        }
        let mut held: BTreeMap<Shard, Vec<Held>> = BTreeMap::new();
        for &node in &scanned {
            let leaving = layout.leaving().any(|l| l == node);
            let read = self.nodes[node].store.range_entries(shards.clone());
            for (entry, epoch) in self.guard_bulk(node, read).await.ok()? {
                let shard = entry_key(&entry).shard;
                let homed_here = layout.previous_home(shard) == Some(node);
                if leaving || homed_here {
                    held.entry(shard)
                        .or_default()
                        .push(Held { node, entry, epoch });
                }
            }
        }
        Some((held, scanned))
    }

    /// Moves one shard's entries to its home: those `held` by the nodes already read, and,
    /// when its home changed and its old home was not `scanned`, those on its old home
    /// (read here, one Query).
    async fn move_shard(
        &self,
        layout: &Layout,
        shard: Shard,
        mut held: Vec<Held>,
        scanned: &[usize],
    ) -> ShardMove {
        let mut done = ShardMove::default();
        if let Some(node) = layout.previous_home(shard)
            && !scanned.contains(&node)
        {
            let read = self.nodes[node].store.shard_entries(shard);
            match self.guard_bulk(node, read).await {
                Ok(entries) => held.extend(entries.into_iter().map(|(entry, epoch)| Held {
                    node,
                    entry,
                    epoch,
                })),
                Err(_) => done.left = true,
            }
        }
        let target = layout.home(shard);
        let mut epochs: BTreeMap<usize, Epoch> = BTreeMap::new();
        for Held { node, entry, epoch } in held {
            let node_epoch = match epochs.entry(node) {
                Entry::Occupied(known) => *known.get(),
                Entry::Vacant(unknown) => {
                    let read = self.nodes[node].store.read_counters();
                    match self.guard(node, read).await {
                        Ok(figures) => *unknown.insert(figures.epoch),
                        Err(_) => {
                            done.left = true;
                            continue;
                        }
                    }
                }
            };
            // What a reset hid is not carried.
            if epoch < node_epoch {
                continue;
            }
            let staying = layout.is_member(node);
            let key = entry_key(&entry);
            // Boxed: the entry's moves nest the upkeep's future past the compiler's depth
            // for laying it out.
            let moving = self.move_entry(entry, epoch, node, target, staying).boxed();
            match moving.await {
                Some(Moved::Record) => done.moved += 1,
                Some(Moved::Pointer) => done.pointers_moved += 1,
                Some(Moved::Double) => done.doubles_removed += 1,
                Some(Moved::Stays) => {}
                None => {
                    tracing::debug!(n = key.n, node = %self.nodes[node].name, "the mover left an entry for its next run");
                    done.left = true;
                }
            }
        }
        done
    }

    /// Moves one entry `source` holds (written under `epoch`) to `target`.
    async fn move_entry(
        &self,
        entry: StoredEntry,
        epoch: Epoch,
        source: usize,
        target: usize,
        staying: bool,
    ) -> Option<Moved> {
        match entry {
            StoredEntry::Record(record) => {
                self.move_record(record.key, source, target, staying).await
            }
            StoredEntry::Pointer {
                key,
                node,
                written_at_ms,
                claim,
            } => {
                let pointer = (node.as_str(), written_at_ms, claim, epoch);
                self.move_pointer(key, pointer, source, target).await
            }
        }
    }
}

/// An entry a node holds, under the reset epoch it was written under.
#[derive(Debug, Clone)]
struct Held {
    node: usize,
    entry: StoredEntry,
    epoch: Epoch,
}

/// The key of an entry.
fn entry_key(entry: &StoredEntry) -> RecordKey {
    match entry {
        StoredEntry::Record(record) => record.key,
        StoredEntry::Pointer { key, .. } => *key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{DEFAULT_DEADLINE, members::MEMBERSHIP_STALE};

    #[test]
    fn the_mover_waits_out_every_request_begun_on_the_old_ring() {
        assert!(MOVE_SETTLE > MEMBERSHIP_STALE + DEFAULT_DEADLINE);
    }
}

//! Anti-entropy: the background repair that finds what no request and no hint leads to.
//!
//! Handoff settles what a hint announces. A node that comes back empty, or from an old
//! backup, leaves damage that no hint names: records its pointers led to, with nothing
//! leading to them now (orphans), pointers to records it lost (dangling), and, once
//! requests store such an n again, doubles. The repair walks every node's items, a
//! bounded slice per upkeep run (a 60th of the node's records by default, so a whole
//! pass takes an hour or more), from a cursor the node keeps, and checks each record and pointer
//! against what a request would find: n's arbiter, the first node of its order. A slice
//! is at least [`REPAIR_MIN_SLICE`] items (the walk reads pointers, hints and what resets
//! left too, which the record count leaves out) and at most [`REPAIR_MAX_SLICE`], and a
//! run starts nothing past its time budget, beginning with a different node each minute.
//! - A record the arbiter leads to elsewhere is a double: the pointers to it move to the
//!   copy that stays, then it goes (handoff's own removal).
//! - A record the arbiter leads nowhere is an orphan: the arbiter gets a pointer to it,
//!   written where there is nothing, or in place of a pointer that leads nowhere.
//! - A pointer that leads through another node's pointer is made to lead straight to the
//!   record; one that leads to no record is dropped (only that very pointer), so that the
//!   next request stores n again.
//!
//! Each move is one of handoff's conditional writes, so a request racing it finds n
//! throughout. What is younger than the write grace may be a claim under way, and what
//! involves a node that is down waits: both are left for the walk's next pass. The repair
//! runs inside the upkeep, after handoff and never beside another pass, one node after
//! another: two removals at once could each take the other's copy for the double.

use std::time::Duration;

use futures::FutureExt;
use futures::stream::{self, StreamExt};
use primescaler_core::{PrimeCalculator, PrimeRecord, RecordKey, StoredEntry};

use super::handoff::Handoff;
use super::mover::Moved;
use super::{CallError, ClusterService, DownNodes, NodeStore, Resolved};
use crate::clock::Instant;

/// How many upkeep runs one repair pass over a node takes by default: each run reads a
/// 60th of the node's records, and the upkeep runs every minute.
pub const REPAIR_RUNS_PER_PASS: u64 = 60;

/// The fewest items one run's slice of a node reads: a node whose record count is small
/// (it holds pointers mostly, or was just reset) still gets walked within hours.
pub const REPAIR_MIN_SLICE: u64 = 100;

/// The most items one run's slice of a node reads, whatever it holds: each entry checked
/// costs one to three reads across regions.
pub const REPAIR_MAX_SLICE: u64 = 2_000;

/// How long a repair run may go on starting slices and checking entries: the upkeep
/// function's timeout is 50 s, and the sweep comes after.
pub const REPAIR_BUDGET: Duration = Duration::from_secs(40);

/// How many entries of one slice are checked at once.
const REPAIR_PARALLEL: usize = 8;

/// What one repair run did on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RepairReport {
    /// Items the walk read (its cost: at most its slice, plus the counters item, read
    /// twice).
    pub read: u64,
    /// Records and pointers checked.
    pub checked: u64,
    /// Records removed as doubles of the copy n's arbiter leads to.
    pub doubles_removed: u64,
    /// Orphans that n's arbiter now leads to.
    pub adopted: u64,
    /// Pointers that led to no record, dropped.
    pub dangling_dropped: u64,
    /// Pointers that led through another pointer, made to lead straight to the record.
    pub straightened: u64,
    /// Entries left for the next pass: a node they involve is down, or they may belong to
    /// a write under way.
    pub kept: u64,
    /// Whether this run finished a pass over the node (the next one starts over).
    pub wrapped: bool,
    /// Whether the run's time ran out before this slice was checked whole (the entries
    /// not checked wait for the walk's next pass).
    pub cut_short: bool,
}

/// What the repair did with one entry.
enum Repair {
    /// Nothing to do: it is where a request would find it.
    Sound,
    /// A double, removed.
    DoubleRemoved,
    /// An orphan, adopted by n's arbiter.
    Adopted,
    /// A pointer to no record, dropped.
    DanglingDropped,
    /// A pointer made to lead straight to its record.
    Straightened,
    /// Left for the next pass.
    Kept,
}

impl RepairReport {
    fn add(&mut self, repair: Repair) {
        self.checked += 1;
        match repair {
            Repair::Sound => {}
            Repair::DoubleRemoved => self.doubles_removed += 1,
            Repair::Adopted => self.adopted += 1,
            Repair::DanglingDropped => self.dangling_dropped += 1,
            Repair::Straightened => self.straightened += 1,
            Repair::Kept => self.kept += 1,
        }
    }
}

impl<S: NodeStore, C: PrimeCalculator + Sync> ClusterService<S, C> {
    /// One repair run over every node within [`REPAIR_BUDGET`]: see
    /// [`Self::repair_within`].
    pub async fn repair(&self) -> Vec<(String, Option<RepairReport>)> {
        self.repair_within(REPAIR_BUDGET).await
    }

    /// One repair run over every node, one node after another, beginning with a
    /// different node each minute: a slice of each node's walk, of its records over
    /// [`Self::with_repair_runs`]' runs per pass (within [`REPAIR_MIN_SLICE`] and
    /// [`REPAIR_MAX_SLICE`]), starting nothing after `budget`. Answers what each node's
    /// slice did, by name, in configuration order (`None`: the node was down or busy).
    /// A node outside the ring is walked too, and what it holds carried off. Nothing
    /// runs while a membership change moves records: a record at its old home is not an
    /// orphan, the mover carries it.
    pub async fn repair_within(&self, budget: Duration) -> Vec<(String, Option<RepairReport>)> {
        let stop_at = Instant::now() + budget;
        let mut reports: Vec<(String, Option<RepairReport>)> =
            self.nodes.iter().map(|n| (n.name.clone(), None)).collect();
        let layout = self.layout();
        if layout.membership().moving() {
            return reports;
        }
        for i in self.rotated_nodes() {
            let report = if Instant::now() >= stop_at {
                Ok(RepairReport {
                    cut_short: true,
                    ..RepairReport::default()
                })
            } else {
                self.repair_node(i, stop_at).await
            };
            if let Err(CallError::Failed(error)) = &report {
                tracing::warn!(node = %self.nodes[i].name, %error, "the repair failed");
            }
            reports[i].1 = report.ok();
        }
        reports
    }

    /// One slice of node `i`'s walk, each entry checked until `stop_at`.
    async fn repair_node(&self, i: usize, stop_at: Instant) -> Result<RepairReport, CallError> {
        let store = &self.nodes[i].store;
        let records = self.guard(i, store.read_counters()).await?.items;
        let budget = records
            .div_ceil(self.repair_runs)
            .clamp(REPAIR_MIN_SLICE, REPAIR_MAX_SLICE);
        let slice = self.guard_bulk(i, store.walk_entries(budget)).await?;
        let entries = slice.entries.len();
        let mut report = RepairReport {
            // (The counters read first.)
            read: slice.read + 1,
            wrapped: slice.wrapped,
            ..RepairReport::default()
        };
        let repairs: Vec<Repair> = stream::iter(slice.entries)
            .map(|entry| self.repair_entry(i, entry))
            .buffer_unordered(REPAIR_PARALLEL)
            .take_until(tokio::time::sleep_until(stop_at))
            .collect()
            .await;
        report.cut_short = repairs.len() < entries;
        for repair in repairs {
            report.add(repair);
        }
        if report.checked > report.kept {
            tracing::info!(node = %self.nodes[i].name, ?report, "repair slice");
        }
        Ok(report)
    }

    /// Checks one entry that node `i` holds against what a request would find.
    async fn repair_entry(&self, i: usize, entry: StoredEntry) -> Repair {
        if !self.layout().involves(i) {
            return self.carry_off(i, entry).await.unwrap_or(Repair::Kept);
        }
        let repaired = match entry {
            StoredEntry::Record(record) => self.repair_record(i, record).await,
            StoredEntry::Pointer {
                key,
                node,
                written_at_ms,
                ..
            } => self.repair_pointer(i, key, &node, written_at_ms).await,
        };
        // A node that did not answer: the next pass looks again.
        repaired.unwrap_or(Repair::Kept)
    }

    /// `holder`'s record: a double when the arbiter leads to another copy, an orphan when
    /// it leads nowhere.
    async fn repair_record(&self, holder: usize, record: PrimeRecord) -> Option<Repair> {
        let key = record.key;
        let arbiter = self.layout().order(key.shard)[0];
        let mut down = DownNodes::default();
        let found = self.resolve_entry(key, arbiter, &mut down).await.ok()?;
        if !down.is_empty() {
            return Some(Repair::Kept);
        }
        Some(match found {
            Resolved::Found(_, at) if at == holder => Repair::Sound,
            // A claim writes its pointer before its record: a young record may be one
            // whose pointer is still on its way, or whose claim is being withdrawn.
            _ if !self.past_write_grace(record.computed_at_ms) => Repair::Kept,
            Resolved::Found(_, other) => {
                match self.remove_double(key, None, holder, other).await? {
                    Handoff::DoubleRemoved { .. } => Repair::DoubleRemoved,
                    Handoff::Settled | Handoff::Kept => Repair::Kept,
                }
            }
            // Nothing there, or a pointer that leads nowhere (moved only once past its
            // grace): the arbiter is made to lead here.
            Resolved::Missing | Resolved::Dangling { .. } => {
                if self.point_at(key, arbiter, holder).await? {
                    Repair::Adopted
                } else {
                    Repair::Kept
                }
            }
            Resolved::Unreachable => Repair::Kept,
        })
    }

    /// An entry on node `i`, which is not in the ring: a write that landed after a
    /// membership change's move had passed it (a request on the old ring, cut off for a
    /// long while). A record is carried to n's arbiter as the mover carries one; a
    /// pointer past its grace is dropped (the record it leads to, if any, is adopted
    /// where it is).
    async fn carry_off(&self, i: usize, entry: StoredEntry) -> Option<Repair> {
        match entry {
            StoredEntry::Record(record) => {
                let key = record.key;
                if !self.past_write_grace(record.computed_at_ms) {
                    return Some(Repair::Kept);
                }
                let arbiter = self.layout().order(key.shard)[0];
                // Boxed, as the mover's: its moves nest the upkeep's future past the
                // compiler's depth for laying it out.
                let moving = self.move_record(key, i, arbiter, false).boxed();
                Some(match moving.await? {
                    Moved::Record => Repair::Adopted,
                    Moved::Double => Repair::DoubleRemoved,
                    Moved::Stays | Moved::Pointer => Repair::Kept,
                })
            }
            StoredEntry::Pointer {
                key,
                node,
                written_at_ms,
                ..
            } if self.past_write_grace(written_at_ms) => {
                let drop = self.nodes[i].store.drop_pointer(key, &node, written_at_ms);
                Some(if self.guard(i, drop).await.ok()? {
                    Repair::DanglingDropped
                } else {
                    Repair::Kept
                })
            }
            StoredEntry::Pointer { .. } => Some(Repair::Kept),
        }
    }

    /// Node `i`'s pointer for n to `to`, written at `written_at_ms`: made to lead straight
    /// to n's record, or dropped when it leads to none.
    async fn repair_pointer(
        &self,
        i: usize,
        key: RecordKey,
        to: &str,
        written_at_ms: u64,
    ) -> Option<Repair> {
        let mut down = DownNodes::default();
        Some(match self.resolve_entry(key, i, &mut down).await.ok()? {
            Resolved::Found(_, holder) if self.nodes[holder].name == to => Repair::Sound,
            // A young pointer may be a claim's under way: it is not moved from under it.
            Resolved::Found(..) if !self.past_write_grace(written_at_ms) => Repair::Kept,
            Resolved::Found(_, holder) if self.point_at(key, i, holder).await? => {
                Repair::Straightened
            }
            Resolved::Found(..) => Repair::Kept,
            Resolved::Dangling {
                node,
                written_at_ms,
                newest_ms,
            } if self.past_write_grace(newest_ms) => {
                let store = &self.nodes[i].store;
                let drop = store.drop_pointer(key, &node, written_at_ms);
                if self.guard(i, drop).await.ok()? {
                    Repair::DanglingDropped
                } else {
                    Repair::Kept
                }
            }
            Resolved::Dangling { .. } | Resolved::Missing | Resolved::Unreachable => Repair::Kept,
        })
    }
}

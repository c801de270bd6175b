//! Handoff: giving n back to the nodes that were down when it was stored.
//!
//! A record stored past a down node leaves a *hint* on its arbiter, naming the node the
//! record went to. A handoff pass reads every node's hints, page by page with a cursor,
//! and for each hinted n:
//! - when every node before the arbiter in n's order is up and none holds n itself, each
//!   of them gets a pointer to the record, and the hint goes;
//! - when one of them stored n itself meanwhile (a request reached it before the pass),
//!   the hinted copy is the double. Every pointer to it is moved, in one conditional
//!   write each, to the copy that stays; then the double goes; then the hint. A pass cut
//!   off part of the way leaves the hint, which still names the double, and the next
//!   pass finishes the work. A node that led to n goes on leading to n throughout, and
//!   the copy that stays is checked before the pointers move and again before the double
//!   goes;
//! - while one of them is still down, the hint stays for a later pass, and the pass goes
//!   on with the next hints: a node that stays down never blocks the others' hints.
//!
//! A pass never runs inside a request. The upkeep function runs one every minute, in one
//! region of the cluster, one at a time (EventBridge Scheduler in template.yaml): two
//! passes at once could each take the other's copy of an n for the double. `make dev`
//! runs it every minute too, and `make upkeep` on demand. A pass stops starting pages after its
//! budget, and begins with a different node each minute, so that no node's hints wait
//! behind the others' for long.

use std::time::Duration;

use futures::stream::{self, StreamExt};
use primescaler_core::{Hint, PrimeCalculator, RecordKey, StoredEntry};

use super::{CallError, ClusterService, DownNodes, NodeStore, Resolved};
use crate::clock::Instant;

mod copies;

/// How many hints one page of a pass reads from a node.
pub const HANDOFF_PAGE: u32 = 32;

/// How many hints a pass hands off at once.
const HANDOFF_PARALLEL: usize = 8;

/// How long a pass may go on starting pages: the upkeep function's timeout is 50 s.
pub const HANDOFF_BUDGET: Duration = Duration::from_secs(40);

/// What one handoff pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HandoffReport {
    /// Hints settled: every node before the hint's holder now leads to n's record.
    pub handed_off: usize,
    /// Hinted copies removed because an earlier node had stored n itself meanwhile.
    pub doubles_removed: usize,
    /// Pointers to a removed copy, moved to the copy that stays.
    pub pointers_moved: usize,
    /// Hints kept for a later pass (a node before the holder is still down, or the
    /// write the hint announces may still be under way).
    pub kept: usize,
    /// Nodes whose hints could not be read because they are down or busy.
    pub unreachable: usize,
    /// Nodes whose hints could not be read for another reason (access denied, say),
    /// logged as an error.
    pub failed: usize,
    /// Whether the budget ran out before every node's hints were read.
    pub cut_short: bool,
}

/// What became of one hint (or of a double the repair removed).
pub(in crate::service) enum Handoff {
    /// Every earlier node leads to n's record; the hint is gone.
    Settled,
    /// A copy was removed as a double (an earlier node had its own, or the hint named a
    /// copy its arbiter no longer leads to); the pointers to it lead to the copy that
    /// stays. The hint is gone once the copy that stays is handed off too; a hint whose
    /// drop found it written again stays for the next pass.
    DoubleRemoved { pointers_moved: usize },
    /// An earlier node is down or leads nowhere, or the announced write may still be
    /// under way: the hint stays.
    Kept,
}

impl<S: NodeStore, C: PrimeCalculator + Sync> ClusterService<S, C> {
    /// One handoff pass over the hints of every node that is up, all of them, page by
    /// page, within [`HANDOFF_BUDGET`]. A hint kept for a later pass does not stop the
    /// pass.
    pub async fn hand_off(&self) -> HandoffReport {
        self.hand_off_within(HANDOFF_BUDGET).await
    }

    /// As [`Self::hand_off`], starting no page after `budget`.
    pub async fn hand_off_within(&self, budget: Duration) -> HandoffReport {
        let stop_at = Instant::now() + budget;
        let mut report = HandoffReport::default();
        for arbiter in self.rotated_nodes() {
            let mut after = None;
            loop {
                if Instant::now() >= stop_at {
                    report.cut_short = true;
                    break;
                }
                let page = self
                    .guard(
                        arbiter,
                        self.nodes[arbiter].store.list_hints(after, HANDOFF_PAGE),
                    )
                    .await;
                let hints = match page {
                    Ok(hints) => hints,
                    Err(CallError::Down { .. } | CallError::Busy) => {
                        report.unreachable += 1;
                        break;
                    }
                    Err(CallError::Failed(error)) => {
                        tracing::error!(node = %self.nodes[arbiter].name, %error, "hints could not be listed");
                        report.failed += 1;
                        break;
                    }
                };
                let last_page = hints.len() < HANDOFF_PAGE as usize;
                let next = hints.last().map(|hint| hint.n);
                // A page that does not move past the last one ends the pass.
                let stuck = next <= after;
                after = next;
                let outcomes: Vec<Option<Handoff>> = stream::iter(hints)
                    .map(|hint| self.hand_off_hint(arbiter, hint))
                    .buffer_unordered(HANDOFF_PARALLEL)
                    .collect()
                    .await;
                for outcome in outcomes {
                    match outcome {
                        Some(Handoff::Settled) => report.handed_off += 1,
                        Some(Handoff::DoubleRemoved { pointers_moved }) => {
                            report.doubles_removed += 1;
                            report.pointers_moved += pointers_moved;
                        }
                        Some(Handoff::Kept) | None => report.kept += 1,
                    }
                }
                if last_page || stuck {
                    break;
                }
            }
        }
        if report != HandoffReport::default() {
            tracing::info!(?report, "handoff pass");
        }
        report
    }

    /// Hands off one hint that `arbiter` holds; `None` when a call failed (the hint
    /// stays).
    async fn hand_off_hint(&self, arbiter: usize, hint: Hint) -> Option<Handoff> {
        let n = hint.n;
        let key = RecordKey::for_index(n);
        // The nodes the hint names that still hold n's record.
        let mut holding = Vec::new();
        for node in hint.holders.iter().filter_map(|name| self.index_of(name)) {
            if self.holds_record(node, key).await? {
                holding.push(node);
            }
        }
        let hinted = holding.first().copied();
        let holder = match self
            .guard(arbiter, self.nodes[arbiter].store.get_entry(key))
            .await
            .ok()?
        {
            Some(StoredEntry::Record(_)) => arbiter,
            Some(StoredEntry::Pointer {
                node,
                written_at_ms,
                ..
            }) => match self.index_of(&node) {
                // (A node the hint names was just read: it is not read again.)
                Some(holder)
                    if holding.contains(&holder) || self.holds_record(holder, key).await? =>
                {
                    holder
                }
                // The claim leads to a node without the record (its write never landed,
                // or the node came back empty): the hinted copy, if any, is the one.
                Some(_) if hinted.is_some() => hinted?,
                // Or on, through that node's own pointer, to the record.
                Some(_) => match self
                    .resolve_entry(key, arbiter, &mut DownNodes::default())
                    .await
                {
                    Ok(Resolved::Found(_, holder)) => holder,
                    Ok(Resolved::Dangling { newest_ms, .. })
                        if self.past_write_grace(newest_ms) =>
                    {
                        // A claim past its grace that leads nowhere: drop it (only that
                        // very pointer), so that the next request stores n again.
                        self.guard(
                            arbiter,
                            self.nodes[arbiter]
                                .store
                                .drop_pointer(key, &node, written_at_ms),
                        )
                        .await
                        .ok()?;
                        return self.drop_hint(arbiter, &hint).await;
                    }
                    // A write along the way may be under way, or a node is down.
                    _ => return Some(Handoff::Kept),
                },
                None => {
                    return self.drop_hint(arbiter, &hint).await;
                }
            },
            // A removal cut off part of the way has moved the arbiter's pointer away
            // already; the hint still names the copy.
            None if hinted.is_some() => hinted?,
            // The write it announces may still be under way.
            None if !self.past_write_grace(hint.hinted_at_ms) => return Some(Handoff::Kept),
            // Nothing was stored after all, or it was evicted since.
            None => {
                return self.drop_hint(arbiter, &hint).await;
            }
        };
        // A copy the hint names that the arbiter does not lead to, still there: a
        // removal cut off after moving the pointers, or a claim that lost its pointer.
        // It is a double: remove it, then hand off the copy that stays, as any other
        // (found by a seed of the simulation: dropping the hint with the double left
        // the copy that stays a double of an earlier node's, for good).
        let mut removed: Option<usize> = None;
        for &double in holding.iter().filter(|&&node| node != holder) {
            match self.remove_double(key, None, double, holder).await? {
                Handoff::DoubleRemoved { pointers_moved } => {
                    *removed.get_or_insert(0) += pointers_moved;
                }
                other => return Some(other),
            }
        }
        let handed_off = self.hand_off_copy(key, arbiter, holder, &hint).await?;
        Some(match (removed, handed_off) {
            (Some(pointers_moved), Handoff::Settled | Handoff::Kept) => {
                Handoff::DoubleRemoved { pointers_moved }
            }
            (Some(before), Handoff::DoubleRemoved { pointers_moved }) => Handoff::DoubleRemoved {
                pointers_moved: before + pointers_moved,
            },
            (None, outcome) => outcome,
        })
    }

    /// Hands off `holder`'s copy of n, hinted on `arbiter`: removes it if an earlier node
    /// has a copy of its own, else makes every earlier node lead to it, then drops the
    /// hint.
    async fn hand_off_copy(
        &self,
        key: RecordKey,
        arbiter: usize,
        holder: usize,
        hint: &Hint,
    ) -> Option<Handoff> {
        let order = self.layout().order(key.shard);
        let earlier: Vec<usize> = order
            .iter()
            .take_while(|&&i| i != arbiter)
            .copied()
            .collect();
        // First look for a copy of n's own on an earlier node (it was stored there while
        // this one was hinted): then the hinted copy is the double.
        let mut kept = false;
        for &node in &earlier {
            let mut down = DownNodes::default();
            match self.resolve(key, node, &mut down).await {
                Ok(Some((_, other))) if other != holder => {
                    return self
                        .remove_double(key, Some((arbiter, hint)), holder, other)
                        .await;
                }
                Ok(_) if down.is_empty() => {}
                // Down, or leading to a node that is down: try again in a later pass.
                Ok(_) | Err(_) => kept = true,
            }
        }
        if kept {
            // A node that is down may hold a copy of its own: write no pointer yet.
            return Some(Handoff::Kept);
        }
        // Then make every earlier node lead straight to the record.
        for &node in &earlier {
            if self.point_at(key, node, holder).await != Some(true) {
                kept = true;
            }
        }
        if kept {
            return Some(Handoff::Kept);
        }
        self.drop_hint(arbiter, hint).await
    }
}

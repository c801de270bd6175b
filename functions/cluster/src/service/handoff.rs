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

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use primescaler_core::{Hint, PrimeCalculator, PutOutcome, RecordKey, StoredEntry, in_grid};

use super::{CallError, ClusterService, NodeStore, past_write_grace};

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

/// What became of one hint.
enum Handoff {
    /// Every earlier node leads to n's record; the hint is gone.
    Settled,
    /// An earlier node had its own copy; the pointers to the hinted one lead to that
    /// copy now, and the hinted one and the hint are gone.
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
        // A different first node each minute.
        let first = (primescaler_core::record::now_ms() / 60_000) as usize % self.nodes.len();
        for arbiter in (0..self.nodes.len()).map(|k| (first + k) % self.nodes.len()) {
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
                Some(_) if !past_write_grace(written_at_ms) => return Some(Handoff::Kept),
                // A claim past its grace that leads nowhere: drop it (only that very
                // pointer), so that the next request stores n again.
                Some(_) => {
                    self.guard(
                        arbiter,
                        self.nodes[arbiter]
                            .store
                            .drop_pointer(key, &node, written_at_ms),
                    )
                    .await
                    .ok()?;
                    self.drop_hint(arbiter, n).await?;
                    return Some(Handoff::Settled);
                }
                None => {
                    self.drop_hint(arbiter, n).await?;
                    return Some(Handoff::Settled);
                }
            },
            // A removal cut off part of the way has moved the arbiter's pointer away
            // already; the hint still names the copy.
            None if hinted.is_some() => hinted?,
            // The write it announces may still be under way.
            None if !past_write_grace(hint.hinted_at_ms) => return Some(Handoff::Kept),
            // Nothing was stored after all, or it was evicted since.
            None => {
                self.drop_hint(arbiter, n).await?;
                return Some(Handoff::Settled);
            }
        };
        // A copy the hint names that the arbiter does not lead to, still there: a
        // removal cut off after moving the pointers, or a claim that lost its pointer.
        // It is a double: remove it (one a pass; the hint stays for the next).
        if let Some(&double) = holding.iter().find(|&&node| node != holder) {
            return self.remove_double(key, arbiter, double, holder).await;
        }
        let order = self.placement.order(key.shard);
        let earlier: Vec<usize> = order
            .iter()
            .take_while(|&&i| i != arbiter)
            .copied()
            .collect();
        // First look for a copy of n's own on an earlier node (it was stored there while
        // this one was hinted): then the hinted copy is the double.
        let mut kept = false;
        for &node in &earlier {
            let mut down = Vec::new();
            match self.resolve(key, node, &mut down).await {
                Ok(Some((_, other))) if other != holder => {
                    return self.remove_double(key, arbiter, holder, other).await;
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
        // Then point every earlier node at the record.
        for &node in &earlier {
            let claimed = self
                .guard(
                    node,
                    self.nodes[node].store.put_pointer_if_absent(
                        key,
                        &self.nodes[holder].name,
                        primescaler_core::record::now_ms(),
                    ),
                )
                .await;
            match claimed {
                Ok(PutOutcome::Stored) => {}
                // An entry appeared since the look above: keep the hint unless it leads
                // to the same record; a later pass looks again (and finds the double).
                Ok(PutOutcome::AlreadyPresent) => {
                    let mut down = Vec::new();
                    if !matches!(
                        self.resolve(key, node, &mut down).await,
                        Ok(Some((_, other))) if other == holder
                    ) {
                        kept = true;
                    }
                }
                Err(_) => kept = true,
            }
        }
        if kept {
            return Some(Handoff::Kept);
        }
        self.drop_hint(arbiter, n).await?;
        Some(Handoff::Settled)
    }

    /// Whether `node` holds n's record itself (`None` when it did not answer).
    async fn holds_record(&self, node: usize, key: RecordKey) -> Option<bool> {
        let entry = self
            .guard(node, self.nodes[node].store.get_entry(key))
            .await
            .ok()?;
        Some(matches!(entry, Some(StoredEntry::Record(_))))
    }

    /// n is stored on `other` (reached through an earlier node) and on `holder` (hinted
    /// on `arbiter`): moves every pointer to `holder` on the nodes before it to `other`,
    /// in place; then, once `other` is seen still holding the record, removes `holder`'s
    /// copy; then the hint. Stopped at any step, it is taken up again by the next pass.
    async fn remove_double(
        &self,
        key: RecordKey,
        arbiter: usize,
        holder: usize,
        other: usize,
    ) -> Option<Handoff> {
        // The copy that stays must be there before anything is moved to it.
        if !self.holds_record(other, key).await? {
            return Some(Handoff::Kept);
        }
        let order = self.placement.order(key.shard);
        let holder_name = &self.nodes[holder].name;
        let mut pointers_moved = 0;
        for &node in order.iter().take_while(|&&i| i != holder) {
            let entry = self
                .guard(node, self.nodes[node].store.get_entry(key))
                .await
                .ok()?;
            let Some(StoredEntry::Pointer {
                node: to,
                written_at_ms,
                ..
            }) = entry
            else {
                continue;
            };
            if to != *holder_name {
                continue;
            }
            let moved = self
                .guard(
                    node,
                    self.nodes[node].store.repoint_pointer(
                        key,
                        holder_name,
                        written_at_ms,
                        &self.nodes[other].name,
                        primescaler_core::record::now_ms(),
                    ),
                )
                .await
                .ok()?;
            if !moved {
                // It changed since it was read: look again in the next pass.
                return Some(Handoff::Kept);
            }
            pointers_moved += 1;
        }
        // And still there before the other one goes.
        if !self.holds_record(other, key).await? {
            return Some(Handoff::Kept);
        }
        if self
            .guard(holder, self.nodes[holder].store.evict_record(key))
            .await
            .ok()?
        {
            self.count_removed(holder, 1, in_grid(key.n)).await;
        }
        self.drop_hint(arbiter, key.n).await?;
        Some(Handoff::DoubleRemoved { pointers_moved })
    }

    /// Drops the hint for `n` on `arbiter`; `None` when the node did not answer.
    async fn drop_hint(&self, arbiter: usize, n: u64) -> Option<()> {
        self.guard(arbiter, self.nodes[arbiter].store.drop_hint(n))
            .await
            .ok()
    }
}

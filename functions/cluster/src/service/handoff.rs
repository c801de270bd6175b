//! Handoff: giving n back to the nodes that were down when it was stored.
//!
//! A record stored past a down node leaves a *hint* on its arbiter. A handoff pass reads
//! every node's hints, page by page with a cursor, and for each hinted n:
//! - when every node before the arbiter in n's order is up and none holds n itself, each
//!   of them gets a pointer to the record, and the hint goes;
//! - when one of them stored n itself meanwhile (a request reached it before the pass),
//!   the hinted copy is the double: the pointers to it go first, then the copy, then the
//!   hint, so that no pointer is left leading nowhere;
//! - while one of them is still down, the hint stays for a later pass, and the pass goes
//!   on with the next hints: a node that stays down never blocks the others' hints.
//!
//! A pass never runs inside a request. The upkeep function runs one every minute
//! (EventBridge Scheduler in template.yaml; a loop in `make dev`, and `make upkeep` on
//! demand).

use futures::stream::{self, StreamExt};
use primescaler_core::{Hint, PrimeCalculator, PutOutcome, RecordKey, StoredEntry, in_grid};

use super::{CallError, ClusterService, NodeStore, past_write_grace};

/// How many hints one page of a pass reads from a node.
pub const HANDOFF_PAGE: u32 = 32;

/// How many hints a pass hands off at once.
const HANDOFF_PARALLEL: usize = 8;

/// What one handoff pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HandoffReport {
    /// Hints settled: every node before the hint's holder now leads to n's record.
    pub handed_off: usize,
    /// Hinted copies removed because an earlier node had stored n itself meanwhile.
    pub doubles_removed: usize,
    /// Pointers to a removed copy that were dropped with it.
    pub pointers_dropped: usize,
    /// Hints kept for a later pass (a node before the holder is still down, or the
    /// write the hint announces may still be under way).
    pub kept: usize,
    /// Nodes whose hints could not be read because they are down.
    pub unreachable: usize,
    /// Nodes whose hints could not be read for another reason (access denied, say),
    /// logged as an error.
    pub failed: usize,
}

/// What became of one hint.
enum Handoff {
    /// Every earlier node leads to n's record; the hint is gone.
    Settled,
    /// An earlier node had its own copy; the hinted one, the pointers to it and the
    /// hint are gone.
    DoubleRemoved { pointers_dropped: usize },
    /// An earlier node is down or leads nowhere, or the announced write may still be
    /// under way: the hint stays.
    Kept,
}

impl<S: NodeStore, C: PrimeCalculator + Sync> ClusterService<S, C> {
    /// One handoff pass over the hints of every node that is up, all of them, page by
    /// page. A hint kept for a later pass does not stop the pass.
    pub async fn hand_off(&self) -> HandoffReport {
        let mut report = HandoffReport::default();
        for arbiter in 0..self.nodes.len() {
            let mut after = None;
            loop {
                let page = self
                    .guard(
                        arbiter,
                        self.nodes[arbiter].store.list_hints(after, HANDOFF_PAGE),
                    )
                    .await;
                let hints = match page {
                    Ok(hints) => hints,
                    Err(CallError::Down) => {
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
                        Some(Handoff::DoubleRemoved { pointers_dropped }) => {
                            report.doubles_removed += 1;
                            report.pointers_dropped += pointers_dropped;
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
        let holder = match self
            .guard(arbiter, self.nodes[arbiter].store.get_entry(key))
            .await
            .ok()?
        {
            Some(StoredEntry::Record(_)) => arbiter,
            Some(StoredEntry::Pointer { node, .. }) => match self.index_of(&node) {
                Some(holder) => holder,
                None => {
                    self.drop_hint(arbiter, n).await?;
                    return Some(Handoff::Settled);
                }
            },
            // The write it announces may still be under way.
            None if !past_write_grace(hint.hinted_at_ms) => return Some(Handoff::Kept),
            // Nothing was stored after all, or it was evicted since.
            None => {
                self.drop_hint(arbiter, n).await?;
                return Some(Handoff::Settled);
            }
        };
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

    /// n is stored on `other` (reached through an earlier node) and on `holder` (hinted
    /// on `arbiter`): drops every pointer to `holder` on the nodes before it (earlier
    /// nodes then point at `other` instead), then `holder`'s copy, then the hint.
    async fn remove_double(
        &self,
        key: RecordKey,
        arbiter: usize,
        holder: usize,
        other: usize,
    ) -> Option<Handoff> {
        let order = self.placement.order(key.shard);
        let holder_name = &self.nodes[holder].name;
        let mut pointers_dropped = 0;
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
            let dropped = self
                .guard(
                    node,
                    self.nodes[node]
                        .store
                        .drop_pointer(key, holder_name, written_at_ms),
                )
                .await
                .ok()?;
            pointers_dropped += usize::from(dropped);
            // A node before `other` still needs to lead to n: point it there.
            if order.iter().position(|&i| i == node) < order.iter().position(|&i| i == other) {
                self.guard(
                    node,
                    self.nodes[node].store.put_pointer_if_absent(
                        key,
                        &self.nodes[other].name,
                        primescaler_core::record::now_ms(),
                    ),
                )
                .await
                .ok()?;
            }
        }
        if self
            .guard(holder, self.nodes[holder].store.evict_record(key))
            .await
            .ok()?
        {
            self.count_removed(holder, 1, in_grid(key.n)).await;
        }
        self.drop_hint(arbiter, key.n).await?;
        Some(Handoff::DoubleRemoved { pointers_dropped })
    }

    /// Drops the hint for `n` on `arbiter`; `None` when the node did not answer.
    async fn drop_hint(&self, arbiter: usize, n: u64) -> Option<()> {
        self.guard(arbiter, self.nodes[arbiter].store.drop_hint(n))
            .await
            .ok()
    }
}

//! Handoff's moves on one n's copies and pointers: an earlier node made to lead straight
//! to the copy that stays, a double removed once the pointers to it are moved, and a
//! hint dropped only as it was read.

use primescaler_core::{Hint, PrimeCalculator, PutOutcome, RecordKey, StoredEntry, in_grid};

use super::Handoff;
use crate::service::{ClusterService, DownNodes, NodeStore, Resolved};

impl<S: NodeStore, C: PrimeCalculator + Sync> ClusterService<S, C> {
    /// Makes `node`'s entry for n lead straight to `holder`'s record: a pointer written
    /// where there is none, or, in place, a pointer that leads there through another
    /// node's pointer, or leads nowhere past its write grace. Answers whether it does now
    /// (`None` when a node did not answer); an entry that appeared meanwhile, or another
    /// copy of n, is left for a later pass.
    pub(in crate::service) async fn point_at(
        &self,
        key: RecordKey,
        node: usize,
        holder: usize,
    ) -> Option<bool> {
        let holder_name = &self.nodes[holder].name;
        let store = &self.nodes[node].store;
        let (to, written_at_ms, claim) = match self.guard(node, store.get_entry(key)).await.ok()? {
            None => {
                // Under its record's epoch, so that a reset hides both or neither.
                let read = self.nodes[holder].store.read_entry(key);
                let Some((StoredEntry::Record(_), epoch)) = self.guard(holder, read).await.ok()?
                else {
                    return Some(false);
                };
                // A record older than this node's epoch (the holder missed a reset this
                // node had) would have an invisible pointer: wait for the reset's carry.
                if epoch < store.known_epoch() {
                    return Some(false);
                }
                let put =
                    store.put_pointer_if_absent(key, holder_name, crate::clock::now_ms(), 0, epoch);
                return Some(self.guard(node, put).await.ok()? == PutOutcome::Stored);
            }
            Some(StoredEntry::Pointer {
                node: to,
                written_at_ms,
                claim,
                ..
            }) => (to, written_at_ms, claim),
            // The record itself (or a copy of n's own, a double for a later pass).
            Some(StoredEntry::Record(_)) => return Some(node == holder),
        };
        if to == *holder_name {
            // A request's claim may still be withdrawn (its record put never went out, and
            // it stores n elsewhere): it counts once past its grace. (Found by a seed of
            // the simulation: a hint settled on a claim that was then withdrawn left the
            // hinted copy a double.)
            return Some(claim == 0 || self.past_write_grace(written_at_ms));
        }
        let mut down = DownNodes::default();
        let leads = match self.resolve_entry(key, node, &mut down).await.ok()? {
            Resolved::Found(_, found) => found == holder,
            Resolved::Dangling { newest_ms, .. } => self.past_write_grace(newest_ms),
            Resolved::Missing | Resolved::Unreachable => false,
        };
        if !leads {
            return Some(false);
        }
        let moved =
            store.repoint_pointer(key, &to, written_at_ms, holder_name, crate::clock::now_ms());
        self.guard(node, moved).await.ok()
    }

    /// Whether `node` holds n's record itself (`None` when it did not answer).
    pub(in crate::service) async fn holds_record(
        &self,
        node: usize,
        key: RecordKey,
    ) -> Option<bool> {
        let entry = self
            .guard(node, self.nodes[node].store.get_entry(key))
            .await
            .ok()?;
        Some(matches!(entry, Some(StoredEntry::Record(_))))
    }

    /// n is stored on `other` (reached through an earlier node) and on `holder`: moves
    /// every pointer to `holder` on the nodes before it to `other`, in place; then, once
    /// `other` is seen still holding the record, removes `holder`'s copy; then the hint
    /// on `hinted_on`, when the hint has nothing left to do. Stopped at any step, it is
    /// taken up again by the next pass.
    pub(in crate::service) async fn remove_double(
        &self,
        key: RecordKey,
        hinted_on: Option<(usize, &Hint)>,
        holder: usize,
        other: usize,
    ) -> Option<Handoff> {
        // The copy that stays must be there before anything is moved to it.
        if !self.holds_record(other, key).await? {
            return Some(Handoff::Kept);
        }
        let order = self.layout().order(key.shard);
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
                        crate::clock::now_ms(),
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
        if let Some(epoch) = self
            .guard(holder, self.nodes[holder].store.evict_record(key))
            .await
            .ok()?
        {
            self.count_removed(holder, in_grid(key.n), epoch).await;
        }
        if let Some((arbiter, hint)) = hinted_on {
            self.drop_hint(arbiter, hint).await?;
        }
        Some(Handoff::DoubleRemoved { pointers_moved })
    }

    /// Drops `hint` from `arbiter` unless a claim wrote it again since it was read:
    /// `Settled`, or `Kept` for the next pass to look at what that claim wrote; `None`
    /// when the node did not answer.
    pub(super) async fn drop_hint(&self, arbiter: usize, hint: &Hint) -> Option<Handoff> {
        let dropped = self
            .guard(arbiter, self.nodes[arbiter].store.drop_hint(hint))
            .await
            .ok()?;
        Some(if dropped {
            Handoff::Settled
        } else {
            Handoff::Kept
        })
    }
}

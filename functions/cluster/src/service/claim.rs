//! Storing n once, through its arbiter: the claim (a conditional put of the record, or
//! of a pointer to the strategy's target and then the record there), a hint first when
//! n is stored past its home, a rival's record read back, and what a write whose answer
//! was lost leaves behind.

use std::sync::atomic::Ordering;

use primescaler_core::{
    Epoch, Hint, Lookup, PrimeCalculator, PrimeRecord, PutOutcome, RecordKey, ServiceError, Source,
    StoredEntry,
};

use super::{CallError, ClusterService, DownNodes, NodeStore, Resolved};

impl<S: NodeStore, C: PrimeCalculator + Sync> ClusterService<S, C> {
    /// Stores `fresh` once, through n's arbiter, where the strategy says; answers the
    /// stored record (a rival's when one won the race).
    pub(super) async fn store_once(
        &self,
        order: &[usize],
        fresh: PrimeRecord,
        fallback_reason: Option<String>,
        down: &mut DownNodes,
    ) -> Result<Lookup, ServiceError> {
        let up: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| !down.contains(i))
            .collect();
        let target =
            self.strategy
                .target(&up, self.local, self.turn.fetch_add(1, Ordering::Relaxed));
        self.claim(order, fresh, fallback_reason, down, target)
            .await
    }

    /// The rounds of [`Self::store_once`]: each either stores, reads back a rival's record,
    /// or marks a node down.
    async fn claim(
        &self,
        order: &[usize],
        fresh: PrimeRecord,
        fallback_reason: Option<String>,
        down: &mut DownNodes,
        mut target: usize,
    ) -> Result<Lookup, ServiceError> {
        let key = fresh.key;
        // Each round either stores, reads back a rival's record, or marks a node down.
        for _ in 0..2 * order.len() + 1 {
            // This round's own pointer on the arbiter, once it is there.
            let mut our_pointer = None;
            let Some(arbiter) = order.iter().copied().find(|&i| !down.contains(i)) else {
                break;
            };
            if down.contains(target) {
                target = arbiter;
            }
            // Stored past n's home: leave a hint first, so that n is handed off to the
            // earlier nodes once they answer again.
            if arbiter != order[0] {
                let hint = Hint {
                    n: key.n,
                    hinted_at_ms: crate::clock::now_ms(),
                    holders: vec![self.nodes[target].name.clone()],
                    writes: 0,
                };
                match self
                    .guard(arbiter, self.nodes[arbiter].store.put_hint(hint))
                    .await
                {
                    Ok(()) => {}
                    Err(CallError::Down { .. } | CallError::Busy) => {
                        down.mark(arbiter);
                        continue;
                    }
                    Err(CallError::Failed(e)) => return Err(e.into()),
                }
            }
            let claimed_at = crate::clock::now_ms();
            // The pointer and the record go under one epoch: a reset between them leaves
            // both visible or neither.
            let epoch = self.epoch();
            let claimed = if target == arbiter {
                self.put_counted(arbiter, &fresh, epoch).await
            } else {
                self.claim_with_pointer(key, arbiter, target, (claimed_at, epoch))
                    .await
            };
            match claimed {
                Ok(PutOutcome::Stored) if target == arbiter => {
                    return Ok(self.answer(
                        fresh,
                        arbiter,
                        Source::Computed,
                        down,
                        fallback_reason,
                    ));
                }
                Ok(PutOutcome::Stored) => {
                    our_pointer = Some(claimed_at);
                    match self.put_counted(target, &fresh, epoch).await {
                        Ok(PutOutcome::Stored) => {
                            return Ok(self.answer(
                                fresh,
                                target,
                                Source::Computed,
                                down,
                                fallback_reason,
                            ));
                        }
                        Ok(PutOutcome::AlreadyPresent) => {}
                        // The put never went out: withdraw this claim, and only this one,
                        // so that the record can be stored elsewhere.
                        Err(CallError::Down { sent: false }) => {
                            down.mark(target);
                            self.withdraw(key, arbiter, target, claimed_at, down)
                                .await?;
                            continue;
                        }
                        // The put went out and its answer was lost (or the node turned it
                        // away without saying whether it applied it): the record may be
                        // there. The claim stays, so that n is never stored a second time
                        // unseen; if the record is not there, the claim is a pointer to
                        // nothing, dropped once past the write grace. The prime is
                        // answered, as not confirmed stored.
                        Err(CallError::Down { sent: true } | CallError::Busy) => {
                            down.mark(target);
                            return Err(ServiceError::NoNodeReachable(format!(
                                "n = {} may be stored on {}: its answer was lost",
                                key.n, self.nodes[target].name
                            )));
                        }
                        Err(CallError::Failed(e)) => return Err(e.into()),
                    }
                }
                Ok(PutOutcome::AlreadyPresent) => {}
                Err(CallError::Down { .. } | CallError::Busy) => {
                    down.mark(arbiter);
                    continue;
                }
                Err(CallError::Failed(e)) => return Err(e.into()),
            }
            // Another request claimed n first: answer with its record once it is there.
            match self.resolve_entry(key, arbiter, down).await? {
                Resolved::Found(record, holder) => {
                    // This claim's target had an entry of its own (it was n's arbiter
                    // while this one was down) that leads to the record: this claim now
                    // leads there straight.
                    if let Some(claimed_at) = our_pointer.filter(|_| holder != target) {
                        self.repoint_claim(key, arbiter, (target, claimed_at), holder)
                            .await;
                    }
                    return Ok(self.answer(record, holder, Source::Cache, down, None));
                }
                // Or the claim is a pointer whose record is gone: drop it, and claim again.
                Resolved::Dangling {
                    node,
                    written_at_ms,
                    newest_ms,
                } if self.past_write_grace(newest_ms) => {
                    self.drop_dangling_pointer(key, arbiter, &node, written_at_ms, down)
                        .await?;
                }
                // A write along the way may still be under way: another round reads it
                // again.
                Resolved::Dangling { .. } => {}
                // The rival's entry leads to a node that is down, which may hold the
                // record: another round would meet the same entry, so the prime is
                // answered, not stored here.
                Resolved::Unreachable => {
                    return Err(ServiceError::NoNodeReachable(format!(
                        "n = {} is claimed for a node that is down",
                        key.n
                    )));
                }
                // The rival's entry is gone (evicted), or the arbiter failed the read
                // (it is marked down): claim again.
                Resolved::Missing => {}
            }
        }
        Err(ServiceError::NoNodeReachable(format!(
            "n = {} could not be stored on any node",
            key.n
        )))
    }

    /// Puts this request's pointer to `target` on `arbiter`, written at `claimed_at` under
    /// `epoch` (the two given together), with a token of its own. A pointer found there that is this very one (same node, same
    /// time, same token) is this request's own, landed by an attempt whose answer was lost
    /// and met by the client's retry: it counts as stored, not as a rival's claim. (Node
    /// and time alone are not enough: the simulation found a handoff's pointer written in
    /// the same millisecond, taken for the claim's own.)
    async fn claim_with_pointer(
        &self,
        key: RecordKey,
        arbiter: usize,
        target: usize,
        (claimed_at, epoch): (u64, Epoch),
    ) -> Result<PutOutcome, CallError> {
        let target_name = &self.nodes[target].name;
        let store = &self.nodes[arbiter].store;
        let token = self.claim_token();
        let claimed = self
            .guard(
                arbiter,
                store.put_pointer_if_absent(key, target_name, claimed_at, token, epoch),
            )
            .await?;
        if claimed == PutOutcome::Stored {
            return Ok(claimed);
        }
        let ours = matches!(
            self.guard(arbiter, store.get_entry(key)).await?,
            Some(StoredEntry::Pointer { node, written_at_ms, claim, .. })
                if node == *target_name && written_at_ms == claimed_at && claim == token
        );
        Ok(if ours {
            PutOutcome::Stored
        } else {
            PutOutcome::AlreadyPresent
        })
    }

    /// Moves this request's claim on `arbiter` (its pointer to `from`, written at the
    /// time given) to `to`, in place, if it is still that very pointer. Best effort: a
    /// claim left as it was still leads to the record, through `from`.
    async fn repoint_claim(&self, key: RecordKey, arbiter: usize, from: (usize, u64), to: usize) {
        let moved = self
            .guard(
                arbiter,
                self.nodes[arbiter].store.repoint_pointer(
                    key,
                    &self.nodes[from.0].name,
                    from.1,
                    &self.nodes[to].name,
                    crate::clock::now_ms(),
                ),
            )
            .await;
        if !matches!(moved, Ok(true)) {
            tracing::info!(
                n = key.n,
                "a claim through another node's pointer was left as it was"
            );
        }
    }

    /// Withdraws this request's claim on `arbiter` (its pointer to `target`, written at
    /// `claimed_at`), with a delete conditional on that very pointer: a rival's newer
    /// claim is never removed.
    async fn withdraw(
        &self,
        key: RecordKey,
        arbiter: usize,
        target: usize,
        claimed_at: u64,
        down: &mut DownNodes,
    ) -> Result<(), ServiceError> {
        let withdrawn = self
            .guard(
                arbiter,
                self.nodes[arbiter]
                    .store
                    .drop_pointer(key, &self.nodes[target].name, claimed_at),
            )
            .await;
        match withdrawn {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::info!(n = key.n, "the claim had changed: left in place");
                Ok(())
            }
            Err(CallError::Down { .. } | CallError::Busy) => {
                down.mark(arbiter);
                Ok(())
            }
            Err(CallError::Failed(e)) => Err(e.into()),
        }
    }

    /// Drops n's pointer on node `i` (to `node`, written at `written_at_ms`), which leads
    /// nowhere, once it is older than [`WRITE_GRACE`]. The delete is conditional on the
    /// pointer being unchanged, so a rival's newer claim is never removed.
    async fn drop_dangling_pointer(
        &self,
        key: RecordKey,
        i: usize,
        node: &str,
        written_at_ms: u64,
        down: &mut DownNodes,
    ) -> Result<(), ServiceError> {
        if !self.past_write_grace(written_at_ms) {
            return Ok(());
        }
        match self
            .guard(
                i,
                self.nodes[i].store.drop_pointer(key, node, written_at_ms),
            )
            .await
        {
            Ok(true) => {
                tracing::warn!(n = key.n, node = %self.nodes[i].name, to = %node, "dropped a pointer to a lost record");
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(CallError::Down { .. } | CallError::Busy) => {
                down.mark(i);
                Ok(())
            }
            Err(CallError::Failed(e)) => Err(e.into()),
        }
    }
}

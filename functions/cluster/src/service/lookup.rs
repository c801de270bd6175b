//! Looking n up, and computing and storing it once on a miss: the request path (see the
//! module above for the rules).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use primescaler_core::{
    Computation, ComputeError, Lookup, NodeCounters, PrimeCalculator, PrimeRecord, RecordKey,
    ServiceError, Source, StoredEntry,
};

use super::{
    CallError, ClusterService, DEFAULT_DEADLINE, DownNodes, NodeStore, RECENT_COMPUTATION, Resolved,
};
use crate::clock::Instant;

impl<S: NodeStore, C: PrimeCalculator + Sync> ClusterService<S, C> {
    /// Reads n's entry on node `i`, following a pointer; answers the record and the
    /// index of the node that holds it.
    pub(super) async fn resolve(
        &self,
        key: RecordKey,
        i: usize,
        down: &mut DownNodes,
    ) -> Result<Option<(PrimeRecord, usize)>, ServiceError> {
        Ok(match self.resolve_entry(key, i, down).await? {
            Resolved::Found(record, holder) => Some((record, holder)),
            Resolved::Missing | Resolved::Unreachable | Resolved::Dangling { .. } => None,
        })
    }

    /// Reads n's entry on node `i` and follows its pointer, and the pointer found there if
    /// any (a claim made on a node while an earlier one was down can lead to a node that
    /// was itself an arbiter then), visiting each node once; a node found down is added
    /// to `down`. A way that ends at no record is `Dangling`, naming `i`'s own pointer:
    /// the one a caller on `i` can drop.
    pub(super) async fn resolve_entry(
        &self,
        key: RecordKey,
        i: usize,
        down: &mut DownNodes,
    ) -> Result<Resolved, ServiceError> {
        let mut at = i;
        let mut first: Option<(String, u64)> = None;
        let mut newest_ms = 0;
        let mut visited = vec![i];
        loop {
            let (node, written_at_ms) =
                match self.guard(at, self.nodes[at].store.get_entry(key)).await {
                    Ok(Some(StoredEntry::Record(record))) => {
                        return Ok(Resolved::Found(record, at));
                    }
                    Ok(Some(StoredEntry::Pointer {
                        node,
                        written_at_ms,
                        ..
                    })) => (node, written_at_ms),
                    Ok(None) => break,
                    // A node the way leads to (not the one read first) is down.
                    Err(CallError::Down { .. }) if at != i => {
                        down.mark(at);
                        return Ok(Resolved::Unreachable);
                    }
                    Err(CallError::Down { .. } | CallError::Busy) => {
                        down.mark(at);
                        return Ok(Resolved::Missing);
                    }
                    Err(CallError::Failed(e)) => return Err(e.into()),
                };
            let next = self.index_of(&node);
            newest_ms = newest_ms.max(written_at_ms);
            let first = first.get_or_insert((node, written_at_ms));
            match next {
                Some(j) if !visited.contains(&j) => {
                    visited.push(j);
                    at = j;
                }
                // An unknown node, or a way back to a node already read.
                _ => {
                    let (node, written_at_ms) = first.clone();
                    return Ok(Resolved::Dangling {
                        node,
                        written_at_ms,
                        newest_ms,
                    });
                }
            }
        }
        Ok(match first {
            None => Resolved::Missing,
            Some((node, written_at_ms)) => Resolved::Dangling {
                node,
                written_at_ms,
                newest_ms,
            },
        })
    }

    /// The answer for `record`, held by node `holder`, counted on that node.
    pub(super) fn answer(
        &self,
        record: PrimeRecord,
        holder: usize,
        source: Source,
        down: &DownNodes,
        fallback_reason: Option<String>,
    ) -> Lookup {
        let failed_over = !down.is_empty();
        self.count(
            holder,
            NodeCounters {
                requests: 1,
                hits: u64::from(source == Source::Cache),
                misses: u64::from(source == Source::Computed),
                fallbacks: u64::from(fallback_reason.is_some()),
                failovers: u64::from(failed_over),
                cold_starts: 0,
            },
        );
        Lookup {
            record,
            source,
            node: Some(self.nodes[holder].name.clone()),
            fallback_reason,
            failovers: down.len() as u32,
        }
    }

    /// Reads n's entry on its arbiter (the first node of `order` that is up), following a
    /// pointer; `None` is a miss.
    async fn find(
        &self,
        key: RecordKey,
        order: &[usize],
        down: &mut DownNodes,
    ) -> Result<Option<(PrimeRecord, usize)>, ServiceError> {
        for &i in order {
            if down.contains(i) {
                continue;
            }
            let found = self.resolve(key, i, down).await?;
            if found.is_some() || !down.contains(i) {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Reads n on its arbiter, then, while a membership change is moving n's shard, on
    /// its arbiter in the `previous` order: where it was before the change.
    async fn find_moving(
        &self,
        key: RecordKey,
        order: &[usize],
        previous: Option<&[usize]>,
        down: &mut DownNodes,
    ) -> Result<Option<(PrimeRecord, usize)>, ServiceError> {
        let found = self.find(key, order, down).await?;
        match previous {
            Some(previous) if found.is_none() => self.find(key, previous, down).await,
            _ => Ok(found),
        }
    }

    /// The nth prime: found through its arbiter, or computed and stored once where the
    /// strategy says, failing over past nodes that are down.
    pub async fn get_or_compute(&self, n: u64) -> Result<Lookup, ServiceError> {
        self.get_or_compute_by(n, Instant::now() + DEFAULT_DEADLINE)
            .await
    }

    /// As [`Self::get_or_compute`], answered by `deadline`, which every node call of the
    /// request shares: the lookup may take a third of the time left (past it, n is taken
    /// for a miss), and storing the rest (past it, the prime is answered as not stored).
    /// The calculators' own budgets fit inside (the configuration checks it). A write
    /// cut off by the deadline may have landed: hints and pointers written before their
    /// record are then settled by their write grace, as for a lost answer.
    pub async fn get_or_compute_by(
        &self,
        n: u64,
        deadline: Instant,
    ) -> Result<Lookup, ServiceError> {
        let read_by = Instant::now() + deadline.saturating_duration_since(Instant::now()) / 3;
        // (Within the lookup's share: a node that does not answer holds no request.)
        let _ = tokio::time::timeout_at(read_by, self.ensure_fresh_membership()).await;
        let key = RecordKey::for_index(n);
        let layout = self.layout();
        let order = layout.order(key.shard);
        let previous = layout.previous_order(key.shard);
        let mut down = DownNodes::default();
        // While n may still be at its old home, it is read before it is claimed.
        if previous.is_some() || !self.writes_first(n) {
            let find = self.find_moving(key, &order, previous.as_deref(), &mut down);
            let found = tokio::time::timeout_at(read_by, find)
                .await
                .unwrap_or_else(|_| {
                    tracing::warn!(n, "the lookup ran out of its share of the deadline");
                    Ok(None)
                })?;
            if let Some((record, holder)) = found {
                self.miss_streak.store(0, Ordering::Relaxed);
                let lookup = self.answer(record, holder, Source::Cache, &down, None);
                return Ok(lookup);
            }
        }

        let computation = self.compute_once(n).await?;
        let fallback_reason = computation.fallback_reason.clone();
        let fresh = PrimeRecord::new(n, computation, crate::clock::now_ms());
        let stored = if order.iter().all(|&i| down.contains(i)) {
            Err(ServiceError::NoNodeReachable(format!(
                "all {} nodes are down",
                order.len()
            )))
        } else {
            tokio::time::timeout_at(
                deadline,
                self.store_once(&order, fresh.clone(), fallback_reason.clone(), &mut down),
            )
            .await
            .unwrap_or_else(|_| {
                Err(ServiceError::NoNodeReachable(
                    "the request's deadline passed before n was stored".into(),
                ))
            })
        };
        let lookup = match stored {
            Ok(lookup) => lookup,
            // The prime is right whether or not it could be stored: answer it, and say so.
            Err(ServiceError::NoNodeReachable(why)) => {
                tracing::warn!(n, reason = %why, "computed and answered, not stored");
                return Ok(Lookup {
                    record: fresh,
                    source: Source::Computed,
                    node: None,
                    fallback_reason,
                    failovers: down.len() as u32,
                });
            }
            Err(e) => return Err(e),
        };
        match lookup.source {
            Source::Computed => {
                let _ =
                    self.miss_streak
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |streak| {
                            Some(streak.saturating_add(1))
                        });
            }
            Source::Cache => self.miss_streak.store(0, Ordering::Relaxed),
        }
        Ok(lookup)
    }

    /// Computes n once for all the requests of this instance that miss it at about the
    /// same time: the first runs the calculator, the others wait for its answer, and
    /// requests that missed n just before it was stored reuse the answer.
    async fn compute_once(&self, n: u64) -> Result<Computation, ComputeError> {
        let cell = {
            let mut recent = self.in_flight.lock().expect("in-flight lock");
            // Keep what is recent or still awaited; drop the rest.
            recent.retain(|_, (since, cell)| {
                since.elapsed() < RECENT_COMPUTATION || Arc::strong_count(cell) > 1
            });
            let (_, cell) = recent
                .entry(n)
                .or_insert_with(|| (Instant::now(), Arc::default()));
            Arc::clone(cell)
        };
        cell.get_or_try_init(|| self.calculator.compute(n))
            .await
            .cloned()
    }
}

//! The get-or-compute rules across the nodes.
//!
//! One request for n:
//! 1. reads n's key on each node in the shard's order (home first), following a
//!    pointer to the node that holds the record, and skipping nodes that are down;
//! 2. on a miss everywhere, computes the prime;
//! 3. stores it once: the first node of the order that is up arbitrates n. When the
//!    strategy's target is the arbiter, the record is written there conditionally;
//!    otherwise a pointer to the target is written there conditionally, then the record
//!    on the target. A lost race reads back the winner's record.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::join_all;
use primescaler_core::{
    AddCounters, ClearRecords, Computation, ComputeError, CountRecords, EvictRecord, GetRecord,
    Lookup, NodeCounters, PrimeCalculator, PrimeRecord, PutOutcome, PutPointerIfAbsent,
    PutRecordIfAbsent, ReadCounters, RecordKey, ScanRecords, ServiceError, Source, StoreError,
    StoredEntry,
};

use crate::breaker::{Breaker, BreakerState};
use crate::placement::Ring;
use crate::strategy::Strategy;

/// Every storage operation a node offers.
pub trait NodeStore:
    GetRecord
    + PutRecordIfAbsent
    + PutPointerIfAbsent
    + EvictRecord
    + ScanRecords
    + ClearRecords
    + CountRecords
    + AddCounters
    + ReadCounters
    + Sync
{
}

impl<T> NodeStore for T where
    T: GetRecord
        + PutRecordIfAbsent
        + PutPointerIfAbsent
        + EvictRecord
        + ScanRecords
        + ClearRecords
        + CountRecords
        + AddCounters
        + ReadCounters
        + Sync
{
}

/// One computation, shared by the requests that wait for it.
type SharedComputation = Arc<tokio::sync::OnceCell<Computation>>;

/// How long a finished computation is kept for requests that missed n before it was
/// stored.
const RECENT_COMPUTATION: Duration = Duration::from_secs(10);

/// How often buffered counters are written to the nodes.
const COUNTER_FLUSH_EVERY: Duration = Duration::from_secs(1);

/// One node: its name (region), its store and its breaker.
pub struct Node<S> {
    /// The node's name: its region.
    pub name: String,
    /// The node's table.
    pub store: S,
    /// Whether calls to the node go through.
    pub breaker: Breaker,
}

/// Where a cluster-wide scan resumes: a node, and the key after which its next page
/// starts (`None`: the node's first page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterCursor {
    /// The index of the node being read.
    pub node: usize,
    /// The last key read on it.
    pub after: Option<RecordKey>,
}

/// One page of a cluster-wide scan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterPage {
    /// The records, each with the name of the node that holds it.
    pub records: Vec<(PrimeRecord, String)>,
    /// Where the next page starts, or `None` after the last node's last page.
    pub next: Option<ClusterCursor>,
    /// Nodes this page had to skip because they were down.
    pub unreachable: Vec<String>,
}

/// What `DELETE /cache` did on each node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClearReport {
    /// Records removed, over all cleared nodes.
    pub removed: u64,
    /// Nodes cleared.
    pub cleared: Vec<String>,
    /// Nodes that could not be reached (their records remain).
    pub unreachable: Vec<String>,
}

/// One node's figures for `GET /nodes` and `GET /stats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    /// The node's name.
    pub name: String,
    /// Whether the node answered just now.
    pub up: bool,
    /// Its breaker in this function instance.
    pub breaker: BreakerState,
    /// Records it holds, when it answered.
    pub items: Option<u64>,
    /// Its cluster-wide counters, when it answered.
    pub counters: Option<NodeCounters>,
}

enum CallError {
    /// The node is down (breaker open, unreachable or timed out).
    Down,
    /// The node answered with a failure that is not about reachability.
    Failed(StoreError),
}

struct PendingCounters {
    deltas: Vec<NodeCounters>,
    last_flush: Instant,
}

/// PrimeScaler's use cases over every node and a calculator.
pub struct ClusterService<S, C> {
    nodes: Vec<Node<S>>,
    placement: Ring,
    strategy: Strategy,
    local: usize,
    calculator: C,
    turn: AtomicUsize,
    pending: Mutex<PendingCounters>,
    /// Computations of this instance, under way or just done, shared by the requests
    /// for one n that missed it at about the same time; kept for [`RECENT_COMPUTATION`].
    in_flight: Mutex<HashMap<u64, (Instant, SharedComputation)>>,
}

impl<S, C> ClusterService<S, C> {
    /// A service over `nodes` (`local` indexes the one beside this function).
    ///
    /// # Panics
    /// When `nodes` is empty or `local` is out of range.
    pub fn new(nodes: Vec<Node<S>>, strategy: Strategy, local: usize, calculator: C) -> Self {
        assert!(local < nodes.len(), "the local node is one of the nodes");
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        Self {
            placement: Ring::new(&names),
            pending: Mutex::new(PendingCounters {
                deltas: vec![NodeCounters::default(); nodes.len()],
                last_flush: Instant::now(),
            }),
            nodes,
            strategy,
            local,
            calculator,
            turn: AtomicUsize::new(0),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// The nodes, in configuration order.
    pub fn nodes(&self) -> &[Node<S>] {
        &self.nodes
    }

    /// The placement of shards on the nodes.
    pub fn placement(&self) -> &Ring {
        &self.placement
    }

    /// The strategy for new records.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The local node's name.
    pub fn local_name(&self) -> &str {
        &self.nodes[self.local].name
    }

    /// The calculator.
    pub fn calculator(&self) -> &C {
        &self.calculator
    }

    /// The index of the node named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Runs `call` on node `i` unless its breaker is open, and tells the breaker how
    /// it went.
    async fn guard<T>(
        &self,
        i: usize,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, CallError> {
        let node = &self.nodes[i];
        if !node.breaker.allow() {
            return Err(CallError::Down);
        }
        match call.await {
            Ok(value) => {
                node.breaker.record_success();
                Ok(value)
            }
            Err(StoreError::Unavailable(why)) => {
                tracing::warn!(node = %node.name, reason = %why, "node is down");
                node.breaker.record_failure();
                Err(CallError::Down)
            }
            Err(failed) => {
                node.breaker.record_success();
                Err(CallError::Failed(failed))
            }
        }
    }

    fn count(&self, node: usize, delta: NodeCounters) {
        self.pending.lock().expect("counter lock").deltas[node].add(&delta);
    }

    /// Counts a function instance's cold start on the local node (written with the
    /// other buffered counters).
    pub fn count_cold_start(&self) {
        self.count(
            self.local,
            NodeCounters {
                cold_starts: 1,
                ..NodeCounters::default()
            },
        );
    }
}

impl<S: NodeStore, C: PrimeCalculator + Sync> ClusterService<S, C> {
    /// Reads n's entry on node `i`, following a pointer; answers the record and the
    /// index of the node that holds it.
    async fn resolve(
        &self,
        key: RecordKey,
        i: usize,
        down: &mut Vec<usize>,
    ) -> Result<Option<(PrimeRecord, usize)>, ServiceError> {
        match self.guard(i, self.nodes[i].store.get_entry(key)).await {
            Ok(Some(StoredEntry::Record(record))) => Ok(Some((record, i))),
            Ok(Some(StoredEntry::Pointer { node, .. })) => {
                let Some(j) = self.index_of(&node) else {
                    return Ok(None);
                };
                match self.guard(j, self.nodes[j].store.get_entry(key)).await {
                    Ok(Some(StoredEntry::Record(record))) => Ok(Some((record, j))),
                    Ok(_) => Ok(None),
                    Err(CallError::Down) => {
                        down.push(j);
                        Ok(None)
                    }
                    Err(CallError::Failed(e)) => Err(e.into()),
                }
            }
            Ok(None) => Ok(None),
            Err(CallError::Down) => {
                down.push(i);
                Ok(None)
            }
            Err(CallError::Failed(e)) => Err(e.into()),
        }
    }

    fn answer(
        &self,
        record: PrimeRecord,
        holder: usize,
        source: Source,
        down: &[usize],
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
            node: self.nodes[holder].name.clone(),
            fallback_reason,
            failovers: down.len() as u32,
        }
    }

    /// The nth prime: found on whichever node holds it, or computed and stored once,
    /// where the strategy says, failing over past nodes that are down.
    pub async fn get_or_compute(&self, n: u64) -> Result<Lookup, ServiceError> {
        let key = RecordKey::for_index(n);
        let order = self.placement.order(key.shard);
        let mut down: Vec<usize> = Vec::new();
        for &i in &order {
            if down.contains(&i) {
                continue;
            }
            if let Some((record, holder)) = self.resolve(key, i, &mut down).await? {
                let lookup = self.answer(record, holder, Source::Cache, &down, None);
                self.flush_counters_if_due().await;
                return Ok(lookup);
            }
        }
        if order.iter().all(|i| down.contains(i)) {
            return Err(ServiceError::NoNodeReachable(format!(
                "all {} nodes are down",
                order.len()
            )));
        }

        let computation = self.compute_once(n).await?;
        let fallback_reason = computation.fallback_reason.clone();
        let fresh = PrimeRecord::new(n, computation, primescaler_core::record::now_ms());
        let lookup = self
            .store_once(key, &order, fresh, fallback_reason, &mut down)
            .await?;
        self.flush_counters_if_due().await;
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

    async fn store_once(
        &self,
        key: RecordKey,
        order: &[usize],
        fresh: PrimeRecord,
        fallback_reason: Option<String>,
        down: &mut Vec<usize>,
    ) -> Result<Lookup, ServiceError> {
        let up: Vec<usize> = order
            .iter()
            .copied()
            .filter(|i| !down.contains(i))
            .collect();
        let mut target =
            self.strategy
                .target(&up, self.local, self.turn.fetch_add(1, Ordering::Relaxed));
        // Each round either stores, reads back a rival's record, or marks a node down.
        for _ in 0..2 * order.len() + 1 {
            let Some(arbiter) = order.iter().copied().find(|i| !down.contains(i)) else {
                break;
            };
            if down.contains(&target) {
                target = arbiter;
            }
            let claimed = if target == arbiter {
                self.guard(
                    arbiter,
                    self.nodes[arbiter].store.put_record_if_absent(&fresh),
                )
                .await
            } else {
                let target_name = &self.nodes[target].name;
                self.guard(
                    arbiter,
                    self.nodes[arbiter]
                        .store
                        .put_pointer_if_absent(key, target_name),
                )
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
                    match self
                        .guard(
                            target,
                            self.nodes[target].store.put_record_if_absent(&fresh),
                        )
                        .await
                    {
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
                        Err(CallError::Down) => {
                            down.push(target);
                            // Withdraw the claim so that the record can be stored elsewhere.
                            let _ = self
                                .guard(arbiter, self.nodes[arbiter].store.evict_record(key))
                                .await;
                            continue;
                        }
                        Err(CallError::Failed(e)) => return Err(e.into()),
                    }
                }
                Ok(PutOutcome::AlreadyPresent) => {}
                Err(CallError::Down) => {
                    down.push(arbiter);
                    continue;
                }
                Err(CallError::Failed(e)) => return Err(e.into()),
            }
            // Another request claimed n first: answer with its record once it is there.
            if let Some((record, holder)) = self.resolve(key, arbiter, down).await? {
                return Ok(self.answer(record, holder, Source::Cache, down, None));
            }
        }
        Err(ServiceError::NoNodeReachable(format!(
            "n = {} could not be stored on any node",
            key.n
        )))
    }

    /// Removes n from every node that is up; answers the node that held its record.
    pub async fn evict(&self, n: u64) -> Result<Option<String>, ServiceError> {
        let key = RecordKey::for_index(n);
        let results = join_all(
            (0..self.nodes.len()).map(|i| self.guard(i, self.nodes[i].store.evict_record(key))),
        )
        .await;
        let mut holder = None;
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(true) => holder = Some(self.nodes[i].name.clone()),
                Ok(false) | Err(CallError::Down) => {}
                Err(CallError::Failed(e)) => return Err(e.into()),
            }
        }
        Ok(holder)
    }

    /// One page of the cluster-wide scan: records from the cursor's node on, skipping
    /// nodes that are down.
    pub async fn scan(
        &self,
        cursor: Option<ClusterCursor>,
        limit: u32,
    ) -> Result<ClusterPage, ServiceError> {
        let mut cursor = cursor.unwrap_or(ClusterCursor {
            node: 0,
            after: None,
        });
        let mut page = ClusterPage::default();
        while cursor.node < self.nodes.len() {
            let node = &self.nodes[cursor.node];
            match self
                .guard(cursor.node, node.store.scan_records(cursor.after, limit))
                .await
            {
                Ok(found) => {
                    page.records
                        .extend(found.records.into_iter().map(|r| (r, node.name.clone())));
                    page.next = match found.next {
                        Some(after) => Some(ClusterCursor {
                            node: cursor.node,
                            after: Some(after),
                        }),
                        None if cursor.node + 1 < self.nodes.len() => Some(ClusterCursor {
                            node: cursor.node + 1,
                            after: None,
                        }),
                        None => None,
                    };
                    return Ok(page);
                }
                Err(CallError::Down) => {
                    page.unreachable.push(node.name.clone());
                    cursor = ClusterCursor {
                        node: cursor.node + 1,
                        after: None,
                    };
                }
                Err(CallError::Failed(e)) => return Err(e.into()),
            }
        }
        Ok(page)
    }

    /// Clears every node that is up, at once.
    pub async fn clear(&self) -> Result<ClearReport, ServiceError> {
        let results = join_all(
            (0..self.nodes.len()).map(|i| self.guard(i, self.nodes[i].store.clear_records())),
        )
        .await;
        let mut report = ClearReport::default();
        for (i, result) in results.into_iter().enumerate() {
            let name = self.nodes[i].name.clone();
            match result {
                Ok(removed) => {
                    report.removed += removed;
                    report.cleared.push(name);
                }
                Err(CallError::Down) => report.unreachable.push(name),
                Err(CallError::Failed(e)) => return Err(e.into()),
            }
        }
        Ok(report)
    }

    /// Every node's figures: items, cluster-wide counters and health. Buffered counters
    /// are written first, so that they include this instance's latest requests.
    pub async fn node_reports(&self) -> Vec<NodeReport> {
        self.flush_counters().await;
        join_all(self.nodes.iter().enumerate().map(|(i, node)| async move {
            let items = self.guard(i, node.store.count_records()).await.ok();
            let counters = match items {
                Some(_) => self.guard(i, node.store.read_counters()).await.ok(),
                None => None,
            };
            NodeReport {
                name: node.name.clone(),
                up: items.is_some() && counters.is_some(),
                breaker: node.breaker.state(),
                items,
                counters,
            }
        }))
        .await
    }

    async fn flush_counters_if_due(&self) {
        let due = self
            .pending
            .lock()
            .expect("counter lock")
            .last_flush
            .elapsed()
            >= COUNTER_FLUSH_EVERY;
        if due {
            self.flush_counters().await;
        }
    }

    /// Writes the buffered counters to their nodes; deltas for a node that is down are
    /// kept for the next flush.
    pub async fn flush_counters(&self) {
        let deltas = {
            let mut pending = self.pending.lock().expect("counter lock");
            pending.last_flush = Instant::now();
            std::mem::replace(
                &mut pending.deltas,
                vec![NodeCounters::default(); self.nodes.len()],
            )
        };
        let results = join_all(deltas.iter().enumerate().map(|(i, delta)| async move {
            if delta.is_zero() {
                return true;
            }
            self.guard(i, self.nodes[i].store.add_counters(delta))
                .await
                .is_ok()
        }))
        .await;
        for (i, written) in results.into_iter().enumerate() {
            if !written {
                self.count(i, deltas[i]);
            }
        }
    }
}

//! The get-or-compute rules across the nodes.
//!
//! One request for n:
//! 1. reads n's key on its arbiter: the first node of the shard's order (home first)
//!    that is up, following a pointer to the node that holds the record. A node found
//!    down is skipped for the next; an answer of "nothing here" is a miss;
//! 2. on a miss, computes the prime;
//! 3. stores it once, through the arbiter. When the strategy's target is the arbiter,
//!    the record is written there conditionally; otherwise a pointer to the target is
//!    written there conditionally, then the record on the target. A lost race reads
//!    back the winner's record; a claim that turns out to be a pointer to a lost record
//!    (older than [`WRITE_GRACE`], its node up and empty of n) is dropped, and n is
//!    claimed again.
//!
//! Reading the arbiter alone is enough because the arbiter always holds an entry for a
//! stored n, with one exception: while n's earlier nodes are down, n is stored past
//! them. The arbiter then also keeps a *hint*, and once those nodes answer again a
//! handoff pass (after a breaker closes, at an instance's first request, and every
//! [`HANDOFF_EVERY`]) writes a pointer on each of them. A request that reaches such a
//! node before its handoff stores n there a second time; the pass then removes the
//! hinted copy, so n ends up stored once.
//!
//! While an instance's lookups keep missing (a cache being filled, as after a reset),
//! it skips step 1 for cheap n and goes straight to the conditional put, which reads
//! back the stored record when there is one: one DynamoDB call per n instead of two.
//! The first hit ends this.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::join_all;
use futures::stream::{self, StreamExt};
use primescaler_core::{
    AddCounters, ClearRecords, Computation, ComputeError, CountChange, DropHint, DropPointer,
    EvictRecord, GetRecord, Hint, ListHints, Lookup, NodeCounters, PrimeCalculator, PrimeRecord,
    PutHint, PutOutcome, PutPointerIfAbsent, PutRecordIfAbsent, ReadCounters, RecordKey,
    ScanRecords, ServiceError, Source, StoreError, StoredEntry, in_grid,
};

mod counting;

use crate::breaker::{Breaker, BreakerState, Trip};
use crate::placement::Ring;
use crate::strategy::Strategy;

/// Every storage operation a node offers.
pub trait NodeStore:
    GetRecord
    + PutRecordIfAbsent
    + PutPointerIfAbsent
    + DropPointer
    + EvictRecord
    + ScanRecords
    + ClearRecords
    + CountChange
    + AddCounters
    + ReadCounters
    + PutHint
    + ListHints
    + DropHint
    + Sync
{
}

impl<T> NodeStore for T where
    T: GetRecord
        + PutRecordIfAbsent
        + PutPointerIfAbsent
        + DropPointer
        + EvictRecord
        + ScanRecords
        + ClearRecords
        + CountChange
        + AddCounters
        + ReadCounters
        + PutHint
        + ListHints
        + DropHint
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

/// How often an instance runs a handoff pass even when no breaker has closed: hints left
/// by instances that are gone are handed off within this time.
pub const HANDOFF_EVERY: Duration = Duration::from_secs(30);

/// How many hints one handoff pass reads from each node: a pass runs after a request,
/// so it does a little at a time, and the next request carries on.
const HANDOFF_BATCH: u32 = 32;

/// How many hints a pass hands off at once.
const HANDOFF_PARALLEL: usize = 8;

/// Hints and pointers are written before the entry they announce, so one with nothing
/// behind it is taken for lost (never written, evicted, or gone with a node that came
/// back empty) only once it is older than this: far longer than any request's writes
/// take. A younger one may be a write under way.
pub const WRITE_GRACE: Duration = Duration::from_secs(60);

/// Whether something written at `written_at_ms` is older than [`WRITE_GRACE`].
fn past_write_grace(written_at_ms: u64) -> bool {
    primescaler_core::record::now_ms().saturating_sub(written_at_ms)
        >= WRITE_GRACE.as_millis() as u64
}

/// Misses in a row after which an instance computes a cheap n before reading it.
pub const WRITE_FIRST_AFTER: u32 = 8;

/// The largest n computed before its read while misses run in a row: computing p(10^6)
/// takes 0.27 ms (docs/benchmarks.md), less than one DynamoDB round trip, so a wasted
/// computation costs less than the read it saves.
pub const WRITE_FIRST_MAX_N: u64 = 1_000_000;

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
    /// Records it holds, as counted where they are stored and removed, when it answered.
    pub items: Option<u64>,
    /// Its cluster-wide counters, when it answered.
    pub counters: Option<NodeCounters>,
    /// How often this instance found it down, and the last failure.
    pub trips: (u64, Option<Trip>),
}

/// Sets a flag back to false when dropped.
struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// What became of one hint.
enum Handoff {
    /// Every earlier node leads to n's record; the hint is gone.
    Settled,
    /// An earlier node had its own copy; the hinted one and the hint are gone.
    DoubleRemoved,
    /// An earlier node is down or leads nowhere: the hint stays.
    Kept,
    /// The write the hint announces is not there yet: the hint stays, and the next
    /// request runs another pass.
    Awaited,
}

/// What n's entry on one node leads to.
enum Resolved {
    /// The record, and the node that holds it.
    Found(PrimeRecord, usize),
    /// Nothing to answer: no entry, or the way to the record passes a node that is down.
    Missing,
    /// A pointer (to `node`, written at `written_at_ms`) whose node is unknown, or is up
    /// and holds nothing for n.
    Dangling { node: String, written_at_ms: u64 },
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
    /// This instance's lookups that missed in a row (a hit sets it back to zero).
    miss_streak: AtomicU32,
    /// Whether a handoff pass should run after the current request (set at the start,
    /// and when a node that was down answers again).
    handoff_due: AtomicBool,
    /// Whether a handoff pass is running in this instance.
    handoff_running: AtomicBool,
    /// When the last handoff pass started.
    last_handoff: Mutex<Instant>,
}

/// What one handoff pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HandoffReport {
    /// Hints settled: every node before the hint's holder now leads to n's record.
    pub handed_off: usize,
    /// Hinted copies removed because an earlier node had stored n itself meanwhile.
    pub doubles_removed: usize,
    /// Hints kept for a later pass (a node before the holder is still down).
    pub kept: usize,
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
            miss_streak: AtomicU32::new(0),
            handoff_due: AtomicBool::new(true),
            handoff_running: AtomicBool::new(false),
            last_handoff: Mutex::new(Instant::now()),
        }
    }

    /// Whether this instance would compute n before reading it: after
    /// [`WRITE_FIRST_AFTER`] misses in a row, for n up to [`WRITE_FIRST_MAX_N`].
    pub fn writes_first(&self, n: u64) -> bool {
        n <= WRITE_FIRST_MAX_N && self.miss_streak.load(Ordering::Relaxed) >= WRITE_FIRST_AFTER
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
        // A call let through a breaker that is not closed probes a node that was down.
        let probe = node.breaker.state() != BreakerState::Closed;
        let answered = |breaker: &Breaker| {
            breaker.record_success();
            if probe {
                self.handoff_due.store(true, Ordering::Relaxed);
            }
        };
        match call.await {
            Ok(value) => {
                answered(&node.breaker);
                Ok(value)
            }
            Err(StoreError::Unavailable(why)) => {
                tracing::warn!(node = %node.name, reason = %why, "node is down");
                node.breaker.record_failure(why);
                Err(CallError::Down)
            }
            Err(failed) => {
                answered(&node.breaker);
                Err(CallError::Failed(failed))
            }
        }
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
        Ok(match self.resolve_entry(key, i, down).await? {
            Resolved::Found(record, holder) => Some((record, holder)),
            Resolved::Missing | Resolved::Dangling { .. } => None,
        })
    }

    /// Reads n's entry on node `i` and follows a pointer; a node found down is added to
    /// `down`.
    async fn resolve_entry(
        &self,
        key: RecordKey,
        i: usize,
        down: &mut Vec<usize>,
    ) -> Result<Resolved, ServiceError> {
        let (node, written_at_ms) = match self.guard(i, self.nodes[i].store.get_entry(key)).await {
            Ok(Some(StoredEntry::Record(record))) => return Ok(Resolved::Found(record, i)),
            Ok(Some(StoredEntry::Pointer {
                node,
                written_at_ms,
                ..
            })) => (node, written_at_ms),
            Ok(None) => return Ok(Resolved::Missing),
            Err(CallError::Down) => {
                down.push(i);
                return Ok(Resolved::Missing);
            }
            Err(CallError::Failed(e)) => return Err(e.into()),
        };
        let Some(j) = self.index_of(&node) else {
            return Ok(Resolved::Dangling {
                node,
                written_at_ms,
            });
        };
        match self.guard(j, self.nodes[j].store.get_entry(key)).await {
            Ok(Some(StoredEntry::Record(record))) => Ok(Resolved::Found(record, j)),
            Ok(Some(StoredEntry::Pointer { .. })) => Ok(Resolved::Missing),
            Ok(None) => Ok(Resolved::Dangling {
                node,
                written_at_ms,
            }),
            Err(CallError::Down) => {
                down.push(j);
                Ok(Resolved::Missing)
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
        down: &mut Vec<usize>,
    ) -> Result<Option<(PrimeRecord, usize)>, ServiceError> {
        for &i in order {
            if down.contains(&i) {
                continue;
            }
            let found = self.resolve(key, i, down).await?;
            if found.is_some() || !down.contains(&i) {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// The nth prime: found through its arbiter, or computed and stored once where the
    /// strategy says, failing over past nodes that are down.
    pub async fn get_or_compute(&self, n: u64) -> Result<Lookup, ServiceError> {
        let key = RecordKey::for_index(n);
        let order = self.placement.order(key.shard);
        let mut down: Vec<usize> = Vec::new();
        if !self.writes_first(n)
            && let Some((record, holder)) = self.find(key, &order, &mut down).await?
        {
            self.miss_streak.store(0, Ordering::Relaxed);
            let lookup = self.answer(record, holder, Source::Cache, &down, None);
            self.after_request().await;
            return Ok(lookup);
        }

        let computation = self.compute_once(n).await?;
        let fallback_reason = computation.fallback_reason.clone();
        let fresh = PrimeRecord::new(n, computation, primescaler_core::record::now_ms());
        let stored = if order.iter().all(|i| down.contains(i)) {
            Err(ServiceError::NoNodeReachable(format!(
                "all {} nodes are down",
                order.len()
            )))
        } else {
            self.store_once(&order, fresh.clone(), fallback_reason.clone(), &mut down)
                .await
        };
        let lookup = match stored {
            Ok(lookup) => lookup,
            // The prime is right whether or not it could be stored: answer it, and say so.
            Err(ServiceError::NoNodeReachable(why)) => {
                tracing::warn!(n, reason = %why, "computed and answered, not stored");
                self.after_request().await;
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
        self.after_request().await;
        Ok(lookup)
    }

    /// The upkeep after a request: buffered counters and handoff, each when due.
    async fn after_request(&self) {
        self.flush_counters_if_due().await;
        self.hand_off_if_due().await;
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

    /// Stores `fresh` once, through n's arbiter, where the strategy says; answers the
    /// stored record (a rival's when one won the race).
    async fn store_once(
        &self,
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
        let target =
            self.strategy
                .target(&up, self.local, self.turn.fetch_add(1, Ordering::Relaxed));
        let mut hinted = None;
        let lookup = self
            .claim(order, fresh, fallback_reason, down, target, &mut hinted)
            .await;
        // A request that chose its arbiter before an earlier node came back may leave its
        // hint after this instance's handoff pass has run: run another.
        if let Some(arbiter) = hinted {
            let back = order
                .iter()
                .take_while(|&&i| i != arbiter)
                .any(|&i| self.nodes[i].breaker.state() == BreakerState::Closed);
            if back {
                self.handoff_due.store(true, Ordering::Relaxed);
            }
        }
        lookup
    }

    /// The rounds of [`Self::store_once`]: each either stores, reads back a rival's record,
    /// or marks a node down. `hinted` is set to the node that took a hint, if any.
    async fn claim(
        &self,
        order: &[usize],
        fresh: PrimeRecord,
        fallback_reason: Option<String>,
        down: &mut Vec<usize>,
        mut target: usize,
        hinted: &mut Option<usize>,
    ) -> Result<Lookup, ServiceError> {
        let key = fresh.key;
        // Each round either stores, reads back a rival's record, or marks a node down.
        for _ in 0..2 * order.len() + 1 {
            let Some(arbiter) = order.iter().copied().find(|i| !down.contains(i)) else {
                break;
            };
            if down.contains(&target) {
                target = arbiter;
            }
            // Stored past n's home: leave a hint first, so that n is handed off to the
            // earlier nodes once they answer again.
            if arbiter != order[0] {
                let hint = Hint {
                    n: key.n,
                    hinted_at_ms: primescaler_core::record::now_ms(),
                };
                match self
                    .guard(arbiter, self.nodes[arbiter].store.put_hint(hint))
                    .await
                {
                    Ok(()) => *hinted = Some(arbiter),
                    Err(CallError::Down) => {
                        down.push(arbiter);
                        continue;
                    }
                    Err(CallError::Failed(e)) => return Err(e.into()),
                }
            }
            let claimed = if target == arbiter {
                self.put_counted(arbiter, &fresh).await
            } else {
                let target_name = &self.nodes[target].name;
                self.guard(
                    arbiter,
                    self.nodes[arbiter].store.put_pointer_if_absent(
                        key,
                        target_name,
                        primescaler_core::record::now_ms(),
                    ),
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
                    match self.put_counted(target, &fresh).await {
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
            match self.resolve_entry(key, arbiter, down).await? {
                Resolved::Found(record, holder) => {
                    return Ok(self.answer(record, holder, Source::Cache, down, None));
                }
                // Or the claim is a pointer whose record is gone: drop it, and claim again.
                Resolved::Dangling {
                    node,
                    written_at_ms,
                } => {
                    self.drop_dangling_pointer(key, arbiter, &node, written_at_ms, down)
                        .await?;
                }
                Resolved::Missing => {}
            }
        }
        Err(ServiceError::NoNodeReachable(format!(
            "n = {} could not be stored on any node",
            key.n
        )))
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
        down: &mut Vec<usize>,
    ) -> Result<(), ServiceError> {
        if !past_write_grace(written_at_ms) {
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
            Err(CallError::Down) => {
                down.push(i);
                Ok(())
            }
            Err(CallError::Failed(e)) => Err(e.into()),
        }
    }

    /// Removes n from every node that is up; answers the node that held its record.
    pub async fn evict(&self, n: u64) -> Result<Option<String>, ServiceError> {
        let key = RecordKey::for_index(n);
        let results = join_all(
            (0..self.nodes.len()).map(|i| self.guard(i, self.nodes[i].store.evict_record(key))),
        )
        .await;
        // Every node that evicted n is counted before any failure is answered.
        let mut holder = None;
        let mut failure = None;
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(true) => {
                    self.count_removed(i, 1, in_grid(n)).await;
                    holder = Some(self.nodes[i].name.clone());
                }
                Ok(false) | Err(CallError::Down) => {}
                Err(CallError::Failed(e)) => failure = failure.or(Some(e)),
            }
        }
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(holder),
        }
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
        // Every node is counted as cleared, even one whose clear failed part of the way
        // (its count starts again from zero and viewers read its grid again), before any
        // failure is answered.
        let mut report = ClearReport::default();
        let mut failure = None;
        for (i, result) in results.into_iter().enumerate() {
            let name = self.nodes[i].name.clone();
            match result {
                Ok(removed) => {
                    self.count_cleared(i).await;
                    report.removed += removed;
                    report.cleared.push(name);
                }
                Err(CallError::Down) => report.unreachable.push(name),
                Err(CallError::Failed(e)) => {
                    self.count_cleared(i).await;
                    failure = failure.or(Some(e));
                }
            }
        }
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(report),
        }
    }

    /// Runs a handoff pass when one is due and none is running in this instance.
    async fn hand_off_if_due(&self) {
        let periodic = self.last_handoff.lock().expect("handoff lock").elapsed() >= HANDOFF_EVERY;
        if !(self.handoff_due.swap(false, Ordering::Relaxed) || periodic) {
            return;
        }
        if self.handoff_running.swap(true, Ordering::Acquire) {
            // One is running; it may have listed the hints before this request's: the
            // next request runs another.
            self.handoff_due.store(true, Ordering::Relaxed);
            return;
        }
        // Cleared however the pass ends, even when the request is dropped mid-pass.
        let _running = ClearOnDrop(&self.handoff_running);
        let report = self.hand_off().await;
        if report.handed_off + report.doubles_removed + report.kept > 0 {
            tracing::info!(
                handed_off = report.handed_off,
                doubles_removed = report.doubles_removed,
                kept = report.kept,
                "handoff pass"
            );
        }
    }

    /// One handoff pass over the hints of every node that is up: for each hinted n,
    /// every earlier node of n's order that is up gets a pointer to n's record. When
    /// such a node stored n itself meanwhile, the hinted copy is removed instead. A hint
    /// stays while an earlier node is still down.
    pub async fn hand_off(&self) -> HandoffReport {
        *self.last_handoff.lock().expect("handoff lock") = Instant::now();
        let mut report = HandoffReport::default();
        for arbiter in 0..self.nodes.len() {
            let Ok(hints) = self
                .guard(arbiter, self.nodes[arbiter].store.list_hints(HANDOFF_BATCH))
                .await
            else {
                continue;
            };
            let full = hints.len() == HANDOFF_BATCH as usize;
            let mut settled = false;
            let outcomes: Vec<Option<Handoff>> = stream::iter(hints)
                .map(|hint| self.hand_off_hint(arbiter, hint))
                .buffer_unordered(HANDOFF_PARALLEL)
                .collect()
                .await;
            for outcome in outcomes {
                match outcome {
                    Some(Handoff::Settled) => {
                        report.handed_off += 1;
                        settled = true;
                    }
                    Some(Handoff::DoubleRemoved) => {
                        report.doubles_removed += 1;
                        settled = true;
                    }
                    Some(Handoff::Awaited) => {
                        report.kept += 1;
                        self.handoff_due.store(true, Ordering::Relaxed);
                    }
                    Some(Handoff::Kept) | None => report.kept += 1,
                }
            }
            if full && settled {
                // More hints wait on this node: carry on after the next request.
                self.handoff_due.store(true, Ordering::Relaxed);
            }
        }
        report
    }

    /// Hands off one hint that `arbiter` holds; `None` when a call failed (the hint
    /// stays).
    async fn hand_off_hint(&self, arbiter: usize, hint: Hint) -> Option<Handoff> {
        let n = hint.n;
        let key = RecordKey::for_index(n);
        let drop_hint = || async {
            self.guard(arbiter, self.nodes[arbiter].store.drop_hint(n))
                .await
                .ok()
        };
        let holder = match self
            .guard(arbiter, self.nodes[arbiter].store.get_entry(key))
            .await
            .ok()?
        {
            Some(StoredEntry::Record(_)) => arbiter,
            Some(StoredEntry::Pointer { node, .. }) => match self.index_of(&node) {
                Some(holder) => holder,
                None => {
                    drop_hint().await?;
                    return Some(Handoff::Settled);
                }
            },
            // The write it announces may still be under way.
            None if !past_write_grace(hint.hinted_at_ms) => {
                return Some(Handoff::Awaited);
            }
            // Nothing was stored after all, or it was evicted since.
            None => {
                drop_hint().await?;
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
        // this one was hinted): then the hinted copy is the double, and no pointer to it
        // may be written anywhere.
        let mut kept = false;
        for &node in &earlier {
            let mut down = Vec::new();
            match self.resolve(key, node, &mut down).await {
                Ok(Some((_, other))) if other != holder => {
                    if self
                        .guard(holder, self.nodes[holder].store.evict_record(key))
                        .await
                        .ok()?
                    {
                        self.count_removed(holder, 1, in_grid(n)).await;
                    }
                    if arbiter != holder {
                        self.guard(arbiter, self.nodes[arbiter].store.evict_record(key))
                            .await
                            .ok()?;
                    }
                    drop_hint().await?;
                    return Some(Handoff::DoubleRemoved);
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
                // to the same record; a later pass looks again.
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
        drop_hint().await?;
        Some(Handoff::Settled)
    }
}

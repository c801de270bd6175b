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
//!    (every pointer on its way older than the write grace, [`WRITE_GRACE`] by default,
//!    and the way ending at no record) is dropped, and n is claimed again.
//!
//! Reading the arbiter alone is enough because the arbiter always holds an entry for a
//! stored n, with one exception: while n's earlier nodes are down, n is stored past
//! them. The arbiter then also keeps a *hint*, and once those nodes answer again a
//! handoff pass ([`handoff`], run by the upkeep function every minute, never inside a
//! request) writes a pointer on each of them. A request that reaches such a
//! node before its handoff stores n there a second time; the pass then removes the
//! hinted copy, so n ends up stored once.
//!
//! While an instance's lookups keep missing (a cache being filled, as after a reset),
//! it skips step 1 for cheap n and goes straight to the conditional put, which reads
//! back the stored record when there is one: one DynamoDB call per n instead of two.
//! The first hit ends this.

use futures::FutureExt;
use futures::future::Either;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use primescaler_core::{
    AddCounters, ClearRecords, Computation, CountChange, DropHint, DropPointer, EvictRecord,
    GetRecord, KnownEpoch, ListHints, Membership, NodeCounters, PrimeRecord, PutHint,
    PutPointerIfAbsent, PutRecordIfAbsent, PutRecordOverPointer, ReadCounters, ReadMembership,
    RepointPointer, ScanRecords, ShardEntries, StoreError, SweepStale, WalkEntries,
    WriteMembership,
};

mod claim;
mod counting;
pub mod handoff;
mod lookup;
mod members;
mod mover;
mod records;
mod repair;

pub use counting::NodeProbe;
pub use handoff::HandoffReport;
pub use members::{MEMBERSHIP_REFRESH, MembershipChangeError};
pub use mover::{MOVE_BUDGET, MOVE_CHUNK, MOVE_SETTLE, MoveReport};
pub use records::{ClearReport, ClusterCursor, ClusterPage};
pub use repair::{
    REPAIR_BUDGET, REPAIR_MAX_SLICE, REPAIR_MIN_SLICE, REPAIR_RUNS_PER_PASS, RepairReport,
};

use crate::breaker::{Breaker, BreakerState, Trip};
use crate::budget::CallBudget;
use crate::clock::Instant;
use crate::layout::Layout;
use crate::strategy::Strategy;

/// Every storage operation a node offers.
pub trait NodeStore:
    GetRecord
    + PutRecordIfAbsent
    + PutPointerIfAbsent
    + DropPointer
    + RepointPointer
    + EvictRecord
    + ScanRecords
    + ClearRecords
    + SweepStale
    + KnownEpoch
    + CountChange
    + AddCounters
    + ReadCounters
    + PutHint
    + ListHints
    + DropHint
    + WalkEntries
    + ReadMembership
    + WriteMembership
    + ShardEntries
    + PutRecordOverPointer
    + Sync
{
}

impl<T> NodeStore for T where
    T: GetRecord
        + PutRecordIfAbsent
        + PutPointerIfAbsent
        + DropPointer
        + RepointPointer
        + EvictRecord
        + ScanRecords
        + ClearRecords
        + SweepStale
        + KnownEpoch
        + CountChange
        + AddCounters
        + ReadCounters
        + PutHint
        + ListHints
        + DropHint
        + WalkEntries
        + ReadMembership
        + WriteMembership
        + ShardEntries
        + PutRecordOverPointer
        + Sync
{
}

/// One computation, shared by the requests that wait for it.
type SharedComputation = Arc<tokio::sync::OnceCell<Computation>>;

/// How long a finished computation is kept for requests that missed n before it was
/// stored.
const RECENT_COMPUTATION: Duration = Duration::from_secs(10);

/// How long a request may take, end to end, unless its caller says otherwise: below the
/// function's 15 s timeout, so that a request is answered (if need be, with its prime not
/// stored) before Lambda cuts it off.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(12);

/// How often buffered counters are written to the nodes.
const COUNTER_FLUSH_EVERY: Duration = Duration::from_secs(1);

/// How late past its budget a call's timer may fire before the lateness is taken for a
/// pause of this instance (a Lambda freeze) rather than a slow node: far more than a
/// starved CPU share delays a timer, far less than a freeze between invocations lasts.
const LATE_TIMER: Duration = Duration::from_secs(1);

/// Hints and pointers are written before the entry they announce, so one with nothing
/// behind it is taken for lost (never written, evicted, or gone with a node that came
/// back empty) only once it is older than this: far longer than any request's writes
/// take. A younger one may be a write under way.
pub const WRITE_GRACE: Duration = Duration::from_secs(60);

/// A random number from the standard library's per-process random keys: where an
/// instance's claim tokens start.
fn random_start() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(crate::clock::now_ms());
    hasher.finish()
}

/// Misses in a row after which an instance computes a cheap n before reading it.
pub const WRITE_FIRST_AFTER: u32 = 8;

/// The largest n computed before its read while misses run in a row: computing p(10^6)
/// takes 0.27 ms (docs/benchmarks.md), less than one DynamoDB round trip, so a wasted
/// computation costs less than the read it saves.
pub const WRITE_FIRST_MAX_N: u64 = 1_000_000;

/// One node: its name (region), its store, its breaker and its call budget.
pub struct Node<S> {
    /// The node's name: its region.
    pub name: String,
    /// The node's table.
    pub store: S,
    /// Whether calls to the node go through.
    pub breaker: Breaker,
    /// How long one call may take before the node is taken for down; `None` leaves it
    /// to the store's own timeouts.
    pub budget: Option<CallBudget>,
}

impl<S> Node<S> {
    /// The node `name` over `store`, skipped for `cooldown` after a failure, its calls
    /// bounded by the store's own timeouts.
    pub fn new(name: impl Into<String>, store: S, cooldown: Duration) -> Self {
        Self {
            name: name.into(),
            store,
            breaker: Breaker::new(cooldown),
            budget: None,
        }
    }

    /// This node with each call given `base` plus a new connection's round trips
    /// ([`CallBudget`]).
    pub fn with_budget(self, base: Duration) -> Self {
        Self {
            budget: Some(CallBudget::new(base)),
            ..self
        }
    }
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

/// What n's entry on one node leads to.
enum Resolved {
    /// The record, and the node that holds it.
    Found(PrimeRecord, usize),
    /// Nothing to answer: no entry, or the node read first is down or busy.
    Missing,
    /// The way to the record passes another node that is down, which may hold it.
    Unreachable,
    /// A pointer (to `node`, written at `written_at_ms`) on the node read, whose way leads
    /// to no record: its node is unknown, or is up and holds nothing for n (or a pointer
    /// that leads nowhere). `newest_ms` is when the youngest pointer on the way was
    /// written: until it is past the grace, a write along the way may be under way.
    Dangling {
        node: String,
        written_at_ms: u64,
        newest_ms: u64,
    },
}

/// The nodes one request found down, each named once however often it was met: its
/// failovers.
#[derive(Debug, Default)]
struct DownNodes(Vec<usize>);

impl DownNodes {
    /// Node `i` was found down.
    fn mark(&mut self, i: usize) {
        if !self.0.contains(&i) {
            self.0.push(i);
        }
    }

    /// Whether node `i` was found down.
    fn contains(&self, i: usize) -> bool {
        self.0.contains(&i)
    }

    /// How many nodes were found down.
    fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether every node met answered.
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

enum CallError {
    /// The node is down (breaker open, unreachable or timed out): calls go on past it.
    /// `sent`: the call went out and its answer was lost (a timeout, a cut response), so
    /// a write may have landed; otherwise it never went out (the breaker kept it back,
    /// or the connection was refused) or was refused whole (no table).
    Down { sent: bool },
    /// The node answered but turned the call away (throttled, after the client's
    /// retries): it is up, its breaker stays closed, and this call goes on past it.
    Busy,
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
    /// The membership this instance last read, laid over `nodes`.
    layout: std::sync::RwLock<Arc<Layout>>,
    /// When this instance last read the membership (ms since the Unix epoch; 0: never).
    layout_read_ms: AtomicU64,
    /// When this instance last began a read of the membership beside its requests.
    refresh_began_ms: AtomicU64,
    strategy: Strategy,
    local: usize,
    calculator: C,
    turn: AtomicUsize,
    /// The next claim token: random per instance, then counted, so that no two claims
    /// anywhere share one.
    next_claim: AtomicU64,
    pending: Mutex<PendingCounters>,
    /// Computations of this instance, under way or just done, shared by the requests
    /// for one n that missed it at about the same time; kept for [`RECENT_COMPUTATION`].
    in_flight: Mutex<HashMap<u64, (Instant, SharedComputation)>>,
    /// This instance's lookups that missed in a row (a hit sets it back to zero).
    miss_streak: AtomicU32,
    /// How long a pointer or hint with nothing behind it may be a write under way.
    write_grace: Duration,
    /// How many repair runs one pass over a node takes ([`REPAIR_RUNS_PER_PASS`]).
    repair_runs: u64,
    /// How long after a membership change the mover waits ([`MOVE_SETTLE`]).
    move_settle: Duration,
}

impl<S, C> ClusterService<S, C> {
    /// A service over `nodes` (`local` indexes the one beside this function), every one
    /// of them in the ring until the nodes hold a membership that says otherwise.
    ///
    /// # Panics
    /// When `nodes` is empty or `local` is out of range.
    pub fn new(nodes: Vec<Node<S>>, strategy: Strategy, local: usize, calculator: C) -> Self {
        assert!(local < nodes.len(), "the local node is one of the nodes");
        let names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
        let seed = Layout::new(Membership::seed(names.clone()), &names)
            .expect("every configured node is known");
        Self {
            layout: std::sync::RwLock::new(Arc::new(seed)),
            layout_read_ms: AtomicU64::new(0),
            refresh_began_ms: AtomicU64::new(0),
            pending: Mutex::new(PendingCounters {
                deltas: vec![NodeCounters::default(); nodes.len()],
                last_flush: Instant::now(),
            }),
            nodes,
            strategy,
            local,
            calculator,
            turn: AtomicUsize::new(0),
            next_claim: AtomicU64::new(random_start()),
            in_flight: Mutex::new(HashMap::new()),
            miss_streak: AtomicU32::new(0),
            write_grace: WRITE_GRACE,
            repair_runs: REPAIR_RUNS_PER_PASS,
            move_settle: MOVE_SETTLE,
        }
    }

    /// The same service, its mover waiting `settle` after a membership change instead of
    /// [`MOVE_SETTLE`]: no shorter than a request on the old ring may still be writing,
    /// or the mover can pass a shard before such a write lands (the repair then carries
    /// it later).
    pub fn with_move_settle(mut self, settle: Duration) -> Self {
        self.move_settle = settle;
        self
    }

    /// The same service, taking pointers and hints with nothing behind them for writes
    /// under way for `grace` instead of [`WRITE_GRACE`]: far longer than a request's
    /// deadline, or a write under way would be taken for a lost one.
    pub fn with_write_grace(mut self, grace: Duration) -> Self {
        self.write_grace = grace;
        self
    }

    /// The same service, its repair reading a `runs`th of each node's records per run
    /// (at least one) instead of [`REPAIR_RUNS_PER_PASS`]: 1 walks every node whole.
    pub fn with_repair_runs(mut self, runs: u64) -> Self {
        self.repair_runs = runs.max(1);
        self
    }

    /// Every node's index, beginning with a different node each minute: the order of a
    /// background pass, so that no node's work waits behind the others' for long.
    fn rotated_nodes(&self) -> impl Iterator<Item = usize> + use<S, C> {
        let count = self.nodes.len();
        let first = (crate::clock::now_ms() / 60_000) as usize % count;
        (0..count).map(move |k| (first + k) % count)
    }

    /// Whether something written at `written_at_ms` is older than the write grace.
    fn past_write_grace(&self, written_at_ms: u64) -> bool {
        crate::clock::now_ms().saturating_sub(written_at_ms) >= self.write_grace.as_millis() as u64
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

    /// The membership as this instance last read it, laid over the nodes: the ring
    /// requests follow.
    pub fn layout(&self) -> Arc<Layout> {
        Arc::clone(&self.layout.read().expect("layout lock"))
    }

    /// The strategy for new records.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// A token for one claim, unique to it (never 0, which marks no claim).
    fn claim_token(&self) -> u64 {
        loop {
            let token = self.next_claim.fetch_add(1, Ordering::Relaxed);
            if token != 0 {
                return token;
            }
        }
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

    /// Runs a point call (one item, or a small page) on node `i` unless its breaker is
    /// open, within the node's budget, and tells the breaker how it went. The breaker is
    /// asked when the future is first polled, as an `async fn` would.
    ///
    /// Not an `async fn`: a second state machine around [`Self::within_budget`], in
    /// every call to a node, nests the request's future past the compiler's default
    /// depth for laying it out.
    fn guard<T>(
        &self,
        i: usize,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> impl Future<Output = Result<T, CallError>> {
        futures::future::lazy(move |_| self.nodes[i].breaker.allow()).then(move |open| {
            if open {
                Either::Right(self.within_budget(i, call))
            } else {
                Either::Left(std::future::ready(Err(CallError::Down { sent: false })))
            }
        })
    }

    /// Runs `call` on node `i` within the node's budget, and tells the breaker how it
    /// went (the caller has asked the breaker already).
    async fn within_budget<T>(
        &self,
        i: usize,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, CallError> {
        let node = &self.nodes[i];
        let Some(budget) = &node.budget else {
            return self.settle(i, call.await);
        };
        let allowed = budget.allowed();
        let started = Instant::now();
        let answer = tokio::time::timeout(allowed, call).await;
        let took = started.elapsed();
        // An answer or a timer that comes long after the budget: the instance was paused
        // (Lambda freezes it between invocations), not the node slow. What came is kept,
        // but neither the node's round trip nor its breaker learns from it.
        if took > allowed + LATE_TIMER {
            tracing::warn!(node = %node.name, "a call outlived a pause of this instance");
            return match answer {
                Ok(Err(StoreError::Unavailable(_))) => Err(CallError::Down { sent: false }),
                // The answer is lost all the same: a write may have landed.
                Ok(Err(StoreError::Lost(_))) | Err(_) => Err(CallError::Down { sent: true }),
                Ok(result) => self.settle(i, result),
            };
        }
        match answer {
            // Only answers time the round trip: a throttled call includes the client's
            // back-off, and a failure may never have left the process.
            Ok(result) => {
                if result.is_ok() {
                    budget.observe(took);
                }
                self.settle(i, result)
            }
            // It may have reached the node: a write may have landed.
            Err(_) => self.settle(
                i,
                Err(StoreError::Lost(format!(
                    "no answer within {} ms",
                    allowed.as_millis()
                ))),
            ),
        }
    }

    /// Runs a bulk call (a scan, or a slice of the sweep, which read up to 1 MB a page
    /// and have their own time budget in the store) on node `i` unless its breaker is
    /// open, and tells the breaker how it went.
    async fn guard_bulk<T>(
        &self,
        i: usize,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, CallError> {
        if !self.nodes[i].breaker.allow() {
            return Err(CallError::Down { sent: false });
        }
        self.settle(i, call.await)
    }

    /// Tells node `i`'s breaker how a call went, and what that means for the caller.
    fn settle<T>(&self, i: usize, result: Result<T, StoreError>) -> Result<T, CallError> {
        let node = &self.nodes[i];
        match result {
            Ok(value) => {
                node.breaker.record_success();
                Ok(value)
            }
            Err(StoreError::Unavailable(why)) => {
                tracing::warn!(node = %node.name, reason = %why, "node is down");
                node.breaker.record_failure(why);
                Err(CallError::Down { sent: false })
            }
            Err(StoreError::Lost(why)) => {
                tracing::warn!(node = %node.name, reason = %why, "node is down; its answer was lost");
                node.breaker.record_failure(why);
                Err(CallError::Down { sent: true })
            }
            // The node answered: it is up, but this call goes elsewhere.
            Err(StoreError::Busy(why)) => {
                tracing::warn!(node = %node.name, reason = %why, "node is busy; passed over for this call");
                node.breaker.record_success();
                Err(CallError::Busy)
            }
            Err(failed) => {
                tracing::error!(node = %node.name, error = %failed, "node call failed");
                node.breaker.record_success();
                Err(CallError::Failed(failed))
            }
        }
    }
}

//! The deterministic simulation's parts (feature `testing`): an in-memory node store
//! whose calls fail as a seeded plan says, and the world of nodes it shares.
//!
//! Every call draws its fate from the world's one seeded generator: go through, be
//! refused (nothing applied), be throttled, have its answer lost before or after the
//! write landed, and wait a while before and after. A node can also be partitioned for
//! a span of time (it keeps its data; every call to it is lost). The world's time is
//! tokio's, paused, so the same seed, run on a current-thread runtime, replays the same
//! interleaving, the same fates and the same outcome.
//!
//! Nothing here is used by a deployed build: it serves the simulation and the unit
//! tests of the rules.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use primescaler_core::{Epoch, Hint, Membership, NodeFigures, PrimeRecord, StoredEntry};

pub mod checker;
pub mod converge;
mod membership;
pub mod moves;
pub mod outage;
pub mod sim;
mod store;

pub use store::MemStore;

/// How often, per call, each fault strikes while the world is not healed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultRates {
    /// The connection is refused: nothing applied, the node is taken for down.
    pub refuse: f64,
    /// The call is throttled: nothing applied, the node is up.
    pub busy: f64,
    /// The call times out before it lands: nothing applied, the answer is lost.
    pub lost_before: f64,
    /// The write lands, then its answer is lost.
    pub lost_after: f64,
    /// The longest wait before, and again after, a call is applied.
    pub max_delay: Duration,
}

impl FaultRates {
    /// No faults and no delays.
    pub const NONE: Self = Self {
        refuse: 0.0,
        busy: 0.0,
        lost_before: 0.0,
        lost_after: 0.0,
        max_delay: Duration::ZERO,
    };
}

/// A span of the world's time during which one node is cut off (it keeps its data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// The node cut off.
    pub node: usize,
    /// When it starts, after the world began.
    pub from: Duration,
    /// When it heals, after the world began.
    pub until: Duration,
}

/// How long a call to a cut-off node waits before its caller hears nothing back.
const LOST_AFTER: Duration = Duration::from_millis(300);

/// What one node holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeData {
    /// Its records and pointers, by n.
    pub entries: BTreeMap<u64, StoredEntry>,
    /// The epoch each entry was written under, by n (absent: 0).
    pub epochs: BTreeMap<u64, Epoch>,
    /// Its handoff hints, by n.
    pub hints: BTreeMap<u64, Hint>,
    /// Its counters, record count and grid version.
    pub figures: NodeFigures,
    /// Its record count as changes were counted (may go below zero when counts are lost).
    pub counted_items: i64,
    /// The epoch the record count belongs to.
    pub items_epoch: Epoch,
    /// The last n the repair walk read (`None`: the walk starts from the first).
    pub walked: Option<u64>,
    /// Its membership item (`None`: it holds none yet).
    pub membership: Option<Membership>,
}

impl NodeData {
    /// The epoch n's entry was written under.
    pub fn epoch_of(&self, n: u64) -> Epoch {
        self.epochs.get(&n).copied().unwrap_or_default()
    }

    /// The visible entry for n (one written under the node's epoch or a later one).
    pub fn entry(&self, n: u64) -> Option<&StoredEntry> {
        self.entries
            .get(&n)
            .filter(|_| self.epoch_of(n) >= self.figures.epoch)
    }

    /// The visible entries, by n.
    pub fn visible(&self) -> impl Iterator<Item = (u64, &StoredEntry)> {
        self.entries
            .iter()
            .filter(|(n, _)| self.epoch_of(**n) >= self.figures.epoch)
            .map(|(&n, entry)| (n, entry))
    }

    /// The visible record stored here for n, if any.
    pub fn record(&self, n: u64) -> Option<&PrimeRecord> {
        match self.entry(n) {
            Some(StoredEntry::Record(record)) => Some(record),
            _ => None,
        }
    }

    /// Writes `entry` at n, under `epoch`.
    fn write(&mut self, n: u64, entry: StoredEntry, epoch: Epoch) {
        self.entries.insert(n, entry);
        self.epochs.insert(n, epoch);
    }

    /// Removes n's entry; answers it, with its epoch.
    fn remove(&mut self, n: u64) -> Option<(StoredEntry, Epoch)> {
        let epoch = self.epochs.remove(&n).unwrap_or_default();
        self.entries.remove(&n).map(|entry| (entry, epoch))
    }
}

/// What happens to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Through,
    Refused,
    Busy,
    LostBefore,
    LostAfter,
}

/// The drawn course of one call.
#[derive(Debug, Clone, Copy)]
struct Course {
    fate: Fate,
    before: Duration,
    after: Duration,
}

struct WorldState {
    nodes: Vec<NodeData>,
    rng: fastrand::Rng,
    rates: FaultRates,
    partitions: Vec<Partition>,
    healed: bool,
    began: tokio::time::Instant,
    /// A running hash of every call's node, operation and fate: two runs of one seed
    /// that took the same course have the same trace.
    trace: u64,
    calls: u64,
}

/// The nodes of one simulation, with their faults, shared by every store handle.
#[derive(Clone)]
pub struct World {
    state: Arc<Mutex<WorldState>>,
}

impl World {
    /// `nodes` empty nodes whose calls fail at `rates`, drawn from `seed`, and cut off
    /// during `partitions`. Call it inside the runtime that runs the simulation.
    pub fn new(nodes: usize, seed: u64, rates: FaultRates, partitions: Vec<Partition>) -> Self {
        Self {
            state: Arc::new(Mutex::new(WorldState {
                nodes: vec![NodeData::default(); nodes],
                rng: fastrand::Rng::with_seed(seed),
                rates,
                partitions,
                healed: false,
                began: tokio::time::Instant::now(),
                trace: 0xcbf2_9ce4_8422_2325,
                calls: 0,
            })),
        }
    }

    /// The store of node `node`.
    pub fn store(&self, node: usize) -> MemStore {
        MemStore::new(self.clone(), node)
    }

    /// From now on every call goes through at once, and no node is cut off.
    pub fn heal(&self) {
        self.lock().healed = true;
    }

    /// A copy of what node `node` holds: a backup of it.
    pub fn backup(&self, node: usize) -> NodeData {
        self.lock().nodes[node].clone()
    }

    /// Replaces what node `node` holds with `data`: the node restored from a backup, or,
    /// with `NodeData::default()`, lost and restored empty.
    pub fn restore(&self, node: usize, data: NodeData) {
        self.lock().nodes[node] = data;
    }

    /// A copy of what every node holds.
    pub fn snapshot(&self) -> Vec<NodeData> {
        self.lock().nodes.clone()
    }

    /// The hash of every call made so far, with its fate, and how many there were.
    pub fn trace(&self) -> (u64, u64) {
        let state = self.lock();
        (state.trace, state.calls)
    }

    /// A number drawn from the world's generator (for the scheduler's own choices, so
    /// that one seed decides everything).
    pub fn draw(&self, range: std::ops::Range<u64>) -> u64 {
        self.lock().rng.u64(range)
    }

    /// A chance drawn from the world's generator.
    pub fn chance(&self, p: f64) -> bool {
        self.lock().rng.f64() < p
    }

    fn lock(&self) -> MutexGuard<'_, WorldState> {
        self.state.lock().expect("world lock")
    }

    /// Draws the course of a call to `node`, and adds it to the trace.
    fn course(&self, node: usize, operation: u64) -> Course {
        let mut state = self.lock();
        let cut_off = !state.healed && {
            let since = state.began.elapsed();
            state
                .partitions
                .iter()
                .any(|p| p.node == node && p.from <= since && since < p.until)
        };
        let course = if state.healed {
            Course {
                fate: Fate::Through,
                before: Duration::ZERO,
                after: Duration::ZERO,
            }
        } else {
            let rates = state.rates;
            let max = rates.max_delay.as_millis() as u64;
            let before = Duration::from_millis(state.rng.u64(0..=max));
            let after = Duration::from_millis(state.rng.u64(0..=max));
            let roll = state.rng.f64();
            let fate = if cut_off {
                Fate::LostBefore
            } else if roll < rates.refuse {
                Fate::Refused
            } else if roll < rates.refuse + rates.busy {
                Fate::Busy
            } else if roll < rates.refuse + rates.busy + rates.lost_before {
                Fate::LostBefore
            } else if roll < rates.refuse + rates.busy + rates.lost_before + rates.lost_after {
                Fate::LostAfter
            } else {
                Fate::Through
            };
            Course {
                fate,
                before,
                after,
            }
        };
        state.calls += 1;
        for word in [
            node as u64,
            operation,
            course.fate as u64,
            course.before.as_millis() as u64,
        ] {
            state.trace = (state.trace ^ word).wrapping_mul(0x0100_0000_01b3);
        }
        course
    }
}

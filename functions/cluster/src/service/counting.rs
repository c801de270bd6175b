//! What the service counts: the record count and grid version each node keeps (written
//! where a record is stored or removed), and the activity counters buffered per instance
//! and flushed about once a second.
//!
//! No request ever counts records with a scan: `GET /stats` and the grid read one small
//! item per node.

use futures::future::join_all;
use primescaler_core::{
    Epoch, NodeCounters, PrimeCalculator, PrimeRecord, PutOutcome, RecordChange, in_grid,
};

use super::{COUNTER_FLUSH_EVERY, CallError, ClusterService, NodeReport, NodeStore};
use crate::breaker::{BreakerState, EarlyProbe};
use crate::clock::Instant;

impl<S, C> ClusterService<S, C> {
    pub(super) fn count(&self, node: usize, delta: NodeCounters) {
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
    /// Stores `record` on node `i` under `epoch` unless an entry of that epoch or a later
    /// one is there, and counts it there under that epoch. While
    /// the node's breaker is closed both go at once, so that a miss waits for one round
    /// trip; when nothing was stored, the count is taken back (the grid version may then
    /// have moved on for nothing, which costs a viewer one more read of that node's
    /// grid, never a wrong cell). A node that was down gets the put alone first, through
    /// its breaker, and the count only once the record is stored.
    ///
    /// A count refused because the node's count is of an epoch later than `epoch` (a
    /// reset this instance had not read yet) means the record just put is invisible:
    /// that answers
    /// `AlreadyPresent`, so that the claim reads n again and, having learnt the epoch,
    /// claims again under it.
    pub(super) async fn put_counted(
        &self,
        i: usize,
        record: &PrimeRecord,
        epoch: Epoch,
    ) -> Result<PutOutcome, CallError> {
        let store = &self.nodes[i].store;
        let added = RecordChange {
            items: 1,
            grid: in_grid(record.key.n),
            epoch,
        };
        if self.nodes[i].breaker.state() != BreakerState::Closed {
            let put = self
                .guard(i, store.put_record_if_absent(record, epoch))
                .await;
            if !matches!(put, Ok(PutOutcome::Stored)) {
                return put;
            }
            return match store.count_change(added).await {
                Ok(true) => put,
                Ok(false) => Ok(PutOutcome::AlreadyPresent),
                Err(error) => {
                    tracing::warn!(node = %self.nodes[i].name, n = record.key.n, %error, "a stored record was not counted");
                    put
                }
            };
        }
        let (put, counted) = futures::join!(
            self.guard(i, store.put_record_if_absent(record, epoch)),
            store.count_change(added)
        );
        match (&put, counted) {
            (Ok(PutOutcome::Stored), Ok(true))
            | (Err(_) | Ok(PutOutcome::AlreadyPresent), Err(_) | Ok(false)) => {}
            (Ok(PutOutcome::Stored), Ok(false)) => return Ok(PutOutcome::AlreadyPresent),
            (Ok(PutOutcome::Stored), Err(error)) => {
                tracing::warn!(node = %self.nodes[i].name, n = record.key.n, %error, "a stored record was not counted");
            }
            (Err(_) | Ok(PutOutcome::AlreadyPresent), Ok(true)) => {
                let back = RecordChange {
                    items: -1,
                    grid: false,
                    epoch,
                };
                if let Err(error) = store.count_change(back).await {
                    tracing::warn!(node = %self.nodes[i].name, n = record.key.n, %error, "a record count was not taken back");
                }
            }
        }
        put
    }

    /// Counts a record written under `epoch` gone from node `i` (`grid`: it was one of
    /// the grid's).
    pub(super) async fn count_removed(&self, i: usize, grid: bool, epoch: Epoch) {
        self.count_one(i, -1, grid, epoch).await;
    }

    /// Counts a record written under `epoch` added to node `i` by a write that did not
    /// count it itself (`grid`: it is one of the grid's).
    pub(super) async fn count_added(&self, i: usize, grid: bool, epoch: Epoch) {
        self.count_one(i, 1, grid, epoch).await;
    }

    /// Adds `items` (one record, or minus one) to node `i`'s count; a count that fails is
    /// logged, the record's write stands.
    async fn count_one(&self, i: usize, items: i64, grid: bool, epoch: Epoch) {
        let change = RecordChange { items, grid, epoch };
        if let Err(error) = self.nodes[i].store.count_change(change).await {
            tracing::warn!(node = %self.nodes[i].name, items, %error, "a record's change was not counted");
        }
    }

    /// Every node's figures: records, cluster-wide counters and health, from one small
    /// item per node. Buffered counters are written first, so that they include this
    /// instance's latest requests.
    pub async fn node_reports(&self) -> Vec<NodeReport> {
        self.flush_counters().await;
        join_all(self.nodes.iter().enumerate().map(|(i, node)| async move {
            let figures = self.guard(i, node.store.read_counters()).await.ok();
            NodeReport {
                name: node.name.clone(),
                up: figures.is_some(),
                breaker: node.breaker.state(),
                items: figures.map(|f| f.items),
                counters: figures.map(|f| f.counters),
                trips: node.breaker.trips(),
            }
        }))
        .await
    }

    /// Opens a connection to every node at once and times its round trip, by reading its
    /// counters item twice: run at start-up (Lambda's init), so that the first requests find
    /// connections open and each node's budget learnt. A node that does not answer is
    /// found down here, as by any call.
    pub async fn warm_up(&self) {
        join_all((0..self.nodes.len()).map(|i| async move {
            // The first read opens the connection (three round trips), the second times
            // one round trip.
            for _ in 0..2 {
                let read = self.guard(i, self.nodes[i].store.read_counters()).await;
                if read.is_err() {
                    break;
                }
            }
        }))
        .await;
    }

    /// A node whose breaker's cool-down ends within the time a new connection to it
    /// takes, taken for an early probe ([`Self::probe`]) if any: the caller runs the
    /// probe off the request path (the API function spawns it beside the response), so
    /// that a node that is back is used again when its cool-down ends, its connection
    /// open.
    pub fn take_early_probe(&self) -> Option<NodeProbe> {
        self.nodes.iter().enumerate().find_map(|(node, n)| {
            let lead = n.budget.as_ref()?.new_connection();
            let early = n.breaker.probe_early(lead)?;
            Some(NodeProbe { node, early })
        })
    }

    /// Runs an early probe: a read of the node's counters within its budget. An answer
    /// closes the breaker; no answer leaves the node to the first request after its
    /// cool-down ([`crate::Breaker::early_probe_failed`]).
    pub async fn probe(&self, probe: NodeProbe) {
        let node = &self.nodes[probe.node];
        let read = node.store.read_counters();
        let answered = match &node.budget {
            Some(budget) => matches!(
                tokio::time::timeout(budget.allowed(), read).await,
                Ok(Ok(_))
            ),
            None => read.await.is_ok(),
        };
        if answered {
            node.breaker.record_success();
        } else {
            node.breaker.early_probe_failed(probe.early);
        }
        tracing::info!(node = %node.name, up = answered, "early probe");
    }

    /// Whether the buffered counters are due to be written (about once a second); a
    /// `true` is answered once per flush interval, so that one caller flushes. The
    /// caller runs [`Self::flush_counters`] off the request path: the API function
    /// spawns it beside the response.
    pub fn take_counter_flush(&self) -> bool {
        let mut pending = self.pending.lock().expect("counter lock");
        let due = pending.last_flush.elapsed() >= COUNTER_FLUSH_EVERY
            && pending.deltas.iter().any(|delta| !delta.is_zero());
        if due {
            pending.last_flush = Instant::now();
        }
        due
    }

    /// Writes the buffered counters to their nodes; deltas for a node that is down, or
    /// whose write fails, are kept for the next flush.
    pub async fn flush_counters(&self) {
        let deltas = {
            let mut pending = self.pending.lock().expect("counter lock");
            pending.last_flush = Instant::now();
            std::mem::replace(
                &mut pending.deltas,
                vec![NodeCounters::default(); self.nodes.len()],
            )
        };
        // Not through the breakers: a flush runs beside a response, and in Lambda the
        // instance may be frozen with it in flight; thawed, it times out, which says
        // nothing about the node. A node whose breaker is open keeps its deltas.
        let results = join_all(deltas.iter().enumerate().map(|(i, delta)| async move {
            if delta.is_zero() {
                return true;
            }
            if self.nodes[i].breaker.state() != BreakerState::Closed {
                return false;
            }
            match self.nodes[i].store.add_counters(delta).await {
                Ok(()) => true,
                Err(error) => {
                    tracing::debug!(node = %self.nodes[i].name, %error, "counters kept for the next flush");
                    false
                }
            }
        }))
        .await;
        for (i, written) in results.into_iter().enumerate() {
            if !written {
                self.count(i, deltas[i]);
            }
        }
    }
}

/// An early probe of one node, taken by [`ClusterService::take_early_probe`] and run by
/// [`ClusterService::probe`].
#[derive(Debug)]
pub struct NodeProbe {
    node: usize,
    early: EarlyProbe,
}

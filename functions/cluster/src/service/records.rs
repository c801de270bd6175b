//! The stored records as a whole: evicting one n from every node, paging through every
//! node's records, resetting them all, and sweeping away what resets left.

use futures::future::join_all;
use primescaler_core::{
    Epoch, PrimeCalculator, PrimeRecord, RecordKey, ServiceError, Sweep, in_grid,
};

use super::{CallError, ClusterService, NodeStore};

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

/// How many pages (of up to 1,000 items each) one upkeep run sweeps on each node: the
/// run's reads stay bounded, and 100,000 records a reset left are gone in a few runs.
pub const SWEEP_PAGES: u32 = 40;

/// What `DELETE /cache` did on each node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClearReport {
    /// Records the reset nodes counted before the reset (now hidden, and swept away
    /// later).
    pub removed: u64,
    /// Nodes reset.
    pub cleared: Vec<String>,
    /// Nodes that could not be reached (or whose answer was lost): they keep showing
    /// their records until the upkeep carries the reset to them.
    pub unreachable: Vec<String>,
    /// Nodes that throttled the reset: likewise, until the upkeep carries it.
    pub busy: Vec<String>,
}

impl<S: NodeStore, C> ClusterService<S, C> {
    /// The epoch this instance writes under: the latest it has read on any node. A reset
    /// moves every node to one epoch, so the latest is the cluster's (a node that missed
    /// the reset shows what is written under it too, and keeps it when the reset is
    /// carried over).
    pub(super) fn epoch(&self) -> Epoch {
        self.nodes
            .iter()
            .map(|node| node.store.known_epoch())
            .max()
            .unwrap_or_default()
    }
}

impl<S: NodeStore, C: PrimeCalculator + Sync> ClusterService<S, C> {
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
                Ok(Some(epoch)) => {
                    self.count_removed(i, in_grid(n), epoch).await;
                    holder = Some(self.nodes[i].name.clone());
                }
                Ok(None) | Err(CallError::Down { .. } | CallError::Busy) => {}
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
                .guard_bulk(cursor.node, node.store.scan_records(cursor.after, limit))
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
                Err(CallError::Down { .. } | CallError::Busy) => {
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

    /// Resets every node that is up, at once, to one epoch (now): one write per node,
    /// however much it holds (see [`primescaler_core::ClearRecords`]). A node that does not
    /// answer within its budget is reported unreachable, and shows its records until the
    /// upkeep carries the reset to it. The epoch is this instance's clock: a second reset
    /// from an instance whose clock is behind the first's is a no-op on every node.
    pub async fn clear(&self) -> Result<ClearReport, ServiceError> {
        let reset = Epoch(crate::clock::now_ms());
        let results = join_all(
            (0..self.nodes.len()).map(|i| self.guard(i, self.nodes[i].store.clear_records(reset))),
        )
        .await;
        let mut report = ClearReport::default();
        let mut failure = None;
        for (i, result) in results.into_iter().enumerate() {
            let name = self.nodes[i].name.clone();
            match result {
                Ok(removed) => {
                    report.removed += removed;
                    report.cleared.push(name);
                }
                Err(CallError::Down { .. }) => report.unreachable.push(name),
                // Throttled: the node was not reset; a second reset will be.
                Err(CallError::Busy) => report.busy.push(name),
                Err(CallError::Failed(e)) => failure = failure.or(Some(e)),
            }
        }
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(report),
        }
    }

    /// Removes, on every node that is up, up to [`SWEEP_PAGES`] pages of what resets
    /// left (see [`primescaler_core::SweepStale`]); answers what each node did, by name
    /// (`None`: the node was down or busy).
    pub async fn sweep(&self) -> Vec<(String, Option<Sweep>)> {
        join_all(self.nodes.iter().enumerate().map(|(i, node)| async move {
            let swept = self
                .guard_bulk(i, node.store.sweep_stale(SWEEP_PAGES))
                .await;
            if let Err(CallError::Failed(error)) = &swept {
                tracing::warn!(node = %node.name, %error, "the sweep failed");
            }
            (node.name.clone(), swept.ok())
        }))
        .await
    }

    /// Resets every node whose epoch is behind another's to that epoch (a node that was
    /// down when a reset came): until then, it still shows what the reset removed
    /// elsewhere, and handoff waits for it (a pointer goes under its record's epoch,
    /// known only once both nodes have had the same resets).
    pub async fn carry_resets(&self) {
        let read = join_all(
            (0..self.nodes.len()).map(|i| self.guard(i, self.nodes[i].store.read_counters())),
        )
        .await;
        let epochs: Vec<Option<Epoch>> = read
            .into_iter()
            .map(|figures| figures.ok().map(|f| f.epoch))
            .collect();
        let Some(latest) = epochs.iter().flatten().max().copied() else {
            return;
        };
        join_all(epochs.iter().enumerate().map(|(i, epoch)| async move {
            if epoch.is_some_and(|epoch| epoch < latest) {
                let carried = self
                    .guard(i, self.nodes[i].store.clear_records(latest))
                    .await;
                tracing::info!(node = %self.nodes[i].name, ok = carried.is_ok(), "a missed reset carried over");
            }
        }))
        .await;
    }
}

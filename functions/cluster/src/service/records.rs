//! The stored records as a whole: evicting one n from every node, paging through every
//! node's records, and clearing them all.

use futures::future::join_all;
use primescaler_core::{PrimeCalculator, PrimeRecord, RecordKey, ServiceError, in_grid};

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

/// What `DELETE /cache` did on each node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClearReport {
    /// Records removed, over all cleared nodes.
    pub removed: u64,
    /// Nodes cleared.
    pub cleared: Vec<String>,
    /// Nodes that could not be reached (their records remain).
    pub unreachable: Vec<String>,
    /// Nodes that throttled the clear part of the way (some of their records remain).
    pub busy: Vec<String>,
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
                Ok(true) => {
                    self.count_removed(i, 1, in_grid(n)).await;
                    holder = Some(self.nodes[i].name.clone());
                }
                Ok(false) | Err(CallError::Down { .. } | CallError::Busy) => {}
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

    /// Clears every node that is up, at once. Each node's count and grid version are
    /// reset as soon as its own clear ends, so that a slow node holds back no other.
    pub async fn clear(&self) -> Result<ClearReport, ServiceError> {
        let results = join_all((0..self.nodes.len()).map(|i| async move {
            let result = self
                .guard_bulk(i, self.nodes[i].store.clear_records())
                .await;
            // Every node is counted as cleared, even one whose clear failed part of the
            // way (its count starts again from zero and viewers read its grid again).
            if !matches!(result, Err(CallError::Down { .. })) {
                self.count_cleared(i).await;
            }
            result
        }))
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
                // Throttled part of the way: partly cleared; a second reset clears the rest.
                Err(CallError::Busy) => report.busy.push(name),
                Err(CallError::Failed(e)) => failure = failure.or(Some(e)),
            }
        }
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(report),
        }
    }
}

//! The grid: every node's small-n records, read at once.
//!
//! The UI draws one cell per n in `1..=max_n`. A cell is cached when some node holds
//! n's record; it is drawn in that node's colour. Every node is read in parallel, each
//! within a time budget, so that a node that is down leaves its cells blank and is
//! reported instead of holding the page up.

use std::time::Duration;

use futures::future::join_all;
use primescaler_core::{ScanUpTo, shard_of};

use crate::placement::Ring;

/// One cached cell of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridCell {
    /// The index n.
    pub n: u64,
    /// The nth prime.
    pub prime: u64,
    /// The index of the node that holds the record.
    pub node: usize,
}

/// One read of the whole grid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GridRead {
    /// The cached cells, by increasing n, one per n.
    pub cells: Vec<GridCell>,
    /// The indexes of the nodes that did not answer within the budget.
    pub down: Vec<usize>,
}

/// Reads the grid's cells from every node.
pub struct GridReader<S> {
    names: Vec<String>,
    stores: Vec<S>,
    placement: Ring,
    budget: Duration,
}

impl<S: ScanUpTo + Sync> GridReader<S> {
    /// A reader over `nodes` (name and store), giving each node `budget` to answer.
    ///
    /// # Panics
    /// When `nodes` is empty.
    pub fn new(nodes: Vec<(String, S)>, budget: Duration) -> Self {
        assert!(!nodes.is_empty(), "a grid has at least one node");
        let (names, stores): (Vec<String>, Vec<S>) = nodes.into_iter().unzip();
        Self {
            placement: Ring::new(&names),
            names,
            stores,
            budget,
        }
    }

    /// The nodes' names, in the order that [`GridCell::node`] indexes.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Every cached n in `1..=max_n`. When two nodes hold n (a record written on a
    /// failover node while n's home was unreachable), the one earlier in n's placement
    /// order is the one the API reads, so it is the one shown.
    pub async fn read(&self, max_n: u64) -> GridRead {
        let answers = join_all(
            self.stores
                .iter()
                .map(|store| tokio::time::timeout(self.budget, store.scan_up_to(max_n))),
        )
        .await;
        let mut read = GridRead::default();
        for (node, answer) in answers.into_iter().enumerate() {
            match answer {
                Ok(Ok(found)) => read
                    .cells
                    .extend(
                        found
                            .into_iter()
                            .map(|(n, prime)| GridCell { n, prime, node }),
                    ),
                Ok(Err(error)) => {
                    tracing::warn!(node = %self.names[node], %error, "grid scan failed");
                    read.down.push(node);
                }
                Err(_) => {
                    tracing::warn!(node = %self.names[node], "grid scan timed out");
                    read.down.push(node);
                }
            }
        }
        read.cells.sort_unstable_by_key(|cell| cell.n);
        read.cells.dedup_by(|later, kept| {
            if later.n != kept.n {
                return false;
            }
            let order = self.placement.order(shard_of(kept.n));
            let rank = |node: usize| order.iter().position(|&o| o == node);
            if rank(later.node) < rank(kept.node) {
                *kept = *later;
            }
            true
        });
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use primescaler_core::StoreError;

    /// A node that answers a fixed list, fails, or never answers.
    enum FakeNode {
        Holds(Vec<(u64, u64)>),
        Fails,
        Hangs,
    }

    impl ScanUpTo for FakeNode {
        async fn scan_up_to(&self, max_n: u64) -> Result<Vec<(u64, u64)>, StoreError> {
            match self {
                FakeNode::Holds(cells) => {
                    Ok(cells.iter().copied().filter(|&(n, _)| n <= max_n).collect())
                }
                FakeNode::Fails => Err(StoreError::Unavailable("refused".into())),
                FakeNode::Hangs => std::future::pending().await,
            }
        }
    }

    fn reader(nodes: Vec<FakeNode>) -> GridReader<FakeNode> {
        let named = nodes
            .into_iter()
            .enumerate()
            .map(|(i, node)| (format!("node-{i}"), node))
            .collect();
        GridReader::new(named, Duration::from_millis(50))
    }

    #[tokio::test]
    async fn cells_come_sorted_with_their_node_and_down_nodes_are_named() {
        // GIVEN two nodes holding some cells, one that fails and one that never answers
        let grid = reader(vec![
            FakeNode::Holds(vec![(5, 11), (1, 2), (20_000, 225_077)]),
            FakeNode::Fails,
            FakeNode::Holds(vec![(3, 5)]),
            FakeNode::Hangs,
        ]);
        // WHEN the grid up to 10,000 is read
        let read = grid.read(10_000).await;
        // THEN the cells are sorted by n, carry their node, and stop at max_n
        let cells: Vec<(u64, u64, usize)> =
            read.cells.iter().map(|c| (c.n, c.prime, c.node)).collect();
        assert_eq!(cells, vec![(1, 2, 0), (3, 5, 2), (5, 11, 0)]);
        assert_eq!(read.down, vec![1, 3]);
    }

    #[tokio::test]
    async fn a_record_on_two_nodes_is_shown_on_the_earlier_node_in_its_order() {
        // GIVEN n = 7 stored on both nodes
        let grid = reader(vec![
            FakeNode::Holds(vec![(7, 17)]),
            FakeNode::Holds(vec![(7, 17)]),
        ]);
        let order = grid.placement.order(shard_of(7));
        // WHEN the grid is read
        let read = grid.read(100).await;
        // THEN one cell is shown, on the node the API reads first
        assert_eq!(read.cells.len(), 1);
        assert_eq!(read.cells[0].node, order[0]);
    }
}

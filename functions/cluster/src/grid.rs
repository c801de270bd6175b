//! The grid: every node's grid records, read at once, and read again only where they
//! changed.
//!
//! The UI draws one cell per n in `1..=GRID_MAX_N`. A cell is cached when some node holds
//! n's record; it is drawn in that node's colour. Each node keeps a small counters item
//! with its *grid version*, which moves on after every store or removal of a grid record
//! there ([`primescaler_core::CountChange`]). A read:
//! 1. reads every node's counters item (one GetItem each, in parallel, each within a time
//!    budget): a node that does not answer is reported down and its cells left blank;
//! 2. scans the grid index ([`ScanGrid`]: the grid's records and nothing else) of the
//!    nodes whose version moved since their last scan, and of the nodes still *settling*;
//! 3. answers every node's cells, from this read or the last.
//!
//! So a read that finds nothing new costs one small read per node, whatever the table
//! holds, and a changed one reads the changed nodes' grid only.
//!
//! A node that does not answer is shown down, and not asked again for [`DOWN_FOR`].
//!
//! A node is *settling* for [`SETTLE`] after its version was seen to move: its grid is
//! scanned once more after that, because an index in DynamoDB is updated shortly after
//! the write, and a version counted at the same time as a write can be read before the
//! write lands. Every node's grid is also scanned again after [`RESCAN_EVERY`], so that
//! a change whose count was lost (its instance stopped between the two writes) shows
//! within that time.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::join_all;
use primescaler_core::{GridRecord, NodeFigures, ReadCounters, ScanGrid, shard_of};

use crate::placement::Ring;

/// How long after a node's grid version moves its grid is scanned once more.
pub const SETTLE: Duration = Duration::from_secs(2);

/// How often each node's grid is scanned even when its version stands still.
pub const RESCAN_EVERY: Duration = Duration::from_secs(60);

/// How long a node whose read timed out is shown down without being asked again: during
/// an outage, one read in this time waits out the node's budget, not every read. A node
/// that fails fast (refused, throttled) is asked again at the next read.
pub const DOWN_FOR: Duration = Duration::from_secs(5);

/// One cached cell of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridCell {
    /// The index n.
    pub n: u64,
    /// The nth prime.
    pub prime: u64,
    /// The index of the node that holds the record.
    pub node: usize,
    /// Whether a calculator other than the primary computed it.
    pub by_fallback: bool,
}

/// One read of the whole grid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GridRead {
    /// The cached cells, by increasing n, one per n.
    pub cells: Vec<GridCell>,
    /// The indexes of the nodes that did not answer within the budget.
    pub down: Vec<usize>,
    /// Each node's figures (record count, counters, grid version), `None` when down.
    pub figures: Vec<Option<NodeFigures>>,
    /// The nodes whose grid this read scanned (the others' cells are from earlier reads).
    pub scanned_nodes: Vec<usize>,
    /// Items the store read for those scans, as it reports them.
    pub scanned_items: u64,
}

/// What the reader remembers of one node between reads.
#[derive(Debug, Clone, Default)]
struct NodeGrid {
    /// The grid version its cells were scanned at (`None`: never scanned).
    version: Option<u64>,
    /// Its grid cells.
    cells: Vec<GridRecord>,
    /// When its grid was last scanned.
    scanned_at: Option<Instant>,
    /// When its version was last seen to move.
    moved_at: Option<Instant>,
    /// Until when it is shown down without being asked (it did not answer).
    down_until: Option<Instant>,
}

impl NodeGrid {
    /// Whether a read that found `version` on this node must scan its grid.
    fn needs_scan(&self, version: u64, now: Instant) -> bool {
        let Some(scanned_at) = self.scanned_at else {
            return true;
        };
        let settling = self
            .moved_at
            .is_some_and(|moved| scanned_at < moved + SETTLE && now >= moved + SETTLE);
        self.version != Some(version) || settling || now >= scanned_at + RESCAN_EVERY
    }
}

/// Reads the grid's cells from every node, remembering each node's last scan.
pub struct GridReader<S> {
    names: Vec<String>,
    stores: Vec<S>,
    placement: Ring,
    budget: Duration,
    known: Mutex<Vec<NodeGrid>>,
}

impl<S: ScanGrid + ReadCounters + Sync> GridReader<S> {
    /// A reader over `nodes` (name and store), giving each node `budget` to answer.
    ///
    /// # Panics
    /// When `nodes` is empty.
    pub fn new(nodes: Vec<(String, S)>, budget: Duration) -> Self {
        assert!(!nodes.is_empty(), "a grid has at least one node");
        let (names, stores): (Vec<String>, Vec<S>) = nodes.into_iter().unzip();
        Self {
            placement: Ring::new(&names),
            known: Mutex::new(vec![NodeGrid::default(); names.len()]),
            names,
            stores,
            budget,
        }
    }

    /// Reads each node's counters once, all at once, each within the budget, and keeps
    /// nothing: in Lambda's init, this opens a connection to each node (three round trips
    /// at a region's distance), so that the first read does not pay for them.
    pub async fn open_connections(&self) {
        join_all(
            self.stores
                .iter()
                .map(|store| tokio::time::timeout(self.budget, store.read_counters())),
        )
        .await;
    }

    /// The nodes' names, in the order that [`GridCell::node`] indexes.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Every cached n of the grid. When two nodes hold n (a record written on a
    /// failover node while n's home was unreachable), the one earlier in n's placement
    /// order is the one the API reads, so it is the one shown.
    pub async fn read(&self) -> GridRead {
        let resting: Vec<bool> = {
            let known = self.known.lock().expect("grid lock");
            let now = Instant::now();
            known
                .iter()
                .map(|m| m.down_until.is_some_and(|until| now < until))
                .collect()
        };
        let skipped = &resting;
        // Each node's figures, and whether its read timed out.
        let answers: Vec<(Option<NodeFigures>, bool)> =
            join_all(self.stores.iter().enumerate().map(|(node, store)| async move {
                if skipped[node] {
                    return (None, false);
                }
                match tokio::time::timeout(self.budget, store.read_counters()).await {
                    Ok(Ok(figures)) => (Some(figures), false),
                    Ok(Err(error)) => {
                        tracing::warn!(node = %self.names[node], %error, "grid version read failed");
                        (None, false)
                    }
                    Err(_) => {
                        tracing::warn!(node = %self.names[node], "grid version read timed out");
                        (None, true)
                    }
                }
            }))
            .await;
        let timed_out: Vec<bool> = answers.iter().map(|(_, t)| *t).collect();
        let figures: Vec<Option<NodeFigures>> = answers.into_iter().map(|(f, _)| f).collect();
        let now = Instant::now();
        let to_scan: Vec<usize> = {
            let mut known = self.known.lock().expect("grid lock");
            figures
                .iter()
                .enumerate()
                .filter_map(|(node, found)| {
                    let version = found.as_ref()?.grid_version;
                    let memory = &mut known[node];
                    // A first sight counts as a move: a write counted before its record
                    // landed is caught by the settle rescan.
                    if memory.version != Some(version) {
                        memory.moved_at = Some(now);
                    }
                    memory.needs_scan(version, now).then_some(node)
                })
                .collect()
        };
        let scans = join_all(to_scan.iter().map(|&node| async move {
            (
                node,
                tokio::time::timeout(self.budget, self.stores[node].scan_grid()).await,
            )
        }))
        .await;
        let mut read = GridRead {
            figures,
            ..GridRead::default()
        };
        let mut known = self.known.lock().expect("grid lock");
        let answered_at = Instant::now();
        for (node, memory) in known.iter_mut().enumerate() {
            if resting[node] {
                continue;
            }
            memory.down_until = timed_out[node].then(|| answered_at + DOWN_FOR);
        }
        for (node, answer) in scans {
            match answer {
                Ok(Ok(scan)) => {
                    let memory = &mut known[node];
                    memory.version = read.figures[node].map(|f| f.grid_version);
                    memory.cells = scan.cells;
                    memory.scanned_at = Some(now);
                    read.scanned_nodes.push(node);
                    read.scanned_items += scan.scanned;
                }
                Ok(Err(error)) => {
                    tracing::warn!(node = %self.names[node], %error, "grid scan failed");
                    read.figures[node] = None;
                }
                Err(_) => {
                    tracing::warn!(node = %self.names[node], "grid scan timed out");
                    read.figures[node] = None;
                    known[node].down_until = Some(answered_at + DOWN_FOR);
                }
            }
        }
        for (node, memory) in known.iter().enumerate() {
            if read.figures[node].is_none() {
                read.down.push(node);
                continue;
            }
            read.cells
                .extend(memory.cells.iter().map(|record| GridCell {
                    n: record.n,
                    prime: record.prime,
                    node,
                    by_fallback: record.by_fallback,
                }));
        }
        drop(known);
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
    use primescaler_core::{GridScan, StoreError};
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    /// A node that answers a list of cells at a version, fails, or never answers; it
    /// counts its scans.
    struct FakeNode {
        answer: Answer,
        version: AtomicU64,
        scans: AtomicUsize,
    }

    enum Answer {
        Holds(Vec<(u64, u64)>),
        Fails,
        Hangs,
    }

    fn node(answer: Answer) -> FakeNode {
        FakeNode {
            answer,
            version: AtomicU64::new(1),
            scans: AtomicUsize::new(0),
        }
    }

    impl ScanGrid for FakeNode {
        async fn scan_grid(&self) -> Result<GridScan, StoreError> {
            self.scans.fetch_add(1, Ordering::SeqCst);
            match &self.answer {
                Answer::Holds(cells) => Ok(GridScan {
                    cells: cells
                        .iter()
                        .map(|&(n, prime)| GridRecord {
                            n,
                            prime,
                            by_fallback: false,
                        })
                        .collect(),
                    scanned: cells.len() as u64,
                }),
                Answer::Fails => Err(StoreError::Unavailable("refused".into())),
                Answer::Hangs => std::future::pending().await,
            }
        }
    }

    impl ReadCounters for FakeNode {
        async fn read_counters(&self) -> Result<NodeFigures, StoreError> {
            match &self.answer {
                Answer::Holds(_) => Ok(NodeFigures {
                    grid_version: self.version.load(Ordering::SeqCst),
                    ..NodeFigures::default()
                }),
                Answer::Fails => Err(StoreError::Unavailable("refused".into())),
                Answer::Hangs => std::future::pending().await,
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
            node(Answer::Holds(vec![(5, 11), (1, 2)])),
            node(Answer::Fails),
            node(Answer::Holds(vec![(3, 5)])),
            node(Answer::Hangs),
        ]);
        // WHEN the grid is read
        let read = grid.read().await;
        // THEN the cells are sorted by n and carry their node
        let cells: Vec<(u64, u64, usize)> =
            read.cells.iter().map(|c| (c.n, c.prime, c.node)).collect();
        assert_eq!(cells, vec![(1, 2, 0), (3, 5, 2), (5, 11, 0)]);
        assert_eq!(read.down, vec![1, 3]);
        assert!(read.figures[0].is_some() && read.figures[1].is_none());
    }

    #[tokio::test]
    async fn a_record_on_two_nodes_is_shown_on_the_earlier_node_in_its_order() {
        // GIVEN n = 7 stored on both nodes
        let grid = reader(vec![
            node(Answer::Holds(vec![(7, 17)])),
            node(Answer::Holds(vec![(7, 17)])),
        ]);
        let order = grid.placement.order(shard_of(7));
        // WHEN the grid is read
        let read = grid.read().await;
        // THEN one cell is shown, on the node the API reads first
        assert_eq!(read.cells.len(), 1);
        assert_eq!(read.cells[0].node, order[0]);
    }

    #[tokio::test]
    async fn a_node_is_scanned_again_only_when_its_version_moves() {
        // GIVEN two nodes, read once
        let grid = reader(vec![
            node(Answer::Holds(vec![(1, 2)])),
            node(Answer::Holds(vec![(2, 3)])),
        ]);
        let first = grid.read().await;
        assert_eq!(first.scanned_nodes, vec![0, 1]);
        // WHEN nothing changes, the grid is read again
        let unchanged = grid.read().await;
        // THEN nothing is scanned, and the cells are the same
        assert!(unchanged.scanned_nodes.is_empty());
        assert_eq!(unchanged.cells, first.cells);
        // WHEN node 1's version moves
        grid.stores[1].version.fetch_add(1, Ordering::SeqCst);
        let changed = grid.read().await;
        // THEN node 1 alone is scanned
        assert_eq!(changed.scanned_nodes, vec![1]);
        assert_eq!(grid.stores[0].scans.load(Ordering::SeqCst), 1);
        assert_eq!(grid.stores[1].scans.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_node_that_did_not_answer_is_not_asked_again_for_a_while() {
        // GIVEN a node that never answers, read once (it waits out its budget, 1 s here)
        let named = vec![
            ("node-0".to_string(), node(Answer::Holds(vec![(1, 2)]))),
            ("node-1".to_string(), node(Answer::Hangs)),
        ];
        let grid = GridReader::new(named, Duration::from_secs(1));
        assert_eq!(grid.read().await.down, vec![1]);
        // WHEN the grid is read again at once
        let started = Instant::now();
        let again = grid.read().await;
        // THEN the node is shown down without waiting on it again
        assert_eq!(again.down, vec![1]);
        assert!(started.elapsed() < grid.budget, "{:?}", started.elapsed());
        assert_eq!(again.cells.len(), 1);
    }

    #[test]
    fn a_node_that_moved_is_scanned_once_more_after_it_settles() {
        let now = Instant::now();
        let memory = NodeGrid {
            version: Some(3),
            cells: Vec::new(),
            scanned_at: Some(now),
            moved_at: Some(now),
            down_until: None,
        };
        assert!(!memory.needs_scan(3, now + SETTLE / 2));
        assert!(memory.needs_scan(3, now + SETTLE));
        let settled = NodeGrid {
            scanned_at: Some(now + SETTLE),
            ..memory.clone()
        };
        assert!(!settled.needs_scan(3, now + SETTLE * 2));
        assert!(settled.needs_scan(3, now + SETTLE + RESCAN_EVERY));
        assert!(settled.needs_scan(4, now + SETTLE * 2));
    }
}

//! The grid as every viewer of one UI instance shares it.
//!
//! Each page polls `GET /grid`. However many poll, and however often, the nodes are read
//! at most once per [`FRESH_FOR`] (half a second), by one request at a time (single
//! flight): the others wait for that read and take its snapshot, however long it took,
//! or take the last one while it is fresh. A read itself costs one small item per node
//! unless a node's grid changed ([`primescaler_cluster::GridReader`]).
//!
//! In Lambda an instance serves one request at a time, so there the snapshot is shared
//! over time (by the polls of the next half second) rather than between requests at
//! once; concurrent viewers share through the edge cache in front (`template.yaml`,
//! `/grid` cached for a second), and each new instance reads every node's grid once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use primescaler_cluster::GridReader;
use primescaler_core::{ReadCounters, ScanGrid};
use primescaler_ui_app::model::{CachedCell, GridSnapshot, NodeFigures};

/// How long a grid read answers every poll before the next poll reads again.
pub const FRESH_FOR: Duration = Duration::from_millis(500);

/// The grid snapshot one UI instance shares between its viewers.
pub struct LiveGrid<S> {
    reader: GridReader<S>,
    /// The last snapshot, and when the read that made it started.
    latest: Mutex<Option<(Instant, Arc<GridSnapshot>)>>,
    /// Held by the one request that reads the nodes.
    reading: tokio::sync::Mutex<()>,
    /// How many reads have finished: a request that waited for another's read takes
    /// that read's snapshot instead of reading again.
    finished: AtomicU64,
    /// A delay before every read (`GRID_READ_DELAY_MS`): a fault to show, and test, that
    /// the page does not wait for a slow read.
    delay: Duration,
    reads: AtomicU64,
    scanned_items: AtomicU64,
}

impl<S: ScanGrid + ReadCounters + Sync> LiveGrid<S> {
    /// The shared grid over `reader`, each read delayed by `delay`.
    pub fn new(reader: GridReader<S>, delay: Duration) -> Self {
        Self {
            reader,
            latest: Mutex::new(None),
            reading: tokio::sync::Mutex::new(()),
            finished: AtomicU64::new(0),
            delay,
            reads: AtomicU64::new(0),
            scanned_items: AtomicU64::new(0),
        }
    }

    /// The nodes' names.
    pub fn names(&self) -> &[String] {
        self.reader.names()
    }

    /// Opens a connection to each node (see [`GridReader::open_connections`]), leaving
    /// no snapshot: what the first page shows is read when it is asked for.
    pub async fn open_connections(&self) {
        self.reader.open_connections().await;
    }

    /// The last snapshot, however old, if any read has finished.
    pub fn latest(&self) -> Option<Arc<GridSnapshot>> {
        self.latest
            .lock()
            .expect("snapshot lock")
            .as_ref()
            .map(|(_, snapshot)| Arc::clone(snapshot))
    }

    /// Whether the last snapshot is older than [`FRESH_FOR`] (or there is none).
    pub fn is_stale(&self) -> bool {
        self.fresh().is_none()
    }

    fn fresh(&self) -> Option<Arc<GridSnapshot>> {
        let latest = self.latest.lock().expect("snapshot lock");
        latest
            .as_ref()
            .filter(|(read_at, _)| read_at.elapsed() < FRESH_FOR)
            .map(|(_, snapshot)| Arc::clone(snapshot))
    }

    /// A snapshot no older than [`FRESH_FOR`]: the shared one, or a new read made by
    /// this request alone while the others wait for it.
    pub async fn current(&self) -> Arc<GridSnapshot> {
        if let Some(snapshot) = self.fresh() {
            return snapshot;
        }
        let seen = self.finished.load(Ordering::Acquire);
        let _turn = self.reading.lock().await;
        if self.finished.load(Ordering::Acquire) != seen
            && let Some(snapshot) = self.latest()
        {
            return snapshot;
        }
        if let Some(snapshot) = self.fresh() {
            return snapshot;
        }
        let started = Instant::now();
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let read = self.reader.read().await;
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.scanned_items
            .fetch_add(read.scanned_items, Ordering::Relaxed);
        let cells = read
            .cells
            .into_iter()
            .map(|c| CachedCell {
                n: c.n,
                prime: c.prime,
                node: c.node,
                by_fallback: c.by_fallback,
            })
            .collect();
        let figures = read
            .figures
            .iter()
            .map(|found| {
                found.map(|f| NodeFigures {
                    items: f.items,
                    requests: f.counters.requests,
                    hits: f.counters.hits,
                    misses: f.counters.misses,
                    fallbacks: f.counters.fallbacks,
                    failovers: f.counters.failovers,
                    cold_starts: f.counters.cold_starts,
                })
            })
            .collect();
        let snapshot = Arc::new(GridSnapshot::with_figures(
            self.reader.names().to_vec(),
            read.down,
            cells,
            figures,
        ));
        *self.latest.lock().expect("snapshot lock") = Some((started, Arc::clone(&snapshot)));
        self.finished.fetch_add(1, Ordering::Release);
        snapshot
    }

    /// How many times this instance has read the nodes.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// How many items those reads' grid scans read, as the stores reported them.
    pub fn scanned_items(&self) -> u64 {
        self.scanned_items.load(Ordering::Relaxed)
    }
}

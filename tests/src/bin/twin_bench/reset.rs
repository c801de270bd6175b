//! The reset phase: a full grid and 100,000 records outside it, then `DELETE /cache`
//! through the function, and how long until a viewer's read of every node's grid, through
//! the same relays, finds no cell.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use lambda_http::Body;
use primescaler_api::{LiveDeps, handle};
use primescaler_cluster::Ring;
use primescaler_core::{
    Computation, CountChange, PrimeRecord, PutOutcome, PutRecordIfAbsent, ReadCounters,
    RecordChange, ScanGrid, shard_of,
};
use primescaler_dynamo::{ClientSettings, DynamoStore};
use primescaler_tests::events::EventShape;
use serde_json::Value;

use super::{Nodes, REGIONS, TABLE};

/// Records stored outside the grid before the reset.
const OUTSIDE_GRID: u64 = 100_000;
/// Puts in flight while filling, per node.
const FILL_IN_FLIGHT: usize = 64;

/// What the reset phase measured.
pub struct ResetFigures {
    /// Records the nodes held (and counted) before the reset.
    pub held: u64,
    /// The reset's status and its answer's `removed`.
    pub status: u16,
    pub removed: u64,
    /// How long `DELETE /cache` took to answer.
    pub answered: Duration,
    /// How long after the answer a viewer's read of every node's grid found no cell.
    pub grid_empty: Duration,
    /// Every node's record count once the reset answered.
    pub counts: Vec<u64>,
}

/// Stores every n of the grid and `OUTSIDE_GRID` more on its home node, written beside
/// the relays (only the reset is timed), and counts them there; answers how many.
async fn fill(nodes: &Nodes) -> u64 {
    let ring = Ring::new(&REGIONS);
    let mut held = 0;
    for (i, region) in REGIONS.iter().enumerate() {
        let emulator = nodes.emulators[i].as_ref().expect("the node is up");
        let store = DynamoStore::new(emulator.client(region).await, TABLE);
        let epoch = store.read_counters().await.expect("read the node").epoch;
        let homed: Vec<u64> = (1..=10_000 + OUTSIDE_GRID)
            .filter(|&n| ring.home(shard_of(n)) == i)
            .collect();
        let stored = stream::iter(homed)
            .map(|n| {
                let store = &store;
                async move {
                    let record = PrimeRecord::new(n, computation(), 1);
                    store.put_record_if_absent(&record, epoch).await
                }
            })
            .buffer_unordered(FILL_IN_FLIGHT)
            .filter(|put| std::future::ready(matches!(put, Ok(PutOutcome::Stored))))
            .count()
            .await as u64;
        let change = RecordChange {
            items: i64::try_from(stored).expect("a count"),
            grid: true,
            epoch,
        };
        assert!(store.count_change(change).await.expect("count the fill"));
        held += store.read_counters().await.expect("read the node").items;
    }
    held
}

/// A stand-in computation: the bench measures the reset, not the primes.
fn computation() -> Computation {
    Computation {
        prime: 2,
        calculator: "bench".into(),
        compute_micros: 1,
        fallback_reason: None,
    }
}

/// How many cells a viewer's read finds, over every node: each node's counters, then its
/// grid, as the page's server reads them.
async fn cells_seen(stores: &[DynamoStore]) -> usize {
    let reads = stores.iter().map(|store| async move {
        store.read_counters().await.expect("read the counters");
        store.scan_grid().await.expect("read the grid").cells.len()
    });
    futures::future::join_all(reads).await.into_iter().sum()
}

/// Fills the nodes, resets them through `deps`, and times the answer and the grid.
pub async fn reset_phase(nodes: &Nodes, deps: &LiveDeps) -> ResetFigures {
    let held = fill(nodes).await;
    let mut viewers = Vec::new();
    for (i, region) in REGIONS.iter().enumerate() {
        let settings = ClientSettings::for_emulator(*region, nodes.endpoint(i));
        let client = primescaler_dynamo::connect(&settings).await;
        viewers.push(DynamoStore::new(client, TABLE));
    }
    assert!(
        cells_seen(&viewers).await > 0,
        "the viewer sees the grid first"
    );

    let started = Instant::now();
    let response = handle(
        deps,
        EventShape::ApiGateway.request("DELETE", "/cache", None),
    )
    .await
    .expect("the handler always answers");
    let answered = started.elapsed();
    let body: Value = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let shown = Instant::now();
    while cells_seen(&viewers).await > 0 && shown.elapsed() < Duration::from_secs(30) {}
    let grid_empty = shown.elapsed();
    let mut counts = Vec::new();
    for store in &viewers {
        counts.push(store.read_counters().await.expect("read").items);
    }
    ResetFigures {
        held,
        status: response.status().as_u16(),
        removed: body["removed"].as_u64().unwrap_or(0),
        answered,
        grid_empty,
        counts,
    }
}

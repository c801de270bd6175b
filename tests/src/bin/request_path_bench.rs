//! The request-path benchmark, run against a local stack that `infra/bench-request-path.sh`
//! starts (three emulator nodes, the functions under `cargo lambda watch --release`, and
//! the API binary on its own serving plain HTTP):
//!
//! - (a) a raw DynamoDB GetItem from a Rust client, on the node that holds the keys;
//! - (b) `GET /primes/{n}` on a cache hit, over plain HTTP from the API binary on its own,
//!   over HTTP through `cargo lambda watch`, and the same handler called in process (the
//!   function's own share); `GET /health` both ways, the cost of watch's hop;
//! - (c) `GET /primes/{n}` on a miss, both ways;
//! - fill throughput: n = 1..10,000 from an empty cache at concurrency 16 and 64, through
//!   the API both ways, beside
//!   raw PutItem of the same records to the same nodes at the same concurrency, and raw
//!   GetItem + PutItem per n (what a miss that reads first needs at least);
//! - the cost of one full grid read.
//!
//! Every loop is bounded in count and in time, and targets loopback only.

#[path = "../../../docs/bench_section.rs"]
mod bench_section;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use primescaler_api::{ApiConfig, LiveDeps, handle};
use primescaler_cluster::{ClusterConfig, Ring};
use primescaler_core::{Epoch, GetRecord, PutRecordIfAbsent, RecordKey, shard_of};
use primescaler_dynamo::DynamoStore;
use primescaler_tests::bench::{Latencies, ms, record, sequential, throughput};
use primescaler_tests::events::EventShape;
use primescaler_tests::workspace_root;

const LATENCY_SAMPLES: usize = 2_000;
/// The hit and raw latencies are taken in this many alternating rounds.
const LATENCY_ROUNDS: usize = 20;

/// One timed call of a latency phase.
type Call = Pin<Box<dyn Future<Output = ()>>>;

/// Fills n = 1..10,000 through the API at `base` with `concurrency` workers; answers
/// fills per second and how many requests failed.
async fn fill(http: &reqwest::Client, base: &str, concurrency: usize) -> (f64, usize) {
    let (client, base) = (http.clone(), base.to_string());
    let failed = Arc::new(AtomicUsize::new(0));
    let failed_in_fill = Arc::clone(&failed);
    let rate = throughput(10_000, concurrency, move |i| {
        let (client, url) = (client.clone(), format!("{base}/primes/{}", i + 1));
        let failed = Arc::clone(&failed_in_fill);
        async move {
            let ok = match client.get(&url).send().await {
                Ok(response) => response.status().is_success(),
                Err(_) => false,
            };
            if !ok {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
    .await;
    (rate, failed.load(Ordering::Relaxed))
}

#[tokio::main]
async fn main() {
    let api = std::env::var("BENCH_API").expect("BENCH_API: the API's base URL");
    let direct = std::env::var("BENCH_API_DIRECT")
        .expect("BENCH_API_DIRECT: the base URL of the API binary serving plain HTTP");
    let cluster = ClusterConfig::from_lookup(|name| std::env::var(name).ok()).expect("the cluster");
    let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "primescaler-primes".into());
    let config = ApiConfig::from_env().expect("the API configuration");
    let deps = Arc::new(LiveDeps::connect(&config).await);
    let http = primescaler_tests::bench::http_client();
    let ring = Ring::new(&cluster.names());
    let stores: Arc<Vec<DynamoStore>> = Arc::new(
        deps.service
            .nodes()
            .iter()
            .map(|node| node.store.clone())
            .collect(),
    );
    let home = |n: u64| ring.home(shard_of(n));
    let get = |url: String| {
        let http = http.clone();
        async move {
            let response = http.get(&url).send().await.expect("the API answers");
            assert!(
                response.status().is_success(),
                "{url}: {}",
                response.status()
            );
            response.bytes().await.expect("a body");
        }
    };
    let token = std::env::var("RESET_TOKEN").unwrap_or_default();
    let reset = || async {
        let response = http
            .delete(format!("{api}/cache"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("reset");
        assert!(
            response.status().is_success(),
            "reset: {}",
            response.status()
        );
    };

    // Hits on node 0: cache n = 1..=500 whose home is node 0.
    reset().await;
    let hits: Vec<u64> = (1..=10_000u64)
        .filter(|&n| home(n) == 0)
        .take(500)
        .collect();
    for &n in &hits {
        get(format!("{api}/primes/{n}")).await;
    }
    let hit_keys: Vec<RecordKey> = hits.iter().map(|&n| RecordKey::for_index(n)).collect();

    // (a) raw GetItem on node 0; (b) hits over plain HTTP (the API binary on its own),
    // through cargo lambda watch, and in process; GET /health both ways, which reads
    // nothing. Taken in turns, a round of each at a time, so that a drift in the
    // machine's load touches them all.
    let raw_call = |i: usize| -> Call {
        let (stores, key) = (Arc::clone(&stores), hit_keys[i % hit_keys.len()]);
        Box::pin(async move {
            stores[0]
                .get_entry(key)
                .await
                .expect("GetItem")
                .expect("a cached key");
        })
    };
    let direct_call =
        |i: usize| -> Call { Box::pin(get(format!("{direct}/primes/{}", hits[i % hits.len()]))) };
    let watch_call =
        |i: usize| -> Call { Box::pin(get(format!("{api}/primes/{}", hits[i % hits.len()]))) };
    let local_call = |i: usize| -> Call {
        let deps = Arc::clone(&deps);
        let target = format!("/primes/{}", hits[i % hits.len()]);
        Box::pin(async move {
            let response = handle(&deps, EventShape::ApiGateway.request("GET", &target, None))
                .await
                .expect("an answer");
            assert!(response.status().is_success());
        })
    };
    let health_direct_call = |_: usize| -> Call { Box::pin(get(format!("{direct}/health"))) };
    let health_watch_call = |_: usize| -> Call { Box::pin(get(format!("{api}/health"))) };
    let calls: [&dyn Fn(usize) -> Call; 6] = [
        &raw_call,
        &direct_call,
        &watch_call,
        &local_call,
        &health_direct_call,
        &health_watch_call,
    ];
    let mut taken: [(Latencies, Duration); 6] =
        std::array::from_fn(|_| (Latencies(Vec::new()), Duration::ZERO));
    let per_round = LATENCY_SAMPLES / LATENCY_ROUNDS;
    for round in 0..LATENCY_ROUNDS {
        let first = round * per_round;
        for (call, (latencies, time)) in calls.iter().zip(taken.iter_mut()) {
            let (samples, elapsed) = sequential(per_round, |i| call(first + i)).await;
            latencies.0.extend(samples.0);
            *time += elapsed;
        }
    }
    let [
        raw,
        hit_direct,
        hit_watch,
        hit_local,
        health_direct,
        health_watch,
    ] = taken;

    // (c) misses over HTTP, both ways: n from 10,001 up, never cached before.
    let miss_watch = sequential(1_000, |i| get(format!("{api}/primes/{}", 10_001 + i))).await;
    let miss_direct = sequential(1_000, |i| get(format!("{direct}/primes/{}", 11_001 + i))).await;

    // Fill: n = 1..10,000 from empty, through the API both ways and as raw PutItem.
    let mut fill_rows = Vec::new();
    for concurrency in [16usize, 64] {
        reset().await;
        let (watch_rate, watch_failed) = fill(&http, &api, concurrency).await;
        reset().await;
        let (direct_rate, direct_failed) = fill(&http, &direct, concurrency).await;
        reset().await;
        let (stores_for_put, ring_for_put) = (Arc::clone(&stores), ring.clone());
        let raw_rate = throughput(10_000, concurrency, move |i| {
            let stores = Arc::clone(&stores_for_put);
            let n = i as u64 + 1;
            let node = ring_for_put.home(shard_of(n));
            async move {
                stores[node]
                    .put_record_if_absent(&record(n), Epoch::default())
                    .await
                    .expect("PutItem");
            }
        })
        .await;
        // The least a miss that reads before it writes needs: one GetItem, then the put.
        reset().await;
        let (stores_for_pair, ring_for_pair) = (Arc::clone(&stores), ring.clone());
        let pair_rate = throughput(10_000, concurrency, move |i| {
            let stores = Arc::clone(&stores_for_pair);
            let n = i as u64 + 1;
            let node = ring_for_pair.home(shard_of(n));
            async move {
                let found = stores[node]
                    .get_entry(RecordKey::for_index(n))
                    .await
                    .expect("GetItem");
                assert!(found.is_none(), "n = {n} was stored before");
                stores[node]
                    .put_record_if_absent(&record(n), Epoch::default())
                    .await
                    .expect("PutItem");
            }
        })
        .await;
        fill_rows.push(format!(
            "| {concurrency} | {raw_rate:.0} | {direct_rate:.0} ({direct_failed}) | **{:.0}%** | {watch_rate:.0} ({watch_failed}) | {:.0}% | {pair_rate:.0} | {:.0}% |",
            100.0 * direct_rate / raw_rate,
            100.0 * watch_rate / raw_rate,
            100.0 * pair_rate / raw_rate,
        ));
    }

    // One full grid read through the API, after a fill of 1..10,000.
    reset().await;
    let client = http.clone();
    let base = api.clone();
    throughput(10_000, 16, move |i| {
        let (client, url) = (client.clone(), format!("{base}/primes/{}", i + 1));
        async move {
            client.get(&url).send().await.expect("the API answers");
        }
    })
    .await;
    let started = Instant::now();
    let (mut pages, mut bytes, mut items) = (0usize, 0usize, 0usize);
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            None => format!("{api}/cache?limit=10000"),
            Some(c) => format!("{api}/cache?limit=10000&cursor={c}"),
        };
        let body = http.get(&url).send().await.unwrap().bytes().await.unwrap();
        pages += 1;
        bytes += body.len();
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        items += page["items"].as_array().unwrap().len();
        cursor = page["next"].as_str().map(String::from);
        if cursor.is_none() || pages > 100 {
            break;
        }
    }
    let grid_time = started.elapsed();
    reset().await;

    let latency_rows = [
        raw.0.row("(a) raw GetItem, Rust SDK → emulator", raw.1),
        hit_direct.0.row(
            "(b) hit: GET /primes/{n} over HTTP, the API binary serving on its own",
            hit_direct.1,
        ),
        hit_watch.0.row(
            "(b) hit: GET /primes/{n} over HTTP through cargo lambda watch",
            hit_watch.1,
        ),
        hit_local.0.row(
            "(b′) hit: the handler in process (event in, response out)",
            hit_local.1,
        ),
        miss_direct.0.row(
            "(c) miss: GET /primes/{n} over HTTP, the API binary (n > 10,000, computed and stored)",
            miss_direct.1,
        ),
        miss_watch.0.row(
            "(c) miss: GET /primes/{n} over HTTP through cargo lambda watch",
            miss_watch.1,
        ),
        health_direct.0.row(
            "GET /health (reads nothing), the API binary",
            health_direct.1,
        ),
        health_watch
            .0
            .row("GET /health through cargo lambda watch", health_watch.1),
    ];
    for row in latency_rows.iter().chain(&fill_rows) {
        println!("{row}");
    }
    let p50 = |latencies: &Latencies| ms(latencies.percentile(0.5));
    let added_direct = p50(&hit_direct.0) - p50(&raw.0);
    let added_watch = p50(&hit_watch.0) - p50(&raw.0);
    let added_local = p50(&hit_local.0) - p50(&raw.0);
    let watch_hop = p50(&health_watch.0) - p50(&health_direct.0);
    println!(
        "hit adds {added_direct:.3} ms at p50 over plain HTTP, {added_watch:.3} ms through \
         cargo lambda watch, {added_local:.3} ms in process; watch's hop on /health {watch_hop:.3} ms"
    );

    let date = bench_section::utc_date();
    let section = format!(
        "## Request path, fill throughput and grid read\n\n\
         Command: `make bench-request-path` (`infra/bench-request-path.sh`). {date}; 2 cores. \
         The local stack: three {emulator} nodes ({nodes}), table `{table}`; the functions in release \
         mode under `cargo lambda watch` with 8 function instances (what `make dev` runs), and \
         beside them the API binary on its own, run without the Lambda runtime API so that it \
         serves its axum `Router` as plain HTTP (`API_PORT`). Sequential latencies; (a), the \
         three (b) rows and the two /health rows are taken in {LATENCY_ROUNDS} alternating \
         rounds; throughput is calls ÷ wall time.\n\n\
         | path | calls | p50 ms | p99 ms | calls/s |\n|---|---|---|---|---|\n{}\n\n\
         A cache hit adds **{added_direct:.3} ms** at p50 over a raw GetItem, over HTTP from the \
         API binary (target ≤ 1 ms); the handler's own share, in process, is {added_local:.3} ms. \
         Through `cargo lambda watch` a hit adds {added_watch:.3} ms: the emulated Lambda runtime \
         carries each request over two more loopback HTTP exchanges (the invoke, then the \
         function's poll and its response, each through the instance's runtime relay: \
         docs/local.md), which costs {watch_hop:.3} ms on `GET /health`, a \
         request that reads nothing. The rest of the gap between the two hit rows, \
         {unexplained:.3} ms, is not taken apart.\n\n\
         Fill of n = 1..10,000 from an empty cache, beside raw PutItem of the same items to the \
         same nodes (target ≥ 50%). Every request is a miss: an instance reads n's arbiter, \
         computes, and puts conditionally; after {streak} misses in a row it computes first and \
         puts conditionally, one call per n. Failed requests in brackets. The last two columns \
         are a reference: a raw GetItem then the PutItem for each n, the least any miss that \
         reads first needs.\n\n\
         | concurrency | raw PutItem/s | API binary fills/s | binary ÷ raw | through watch fills/s | watch ÷ raw | raw GetItem + PutItem/s | that ÷ raw |\n\
         |---|---|---|---|---|---|---|---|\n{}\n\n\
         One full grid read through `GET /cache?limit=10000`, after a fill of n = 1..10,000 at concurrency 16: \
         {pages} HTTP requests (one DynamoDB Scan each), {items} items, {kb:.0} KB of JSON, in {grid_ms:.0} ms.\n",
        latency_rows.join("\n"),
        fill_rows.join("\n"),
        nodes = cluster.names().join(", "),
        emulator = std::env::var("EMULATOR").unwrap_or_else(|_| "dynalite".into()),
        streak = primescaler_cluster::service::WRITE_FIRST_AFTER,
        kb = bytes as f64 / 1024.0,
        grid_ms = ms(grid_time),
        unexplained = added_watch - added_direct - watch_hop,
    );
    bench_section::write_section(&workspace_root(), "request-path", &section);
    println!("written to docs/benchmarks.md");
}

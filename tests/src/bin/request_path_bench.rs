//! The request-path benchmark, run against a local stack that `infra/bench-request-path.sh`
//! starts (three emulator nodes and the functions under `cargo lambda watch --release`):
//!
//! - (a) a raw DynamoDB GetItem from a Rust client, on the node that holds the keys;
//! - (b) `GET /primes/{n}` on a cache hit, over HTTP, and the same handler called in
//!   process (the function's own share);
//! - (c) `GET /primes/{n}` on a miss;
//! - fill throughput: n = 1..10,000 from an empty cache at concurrency 16 and 64, beside
//!   raw PutItem of the same records to the same nodes at the same concurrency, and raw
//!   GetItem + PutItem per n (what a miss that reads first needs at least);
//! - the cost of one full grid read.
//!
//! Every loop is bounded in count and in time, and targets loopback only.

#[path = "../../../docs/bench_section.rs"]
mod bench_section;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use primescaler_api::{ApiConfig, LiveDeps, handle};
use primescaler_cluster::{ClusterConfig, Ring};
use primescaler_core::{
    Computation, GetRecord, PrimeRecord, PutRecordIfAbsent, RecordKey, shard_of,
};
use primescaler_dynamo::DynamoStore;
use primescaler_tests::bench::{Latencies, ms, sequential, throughput};
use primescaler_tests::events::EventShape;
use primescaler_tests::workspace_root;

const LATENCY_SAMPLES: usize = 2_000;
/// The hit and raw latencies are taken in this many alternating rounds.
const LATENCY_ROUNDS: usize = 20;

fn record(n: u64) -> PrimeRecord {
    PrimeRecord::new(
        n,
        Computation {
            prime: 2,
            calculator: "bench".into(),
            compute_micros: 0,
            fallback_reason: None,
        },
        0,
    )
}

#[tokio::main]
async fn main() {
    let api = std::env::var("BENCH_API").expect("BENCH_API: the API's base URL");
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

    // (a) raw GetItem on node 0, (b) hits over HTTP and in process: taken in turns, a
    // round of each at a time, so that a drift in the machine's load touches all three.
    let raw_call = |i: usize| {
        let (stores, key) = (Arc::clone(&stores), hit_keys[i % hit_keys.len()]);
        async move {
            stores[0]
                .get_entry(key)
                .await
                .expect("GetItem")
                .expect("a cached key");
        }
    };
    let http_call = |i: usize| get(format!("{api}/primes/{}", hits[i % hits.len()]));
    let local_call = |i: usize| {
        let deps = Arc::clone(&deps);
        let target = format!("/primes/{}", hits[i % hits.len()]);
        async move {
            let response = handle(&deps, EventShape::ApiGateway.request("GET", &target, None))
                .await
                .expect("an answer");
            assert!(response.status().is_success());
        }
    };
    let per_round = LATENCY_SAMPLES / LATENCY_ROUNDS;
    let (mut raw, mut hit_http, mut hit_local) = (
        Latencies(Vec::new()),
        Latencies(Vec::new()),
        Latencies(Vec::new()),
    );
    let (mut raw_time, mut hit_http_time, mut hit_local_time) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for round in 0..LATENCY_ROUNDS {
        let first = round * per_round;
        let (samples, time) = sequential(per_round, |i| raw_call(first + i)).await;
        raw.0.extend(samples.0);
        raw_time += time;
        let (samples, time) = sequential(per_round, |i| http_call(first + i)).await;
        hit_http.0.extend(samples.0);
        hit_http_time += time;
        let (samples, time) = sequential(per_round, |i| local_call(first + i)).await;
        hit_local.0.extend(samples.0);
        hit_local_time += time;
    }

    // (c) misses over HTTP: n from 10,001 up, never cached before.
    let (miss_http, miss_http_time) =
        sequential(1_000, |i| get(format!("{api}/primes/{}", 10_001 + i))).await;

    // Fill: n = 1..10,000 from empty, through the API and as raw PutItem.
    let mut fill_rows = Vec::new();
    for concurrency in [16usize, 64] {
        reset().await;
        let base = api.clone();
        let client = http.clone();
        let failed = Arc::new(AtomicUsize::new(0));
        let failed_in_fill = Arc::clone(&failed);
        let api_rate = throughput(10_000, concurrency, move |i| {
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
        let failed = failed.load(Ordering::Relaxed);
        reset().await;
        let (stores_for_put, ring_for_put) = (Arc::clone(&stores), ring.clone());
        let raw_rate = throughput(10_000, concurrency, move |i| {
            let stores = Arc::clone(&stores_for_put);
            let n = i as u64 + 1;
            let node = ring_for_put.home(shard_of(n));
            async move {
                stores[node]
                    .put_record_if_absent(&record(n))
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
                    .put_record_if_absent(&record(n))
                    .await
                    .expect("PutItem");
            }
        })
        .await;
        fill_rows.push(format!(
            "| {concurrency} | {api_rate:.0} | {failed} | {raw_rate:.0} | {:.0}% | {pair_rate:.0} | {:.0}% |",
            100.0 * api_rate / raw_rate,
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
        raw.row("(a) raw GetItem, Rust SDK → emulator", raw_time),
        hit_http.row(
            "(b) hit: GET /primes/{n} over HTTP via cargo lambda watch",
            hit_http_time,
        ),
        hit_local.row(
            "(b′) hit: the handler in process (event in, response out)",
            hit_local_time,
        ),
        miss_http.row(
            "(c) miss: GET /primes/{n} over HTTP (n > 10,000, computed and stored)",
            miss_http_time,
        ),
    ];
    for row in latency_rows.iter().chain(&fill_rows) {
        println!("{row}");
    }
    let added_http = ms(hit_http.percentile(0.5)) - ms(raw.percentile(0.5));
    let added_local = ms(hit_local.percentile(0.5)) - ms(raw.percentile(0.5));
    println!("hit adds {added_http:.3} ms at p50 over HTTP, {added_local:.3} ms in process");

    let date = bench_section::utc_date();
    let section = format!(
        "## Request path, fill throughput and grid read\n\n\
         Command: `make bench-request-path` (`infra/bench-request-path.sh`). {date}; 2 cores. \
         The local stack: three moto nodes ({nodes}), table `{table}`, the API under \
         `cargo lambda watch --release` with 8 function instances. Sequential latencies; \
         (a), (b) and (b′) are taken in {LATENCY_ROUNDS} alternating rounds; \
         throughput is calls ÷ wall time.\n\n\
         | path | calls | p50 ms | p99 ms | calls/s |\n|---|---|---|---|---|\n{}\n\n\
         A cache hit adds **{added_http:.3} ms** at p50 over a raw GetItem through HTTP and \
         `cargo lambda watch` (target ≤ 1 ms), of which the function itself adds **{added_local:.3} ms**.\n\n\
         Fill of n = 1..10,000 from an empty cache, beside raw PutItem of the same items to the \
         same nodes (target ≥ 50%). Every request is a miss: an instance reads n's arbiter, \
         computes, and puts conditionally; after {streak} misses in a row it computes first and \
         puts conditionally, one call per n. The last two columns are a reference: a raw \
         GetItem then the PutItem for each n, the least any miss that reads first needs.\n\n\
         | concurrency | API fills/s | API requests failed | raw PutItem/s | API ÷ raw | raw GetItem + PutItem/s | that ÷ raw |\n|---|---|---|---|---|---|---|\n{}\n\n\
         One full grid read through `GET /cache?limit=10000`, after a fill of n = 1..10,000 at concurrency 16: \
         {pages} HTTP requests (one DynamoDB Scan each), {items} items, {kb:.0} KB of JSON, in {grid_ms:.0} ms.\n",
        latency_rows.join("\n"),
        fill_rows.join("\n"),
        nodes = cluster.names().join(", "),
        streak = primescaler_cluster::service::WRITE_FIRST_AFTER,
        kb = bytes as f64 / 1024.0,
        grid_ms = ms(grid_time),
    );
    bench_section::write_section(&workspace_root(), "request-path", &section);
    println!("written to docs/benchmarks.md");
}

//! The UI benchmark, run against a local stack that `infra/bench-ui.sh` starts (three
//! emulator nodes, dynalite unless `EMULATOR` says otherwise; the functions under
//! `cargo lambda watch --release`). Each figure stands beside a reference from the same
//! run:
//!
//! - bulk fill from the page (headless Chromium, `tests/ui/bulk.mjs`) beside the same
//!   fill by an HTTP client at the same concurrency;
//! - with the grid full: the grid read and server render in process (beside a whole
//!   table scan of every node, the read before the grid index), an unchanged `GET /grid`
//!   beside `GET /health` on the same stack, the page's first byte, its weight, and time
//!   to interactive (`tests/ui/tti.mjs`);
//! - 1 and 100 viewers polling once a second, through one UI instance in this process:
//!   store reads per second, poll latency, and the emulators' memory;
//! - the grid read before and after 100,000 records outside the grid are stored, beside
//!   the whole-table scan, which grows with them.
//!
//! `ui_bench soak` instead keeps one page's poll going for `BENCH_SOAK_MINUTES` (30) and
//! records the emulators' memory each minute. Every loop is bounded in count and in
//! time, and targets loopback only.

#[path = "../../../docs/bench_section.rs"]
mod bench_section;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use primescaler_cluster::GridReader;
use primescaler_core::{ScanRecords, shard_of};
use primescaler_dynamo::{ClientSettings, DynamoStore, connect};
use primescaler_tests::bench::{
    Latencies, emulator_pids, http_client, ms, resident_bytes, sequential, throughput,
};
use primescaler_tests::workspace_root;
use primescaler_ui::live::FRESH_FOR;
use primescaler_ui::{ASSET_FILES, AssetVersion, LiveUiDeps, UiConfig, render_page, router};
use primescaler_ui_app::model::PageState;

/// Samples of each timed path.
const RUNS: usize = 20;
/// Page loads in Chromium, each in a fresh context (nothing cached).
const BROWSER_LOADS: &str = "10";
/// The page-weight budget, gzip.
const BUDGET_BYTES: usize = 250 * 1024;
/// n computed by the bulk-fill comparison, from the page and from the HTTP client.
const BULK_K: usize = 2_000;
/// The concurrency of both bulk fills.
const BULK_CONCURRENCY: usize = 16;
/// Records stored outside the grid for the growth check.
const OUTSIDE: u64 = 100_000;
/// How long the 100 viewers poll; the single viewer polls for a third of it.
const VIEWING: Duration = Duration::from_secs(60);

/// The body of `GET {url}`, gzip or not. A call that the local Lambda emulation drops
/// (no answer, or its own bare 500) is made again, at most twice.
async fn fetch(http: &reqwest::Client, url: &str, gzip: bool) -> Vec<u8> {
    for attempt in 1..=3 {
        let mut request = http.get(url);
        if gzip {
            request = request.header("Accept-Encoding", "gzip");
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                return response.bytes().await.expect("a body").to_vec();
            }
            Ok(response) if response.status().is_server_error() && attempt < 3 => {
                eprintln!("GET {url}: {}, trying again", response.status());
            }
            Ok(response) => panic!("GET {url}: {}", response.status()),
            Err(error) if attempt < 3 => eprintln!("GET {url}: {error}, trying again"),
            Err(error) => panic!("GET {url}: {error}"),
        }
    }
    unreachable!("the third attempt returns or panics")
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn p50(latencies: &Latencies) -> f64 {
    ms(latencies.percentile(0.5))
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

/// The emulators' resident memory, in MB.
fn emulators_mb() -> f64 {
    emulator_pids().into_iter().map(resident_bytes).sum::<u64>() as f64 / 1e6
}

/// The stack under test: its URL, its reset token, the UI settings and each node's store.
struct Stack {
    base: String,
    token: String,
    config: UiConfig,
    stores: Vec<DynamoStore>,
    http: reqwest::Client,
}

impl Stack {
    async fn from_env() -> Self {
        let config = UiConfig::from_env().expect("the UI configuration");
        let mut stores = Vec::new();
        for node in &config.cluster.nodes {
            let settings = ClientSettings::for_node(&node.name, node.endpoint.as_deref());
            stores.push(DynamoStore::new(connect(&settings).await, &config.table));
        }
        Self {
            base: std::env::var("BENCH_API").expect("BENCH_API: the stack's base URL"),
            token: std::env::var("RESET_TOKEN").expect("RESET_TOKEN"),
            config,
            stores,
            http: http_client(),
        }
    }

    async fn reset(&self) {
        let reset = self
            .http
            .delete(format!("{}/cache", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("reset");
        assert!(reset.status().is_success(), "reset: {}", reset.status());
    }

    /// Computes n = 1..=k through the API, `concurrency` at a time; answers requests per
    /// second. Calls the emulation dropped are made again after (not timed).
    async fn fill(&self, k: usize, concurrency: usize) -> f64 {
        let (client, api) = (self.http.clone(), self.base.clone());
        let rate = throughput(k, concurrency, move |i| {
            let (client, url) = (client.clone(), format!("{api}/primes/{}", i + 1));
            async move {
                let _ = client.get(&url).send().await;
            }
        })
        .await;
        let deps = LiveUiDeps::connect(&self.config).await;
        let snapshot = deps.grid.current().await;
        let mut cached = vec![false; k + 1];
        for cell in snapshot.cells.iter().filter(|c| c.n as usize <= k) {
            cached[cell.n as usize] = true;
        }
        for n in (1..=k).filter(|&n| !cached[n]) {
            fetch(&self.http, &format!("{}/primes/{n}", self.base), false).await;
        }
        rate
    }

    /// The whole-table read of every node in turn, page by page: what a grid read cost
    /// before the grid index, and what it would cost without one.
    async fn scan_every_table(&self) -> usize {
        let mut items = 0;
        for store in &self.stores {
            let mut cursor = None;
            loop {
                let page = store.scan_records(cursor, 10_000).await.expect("scan");
                items += page.records.len();
                cursor = page.next;
                if cursor.is_none() {
                    break;
                }
            }
        }
        items
    }

    /// A grid reader over the stack's nodes, with nothing read yet.
    fn reader(&self) -> GridReader<DynamoStore> {
        let nodes = self
            .config
            .cluster
            .names()
            .into_iter()
            .zip(self.stores.iter().cloned())
            .collect();
        GridReader::new(nodes, self.config.scan_budget)
    }
}

/// What the viewers of one run saw.
struct Viewing {
    viewers: usize,
    polls: Latencies,
    changed: usize,
    store_reads_per_s: f64,
    memory_growth_mb: f64,
}

/// `viewers` pages polling one UI instance in this process once a second for `length`,
/// each with its own ETag, while a writer changes a cell every 2 s through the API.
async fn view(stack: &Stack, viewers: usize, length: Duration) -> Viewing {
    let deps = Arc::new(LiveUiDeps::connect(&stack.config).await);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind a loopback port");
    let ui = format!("http://{}", listener.local_addr().expect("an address"));
    let served = Arc::clone(&deps);
    let server = tokio::spawn(async move { axum::serve(listener, router(served)).await });
    let nodes = stack.config.cluster.nodes.len() as u64;
    let memory_before = emulators_mb();
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (http, base, token, stop) = (
            stack.http.clone(),
            stack.base.clone(),
            stack.token.clone(),
            Arc::clone(&stop),
        );
        tokio::spawn(async move {
            let mut evict = true;
            while !stop.load(Ordering::Relaxed) {
                let request = if evict {
                    http.delete(format!("{base}/primes/9990"))
                        .bearer_auth(&token)
                } else {
                    http.get(format!("{base}/primes/9990"))
                };
                let _ = request.send().await;
                evict = !evict;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        })
    };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..viewers {
        let (http, url) = (stack.http.clone(), format!("{ui}/grid"));
        tasks.spawn(async move {
            // Each page polls at its own offset within the second.
            tokio::time::sleep(Duration::from_millis(fastrand::u64(0..1000))).await;
            let mut etag = String::new();
            let mut samples = Vec::new();
            let mut changed = 0;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            while started.elapsed() < length {
                tick.tick().await;
                let t = Instant::now();
                let response = http
                    .get(&url)
                    .header("If-None-Match", &etag)
                    .send()
                    .await
                    .expect("the UI answers");
                if response.status() == reqwest::StatusCode::OK {
                    changed += 1;
                    etag = response.headers()["etag"].to_str().unwrap().to_string();
                    response.bytes().await.expect("a body");
                }
                samples.push(t.elapsed());
            }
            (samples, changed)
        });
    }
    let mut samples = Vec::new();
    let mut changed = 0;
    for (viewer, seen) in tasks.join_all().await {
        samples.extend(viewer);
        changed += seen;
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    writer.await.expect("the writer stops");
    server.abort();
    // One GetItem per node per read, and every item a scan read.
    let store_reads = deps.grid.reads() * nodes + deps.grid.scanned_items();
    Viewing {
        viewers,
        polls: Latencies(samples),
        changed,
        store_reads_per_s: store_reads as f64 / elapsed.as_secs_f64(),
        memory_growth_mb: emulators_mb() - memory_before,
    }
}

/// Stores `OUTSIDE` records with n above the grid, spread over the nodes, in batches of
/// 25 (the most DynamoDB takes): real primes, as the API would store them.
async fn store_outside_the_grid(stack: &Stack) {
    let first = 10_001u64;
    let last = first + OUTSIDE - 1;
    let primes = primescaler_calculator::sieve::primes_up_to(
        primescaler_calculator::sieve::nth_prime_upper_bound(last),
    );
    let mut clients = Vec::new();
    for node in &stack.config.cluster.nodes {
        let settings = ClientSettings::for_node(&node.name, node.endpoint.as_deref());
        clients.push(connect(&settings).await);
    }
    let number = |v: u64| AttributeValue::N(v.to_string());
    let batches: Vec<(usize, Vec<WriteRequest>)> = (first..=last)
        .collect::<Vec<u64>>()
        .chunks(25)
        .enumerate()
        .map(|(i, ns)| {
            let writes = ns
                .iter()
                .map(|&n| {
                    let item = [
                        ("shard", number(u64::from(shard_of(n)))),
                        ("n", number(n)),
                        ("prime", number(primes[(n - 1) as usize])),
                        ("calculator", AttributeValue::S("bench".into())),
                        ("compute_micros", number(0)),
                        ("computed_at", number(0)),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                        .build()
                })
                .collect();
            (i % clients.len(), writes)
        })
        .collect();
    let table = stack.config.table.clone();
    let batches = Arc::new(std::sync::Mutex::new(batches));
    let clients = Arc::new(clients);
    throughput(OUTSIDE.div_ceil(25) as usize, 8, move |_| {
        let (batches, clients, table) = (Arc::clone(&batches), Arc::clone(&clients), table.clone());
        async move {
            let Some((node, mut writes)) = batches.lock().unwrap().pop() else {
                return;
            };
            while !writes.is_empty() {
                let answer = clients[node]
                    .batch_write_item()
                    .request_items(&table, writes)
                    .send()
                    .await
                    .expect("a batch write");
                writes = answer
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&table))
                    .unwrap_or_default();
            }
        }
    })
    .await;
}

/// The grid read before and after the records outside it: unchanged (the version read
/// alone), cold (every node's grid scanned), and the whole-table reference.
struct GrowthRow {
    unchanged: Latencies,
    cold: Latencies,
    whole_table: Latencies,
}

async fn growth_row(stack: &Stack) -> GrowthRow {
    let warm = stack.reader();
    warm.read().await;
    let (unchanged, _) = sequential(RUNS * 2, |_| async {
        assert!(warm.read().await.scanned_nodes.is_empty());
    })
    .await;
    let (cold, _) = sequential(RUNS, |_| async {
        assert_eq!(stack.reader().read().await.cells.len(), 10_000);
    })
    .await;
    let (whole_table, _) = sequential(5, |_| async {
        stack.scan_every_table().await;
    })
    .await;
    GrowthRow {
        unchanged,
        cold,
        whole_table,
    }
}

/// Time to interactive in Chromium: the medians of all, of the browser's share, and of
/// the reference (the same HTML without its script).
fn time_to_interactive(base: &str) -> (Vec<f64>, f64, f64, u64) {
    let output = Command::new("node")
        .current_dir(workspace_root())
        .args(["tests/ui/tti.mjs", base, BROWSER_LOADS])
        .output()
        .expect("node runs tests/ui/tti.mjs");
    assert!(
        output.status.success(),
        "tti.mjs: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let loads: serde_json::Value = serde_json::from_slice(&output.stdout).expect("tti.mjs JSON");
    let series = |name: &str| -> Vec<f64> {
        loads[name]
            .as_array()
            .expect("a series")
            .iter()
            .map(|v| v.as_f64().expect("a number"))
            .collect()
    };
    let mut tti = series("hydrated");
    assert!(!tti.is_empty(), "no load of the page hydrated");
    median(&mut tti);
    let browser = median(&mut series("afterFirstByte"));
    let reference = median(&mut series("staticLoad"));
    (
        tti,
        browser,
        reference,
        loads["failed"].as_u64().unwrap_or(0),
    )
}

/// The page's bulk fill of 1..=BULK_K in Chromium (`tests/ui/bulk.mjs`), requests/s.
fn page_bulk_fill(base: &str) -> f64 {
    let output = Command::new("node")
        .current_dir(workspace_root())
        .args([
            "tests/ui/bulk.mjs",
            base,
            &BULK_K.to_string(),
            &BULK_CONCURRENCY.to_string(),
        ])
        .output()
        .expect("node runs tests/ui/bulk.mjs");
    assert!(
        output.status.success(),
        "bulk.mjs: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run: serde_json::Value = serde_json::from_slice(&output.stdout).expect("bulk.mjs JSON");
    assert_eq!(
        run["failed"], 0,
        "the page's bulk run failed requests: {run}"
    );
    run["perSecond"].as_f64().expect("a rate")
}

async fn soak(stack: &Stack) {
    let minutes: u64 = std::env::var("BENCH_SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(30)
        .clamp(1, 120);
    stack.reset().await;
    stack.fill(10_000, 16).await;
    let url = format!("{}/grid", stack.base);
    let mut samples = vec![(0, emulators_mb())];
    let started = Instant::now();
    let mut etag = String::new();
    let mut polls = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while started.elapsed() < Duration::from_secs(minutes * 60) {
        tick.tick().await;
        if let Ok(response) = stack
            .http
            .get(&url)
            .header("If-None-Match", &etag)
            .send()
            .await
        {
            if response.status() == reqwest::StatusCode::OK {
                etag = response.headers()["etag"].to_str().unwrap().to_string();
            }
            polls += 1;
        }
        let minute = started.elapsed().as_secs() / 60;
        if minute > samples.last().unwrap().0 {
            samples.push((minute, emulators_mb()));
            println!("minute {minute}: {:.1} MB", samples.last().unwrap().1);
        }
    }
    let growth = samples.last().unwrap().1 - samples[0].1;
    let rows: Vec<String> = samples
        .iter()
        .map(|(m, mb)| format!("| {m} | {mb:.1} |"))
        .collect();
    let section = format!(
        "## UI soak: the emulators' memory under one open page\n\n\
         Command: `make bench-soak` (`infra/bench-ui.sh soak`, `BENCH_SOAK_MINUTES`, default 30). \
         {date}; 2 cores; emulator: {emulator}. The grid full, one page's poll of `GET /grid` \
         once a second with its ETag ({polls} polls) through `cargo lambda watch` for \
         {minutes} min.\n\n| minute | emulators' resident memory, MB (three nodes) |\n|---|---|\n{rows}\n\n\
         Growth: **{growth:.1} MB** (target ≤ 64 MB: {ok}).\n",
        date = bench_section::utc_date(),
        emulator = std::env::var("EMULATOR").unwrap_or_else(|_| "dynalite".into()),
        rows = rows.join("\n"),
        ok = verdict(growth <= 64.0),
    );
    bench_section::write_section(&workspace_root(), "ui-soak", &section);
    println!("written to docs/benchmarks.md");
}

#[tokio::main]
async fn main() {
    let stack = Stack::from_env().await;
    if std::env::args().nth(1).as_deref() == Some("soak") {
        return soak(&stack).await;
    }
    let http = stack.http.clone();
    let base = stack.base.clone();
    let emulator = std::env::var("EMULATOR").unwrap_or_else(|_| "dynalite".into());

    // Bulk fill: from the page, then by an HTTP client, each from an empty grid.
    stack.reset().await;
    let page_rate = page_bulk_fill(&base);
    stack.reset().await;
    let client_rate = stack.fill(BULK_K, BULK_CONCURRENCY).await;
    println!("bulk fill: page {page_rate:.0}/s, client {client_rate:.0}/s");

    // The grid, full.
    stack.reset().await;
    let fill_rate = stack.fill(10_000, 16).await;

    // Scan + render in process, from nothing read, beside the whole-table read.
    let (cold_read, cold_time) = sequential(RUNS, |_| async {
        let deps = LiveUiDeps::connect(&stack.config).await;
        let snapshot = deps.grid.current().await;
        assert_eq!(snapshot.cells.len(), 10_000);
    })
    .await;
    let (whole, whole_time) = sequential(5, |_| async {
        assert!(stack.scan_every_table().await >= 10_000);
    })
    .await;
    let deps = LiveUiDeps::connect(&stack.config).await;
    let state = PageState {
        grid: (*deps.grid.current().await).clone(),
        max_n: stack.config.max_n,
        strategy: stack.config.cluster.strategy.as_str().into(),
    };
    let version = AssetVersion::current();
    let (render, render_time) = sequential(RUNS, |_| {
        let html = render_page(&state, &version);
        assert!(html.len() > 500_000);
        async {}
    })
    .await;

    // Over HTTP through the stack: an unchanged poll (each past the shared snapshot's
    // freshness, so each reads the nodes' versions) beside `GET /health`, alternating.
    let etag = http
        .get(format!("{base}/grid"))
        .send()
        .await
        .expect("the stack answers")
        .headers()["etag"]
        .clone();
    let (mut polls, mut health) = (Vec::new(), Vec::new());
    let mut answered_200 = 0;
    for _ in 0..RUNS * 2 {
        tokio::time::sleep(FRESH_FOR + Duration::from_millis(50)).await;
        let t = Instant::now();
        let response = http
            .get(format!("{base}/grid"))
            .header("If-None-Match", &etag)
            .send()
            .await
            .expect("the stack answers");
        polls.push(t.elapsed());
        answered_200 += usize::from(response.status() == reqwest::StatusCode::OK);
        let t = Instant::now();
        fetch(&http, &format!("{base}/health"), false).await;
        health.push(t.elapsed());
    }
    let (polls, health) = (Latencies(polls), Latencies(health));
    let poll_ratio = p50(&polls) / p50(&health);

    // The page's first byte (time to the response's head), each past the freshness.
    let mut first_bytes = Vec::new();
    for _ in 0..RUNS {
        tokio::time::sleep(FRESH_FOR + Duration::from_millis(50)).await;
        let t = Instant::now();
        let response = http
            .get(format!("{base}/"))
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .expect("the stack answers");
        first_bytes.push(t.elapsed());
        response.bytes().await.expect("the page");
    }
    let first_bytes = Latencies(first_bytes);

    // The page's weight.
    let v = version.as_str();
    let mut weight_rows = Vec::new();
    let mut total_gzip = 0;
    let mut files = vec![("page (HTML, 10,000 cells)".to_string(), format!("{base}/"))];
    for file in ASSET_FILES {
        files.push((file.to_string(), format!("{base}/pkg/{file}?v={v}")));
    }
    for (name, url) in &files {
        let plain = fetch(&http, url, false).await.len();
        let gzip = fetch(&http, url, true).await.len();
        total_gzip += gzip;
        weight_rows.push(format!("| {name} | {plain} | {gzip} |"));
    }
    let grid_json = fetch(&http, &format!("{base}/grid"), true).await.len();

    let (tti, browser_share, static_load, failed_loads) = time_to_interactive(&base);
    let tti_median = tti[tti.len() / 2];

    // Viewers.
    let one = view(&stack, 1, VIEWING / 3).await;
    let hundred = view(&stack, 100, VIEWING).await;
    let reads_growth = hundred.store_reads_per_s / one.store_reads_per_s;
    let poll_growth = p50(&hundred.polls) / p50(&one.polls);

    // Records outside the grid.
    let before = growth_row(&stack).await;
    let stored_at = Instant::now();
    store_outside_the_grid(&stack).await;
    let store_s = stored_at.elapsed().as_secs_f64();
    let after = growth_row(&stack).await;
    let unchanged_growth = p50(&after.unchanged) / p50(&before.unchanged);
    let cold_growth = p50(&after.cold) / p50(&before.cold);
    let whole_growth = p50(&after.whole_table) / p50(&before.whole_table);

    let scan_render = p50(&cold_read) + p50(&render);
    let rows = [
        whole.row(
            "reference: every node's whole table, in turn, page by page (the read before the grid index)",
            whole_time,
        ),
        cold_read.row(
            "ours: a grid read from nothing (every node's version, then its grid index, at once)",
            cold_time,
        ),
        render.row("server render of 10,000 cells, in process", render_time),
        health.row("reference: `GET /health` via cargo lambda watch", Duration::ZERO),
        polls.row(
            &format!(
                "`GET /grid` unchanged (ETag → 304; {answered_200} answered 200), each reading the versions, via cargo lambda watch"
            ),
            Duration::ZERO,
        ),
        first_bytes.row("`GET /` to its first byte (gzip), via cargo lambda watch", Duration::ZERO),
    ];
    let viewer_row = |v: &Viewing| {
        format!(
            "| {} | {} | {:.3} | {:.3} | {} | {:.1} | {:+.1} |",
            v.viewers,
            v.polls.0.len(),
            p50(&v.polls),
            ms(v.polls.percentile(0.99)),
            v.changed,
            v.store_reads_per_s,
            v.memory_growth_mb,
        )
    };
    let growth_table = format!(
        "| read | p50 ms, grid only | p50 ms, + {OUTSIDE} outside | growth |\n|---|---|---|---|\n\
         | ours: unchanged (each node's version) | {:.3} | {:.3} | {unchanged_growth:.2}× |\n\
         | ours: from nothing (versions + every node's grid index) | {:.3} | {:.3} | {cold_growth:.2}× |\n\
         | reference: every node's whole table | {:.3} | {:.3} | {whole_growth:.2}× |",
        p50(&before.unchanged),
        p50(&after.unchanged),
        p50(&before.cold),
        p50(&after.cold),
        p50(&before.whole_table),
        p50(&after.whole_table),
    );
    let section = format!(
        "## UI: the grid at scale, first paint, page weight, time to interactive\n\n\
         Command: `make bench-ui` (`infra/bench-ui.sh`). {date}; 2 cores. The local stack: three \
         {emulator} nodes ({nodes}), the functions under `cargo lambda watch --release`, the \
         page's wasm built by `make ui` (`wasm-opt -Oz`). The grid full (n = 1..10,000 computed \
         through the API at concurrency 16, {fill_rate:.0} requests/s). Sequential latencies.\n\n\
         | path | calls | p50 ms | p99 ms | calls/s |\n|---|---|---|---|---|\n{rows}\n\n\
         - Scan + server render in process, from nothing read: **{scan_render:.1} ms** at p50 \
         (target ≤ 300 ms: {render_ok}); the whole-table read alone took {whole_ms:.1} ms.\n\
         - An unchanged poll: **{poll_ms:.2} ms** at p50, **{poll_ratio:.1}×** `GET /health` \
         ({health_ms:.2} ms) on the same stack (target ≤ 25×: {poll_ok}).\n\
         - First byte of the page: **{first_byte:.1} ms** at p50 (target ≤ 300 ms: {first_ok}).\n\
         - Time to interactive in headless Chromium, {loads} fresh loads ({failed_loads} failed): \
         median **{tti_median:.0} ms** (min {tti_min:.0}, max {tti_max:.0}; target ≤ 1,500 ms: \
         {tti_ok}); from the first byte on, {browser_share:.0} ms. Reference: the same HTML \
         without its script loads in {static_load:.0} ms.\n\n\
         ### Viewers\n\nOne UI instance (in the benchmark's process, so that its store reads can be \
         counted) polled by 1 viewer for {one_s} s, then 100 for {hundred_s} s: each polls \
         `GET /grid` once a second with its own ETag, while a cell changes every 2 s through \
         the API. Store reads: one GetItem per node per read of the nodes, plus each item a \
         grid scan read.\n\n\
         | viewers | polls | p50 ms | p99 ms | answered 200 | store reads/s | emulators' memory, MB |\n\
         |---|---|---|---|---|---|---|\n{one_row}\n{hundred_row}\n\n\
         - Store reads per second: **{reads_growth:.2}×** from 1 viewer to 100 (target ≤ 1.5×: \
         {reads_ok}).\n\
         - Poll p50: **{poll_growth:.2}×** the single viewer's (target ≤ 3×: {poll_growth_ok}).\n\
         - The emulators' memory across the 100 viewers: **{mem:+.1} MB** (target ≤ 64 MB: {mem_ok}).\n\n\
         ### Records outside the grid\n\n{OUTSIDE} records with n = 10,001..{last} were then \
         stored across the nodes ({store_s:.0} s, batches of 25), and the reads timed again \
         ({runs2} unchanged, {RUNS} from nothing, 5 whole-table reads):\n\n{growth_table}\n\n\
         An unchanged poll with them: **{unchanged_growth:.2}×** the poll without them; a read \
         from nothing **{cold_growth:.2}×** (target ≤ 1.1×: {growth_ok}). The whole-table read, \
         the design before the grid index, grew {whole_growth:.1}×.\n\n\
         ### Bulk fill from the page\n\nn = 1..{BULK_K} from an empty grid at concurrency \
         {BULK_CONCURRENCY}: the page's bulk run in headless Chromium (`tests/ui/bulk.mjs`), \
         **{page_rate:.0} requests/s**, beside an HTTP client (reqwest) at the same concurrency \
         through the same stack, {client_rate:.0} requests/s: the client is {bulk_ratio:.2}× \
         the page (target ≤ 1.5×: {bulk_ok}).\n\n\
         ### Page weight\n\nBytes as sent to a browser that accepts gzip:\n\n\
         | file | bytes | gzip bytes |\n|---|---|---|\n{weight}\n| **total** | | **{total_gzip}** |\n\n\
         Total **{total_kb:.1} KB** gzip (target ≤ 250 KB: {weight_ok}). A poll that found a \
         change is one `GET /grid` of {grid_json} bytes gzip (cells and node figures); an \
         unchanged one is a 304 with no body.\n",
        date = bench_section::utc_date(),
        nodes = stack.config.cluster.names().join(", "),
        rows = rows.join("\n"),
        render_ok = verdict(scan_render <= 300.0),
        whole_ms = p50(&whole),
        poll_ms = p50(&polls),
        health_ms = p50(&health),
        poll_ok = verdict(poll_ratio <= 25.0),
        first_byte = p50(&first_bytes),
        first_ok = verdict(p50(&first_bytes) <= 300.0),
        loads = tti.len(),
        tti_min = tti[0],
        tti_max = tti[tti.len() - 1],
        tti_ok = verdict(tti_median <= 1500.0),
        one_s = (VIEWING / 3).as_secs(),
        hundred_s = VIEWING.as_secs(),
        one_row = viewer_row(&one),
        hundred_row = viewer_row(&hundred),
        reads_ok = verdict(reads_growth <= 1.5),
        poll_growth_ok = verdict(poll_growth <= 3.0),
        mem = hundred.memory_growth_mb,
        mem_ok = verdict(hundred.memory_growth_mb <= 64.0),
        last = 10_000 + OUTSIDE,
        runs2 = RUNS * 2,
        growth_ok = verdict(unchanged_growth <= 1.1 && cold_growth <= 1.1),
        bulk_ratio = client_rate / page_rate,
        bulk_ok = verdict(client_rate / page_rate <= 1.5),
        weight = weight_rows.join("\n"),
        total_kb = total_gzip as f64 / 1024.0,
        weight_ok = verdict(total_gzip <= BUDGET_BYTES),
    );
    println!("{section}");
    bench_section::write_section(&workspace_root(), "ui", &section);
    println!("written to docs/benchmarks.md");
}

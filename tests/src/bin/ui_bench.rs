//! The UI benchmark, run against a local stack that `infra/bench-ui.sh` starts (three
//! emulator nodes, the functions under `cargo lambda watch --release`), with the grid
//! full (n = 1..10,000):
//!
//! - the grid read: ours (every node at once, 1, 2 and 4 scan segments each, `n` and
//!   `prime` only) beside the reference (every node in turn, page by page, whole items:
//!   how `GET /cache` reads) and the emulator's floor (a COUNT scan of every node);
//! - the server render of 10,000 cells, in process, and scan + render over HTTP;
//! - `GET /grid`, changed and unchanged (ETag → 304);
//! - the page's weight, gzip as the browser receives it;
//! - time to interactive in headless Chromium (`tests/ui/tti.mjs`), in all and from the
//!   page's first byte, beside the load of the same HTML without its script.
//!
//! Every loop is bounded in count and in time, and targets loopback only.

#[path = "../../../docs/bench_section.rs"]
mod bench_section;

use std::process::Command;
use std::time::Instant;

use primescaler_core::{CountRecords, ScanRecords};
use primescaler_dynamo::{ClientSettings, DynamoStore, connect};
use primescaler_tests::bench::{Latencies, ms, sequential, throughput};
use primescaler_tests::workspace_root;
use primescaler_ui::{ASSET_FILES, AssetVersion, LiveUiDeps, UiConfig, render_page};
use primescaler_ui_app::model::PageState;

/// Samples of each timed path.
const RUNS: usize = 10;
/// Page loads in Chromium, each in a fresh context (nothing cached).
const BROWSER_LOADS: &str = "10";
/// The page-weight budget, gzip.
const BUDGET_BYTES: usize = 250 * 1024;

/// The body of `GET {url}` as sent, with `Accept-Encoding: gzip` or without. A call that
/// the local Lambda emulation drops (no answer, or its own bare 500) is made again, at
/// most twice; the retry's time counts in the sample.
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

#[tokio::main]
async fn main() {
    let base = std::env::var("BENCH_API").expect("BENCH_API: the stack's base URL");
    let token = std::env::var("RESET_TOKEN").expect("RESET_TOKEN");
    let config = UiConfig::from_env().expect("the UI configuration");
    let deps = LiveUiDeps::connect(&config).await;
    let http = primescaler_tests::bench::http_client();
    let mut stores = Vec::new();
    for node in &config.cluster.nodes {
        let settings = ClientSettings::for_node(&node.name, node.endpoint.as_deref());
        stores.push(DynamoStore::new(connect(&settings).await, &config.table));
    }

    // The grid, full.
    let reset = http
        .delete(format!("{base}/cache"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("reset");
    assert!(reset.status().is_success(), "reset: {}", reset.status());
    let (client, api) = (http.clone(), base.clone());
    throughput(10_000, 16, move |i| {
        let (client, url) = (client.clone(), format!("{api}/primes/{}", i + 1));
        async move {
            // A call the emulation dropped is made again below.
            let _ = client.get(&url).send().await;
        }
    })
    .await;
    let filled = deps.snapshot().await;
    let mut cached = vec![false; 10_001];
    filled
        .cells
        .iter()
        .for_each(|c| cached[c.n as usize] = true);
    for n in (1..=10_000).filter(|&n| !cached[n]) {
        fetch(&http, &format!("{base}/primes/{n}"), false).await;
    }
    let snapshot = deps.snapshot().await;
    assert_eq!(snapshot.cells.len(), 10_000, "the grid is full");

    let (reference, reference_time) = sequential(RUNS, |_| async {
        let mut items = 0;
        for store in &stores {
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
        assert!(items >= 10_000);
    })
    .await;
    // The emulator's own floor: a COUNT scan of every node at once returns no item at
    // all, so no grid read over Scan can be faster here.
    let (floor, floor_time) = sequential(RUNS, |_| async {
        let mut counting = tokio::task::JoinSet::new();
        for store in &stores {
            let store = store.clone();
            counting.spawn(async move { store.count_records().await.expect("count") });
        }
        let counted: u64 = counting.join_all().await.into_iter().sum();
        assert!(counted >= 10_000);
    })
    .await;
    // Ours, with 1, 2 and 4 parallel segments per node; a read that missed a node
    // (over its budget) is counted, not hidden.
    let mut segment_rows = Vec::new();
    let mut best: Option<(u16, Latencies)> = None;
    for segments in [1u16, 2, 4] {
        let variant = LiveUiDeps::connect(&UiConfig {
            scan_segments: segments,
            ..config.clone()
        })
        .await;
        let incomplete = std::cell::Cell::new(0);
        let (latencies, elapsed) = sequential(RUNS, |_| async {
            if variant.snapshot().await.cells.len() != 10_000 {
                incomplete.set(incomplete.get() + 1);
            }
        })
        .await;
        let incomplete = incomplete.get();
        segment_rows.push(latencies.row(
            &format!(
                "ours: every node at once, {segments} segment(s) each, `n` and `prime` only ({incomplete} incomplete reads)"
            ),
            elapsed,
        ));
        if best
            .as_ref()
            .is_none_or(|(_, b)| latencies.percentile(0.5) < b.percentile(0.5))
        {
            best = Some((segments, latencies));
        }
    }
    let (best_segments, ours) = best.expect("three variants");
    let state = PageState {
        grid: snapshot.clone(),
        max_n: config.max_n,
    };
    let version = AssetVersion::current();
    let (render, render_time) = sequential(RUNS, |_| {
        let html = render_page(&state, &version);
        assert!(html.len() > 500_000);
        async {}
    })
    .await;
    let (page_http, page_time) = sequential(RUNS, |_| async {
        fetch(&http, &format!("{base}/"), true).await;
    })
    .await;
    let (grid_http, grid_time) = sequential(RUNS, |_| async {
        fetch(&http, &format!("{base}/grid"), true).await;
    })
    .await;
    let etag = http
        .get(format!("{base}/grid"))
        .send()
        .await
        .expect("the stack answers")
        .headers()["etag"]
        .clone();
    let changed = std::cell::Cell::new(0);
    let (grid_same, grid_same_time) = sequential(RUNS, |_| async {
        let response = http
            .get(format!("{base}/grid"))
            .header("If-None-Match", &etag)
            .send()
            .await
            .expect("the stack answers");
        if response.status() != reqwest::StatusCode::NOT_MODIFIED {
            changed.set(changed.get() + 1);
        }
    })
    .await;
    let changed = changed.get();

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

    let rows = [
        reference.row(
            "reference: every node in turn, page by page, whole items (as `GET /cache` reads)",
            reference_time,
        ),
        floor.row(
            "emulator floor: a COUNT scan of every node at once (no item returned)",
            floor_time,
        ),
        segment_rows[0].clone(),
        segment_rows[1].clone(),
        segment_rows[2].clone(),
        render.row("server render of 10,000 cells, in process", render_time),
        page_http.row(
            "scan + render: `GET /` over HTTP (gzip), via cargo lambda watch",
            page_time,
        ),
        grid_http.row("`GET /grid` over HTTP (gzip), changed", grid_time),
        grid_same.row(
            &format!("`GET /grid` over HTTP, unchanged (ETag → 304; {changed} answered 200)"),
            grid_same_time,
        ),
    ];
    for row in &rows {
        println!("{row}");
    }
    // Time to interactive.
    let started = Instant::now();
    let output = Command::new("node")
        .current_dir(workspace_root())
        .args(["tests/ui/tti.mjs", &base, BROWSER_LOADS])
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
    let (mut tti, mut static_load) = (series("hydrated"), series("staticLoad"));
    let mut after_first_byte = series("afterFirstByte");
    let failed_loads = loads["failed"].as_u64().unwrap_or(0);
    assert!(!tti.is_empty(), "no load of the page hydrated");
    let (tti_median, static_median) = (median(&mut tti), median(&mut static_load));
    let browser_median = median(&mut after_first_byte);
    println!(
        "browser loads took {:.0} s",
        started.elapsed().as_secs_f64()
    );

    let p50 = |l: &Latencies| ms(l.percentile(0.5));
    let scan_render = p50(&ours) + p50(&render);
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    let section = format!(
        "## UI: grid read, server render, page weight, time to interactive\n\n\
         Command: `make bench-ui` (`infra/bench-ui.sh`). {date}; 2 cores. The local stack: three \
         moto nodes ({nodes}), the functions under `cargo lambda watch --release`, the page's \
         wasm built by `make ui` (`wasm-opt -Oz`). The grid is full: n = 1..10,000 computed \
         through the API first. Sequential latencies, {RUNS} runs each.\n\n\
         | path | calls | p50 ms | p99 ms | calls/s |\n|---|---|---|---|---|\n{rows}\n\n\
         Scan + server render in process: **{scan_render:.1} ms** at p50 (target ≤ 300 ms: {render_ok}); \
         over HTTP, with compression and the local Lambda emulation: **{page_ms:.1} ms**. \
         The emulator alone takes {floor_ms:.1} ms to count the items of every node at once \
         (the floor row){floor_note}. \
         The fastest grid read here used {best_segments} segment(s) per node \
         (`GRID_SCAN_SEGMENTS`, default {default_segments}) and ran {speedup:.1}× the reference's speed.\n\n\
         Page weight, bytes as sent to a browser that accepts gzip (Chromium over plain HTTP \
         offers no Brotli; the HTTPS endpoint in AWS would send Brotli, smaller still):\n\n\
         | file | bytes | gzip bytes |\n|---|---|---|\n{weight}\n| **total** | | **{total_gzip}** |\n\n\
         Total **{total_kb:.1} KB** gzip (target ≤ 250 KB: {weight_ok}). A live update that \
         changed something is one `GET /grid` of {grid_json} bytes gzip; an unchanged one is a \
         304 with no body.\n\n\
         Time to interactive in headless Chromium ({loads} loads that hydrated, {failed_loads} that did not within 60 s; each in a fresh context: \
         HTML, CSS, JS and wasm fetched and compiled every time): median **{tti_median:.0} ms** \
         (min {tti_min:.0}, max {tti_max:.0}; target ≤ 1,500 ms: {tti_ok}), from navigation \
         start to the end of hydration. That includes the server's read of every node: from the \
         page's first byte to the end of hydration (download, CSS, JS, wasm, hydration) the \
         median is **{browser_median:.0} ms**. Reference, same run: the same server-rendered HTML \
         without its script, served with no wait, loads in {static_median:.0} ms (median).\n",
        date = bench_section::utc_date(),
        nodes = config.cluster.names().join(", "),
        rows = rows.join("\n"),
        render_ok = verdict(scan_render <= 300.0),
        page_ms = p50(&page_http),
        floor_ms = p50(&floor),
        floor_note = if p50(&floor) >= 300.0 {
            ", so no Scan-based read can meet 300 ms on it"
        } else {
            ""
        },
        speedup = p50(&reference) / p50(&ours),
        default_segments = primescaler_dynamo::DEFAULT_GRID_SCAN_SEGMENTS,
        weight = weight_rows.join("\n"),
        total_kb = total_gzip as f64 / 1024.0,
        weight_ok = verdict(total_gzip <= BUDGET_BYTES),
        loads = tti.len(),
        tti_min = tti[0],
        tti_max = tti[tti.len() - 1],
        tti_ok = verdict(tti_median <= 1500.0),
    );
    bench_section::write_section(&workspace_root(), "ui", &section);
    println!("written to docs/benchmarks.md");
}

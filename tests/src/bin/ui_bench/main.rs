//! The UI benchmark, run against a local stack that `infra/bench-ui.sh` starts (three
//! emulator nodes, dynalite unless `EMULATOR` says otherwise; the functions under
//! `cargo lambda watch --release`). Each figure stands beside a reference from the same
//! run:
//!
//! - bulk fill from the page (headless Chromium, `tests/ui/bulk.mjs`) beside the same
//!   fill by curl at the same concurrency (`xargs -P`, one curl per n);
//! - with the grid full: the grid read and server render in process (beside a whole
//!   table scan of every node, the read before the grid index), an unchanged `GET /grid`
//!   beside `GET /health` on the same stack, the page's first byte, its weight (gzip and
//!   Brotli), time to interactive (`tests/ui/tti.mjs`), and opening the ring, what-if and
//!   served-from views (`tests/ui/views.mjs`);
//! - 1 and 100 viewers polling once a second, through one UI instance in this process:
//!   store reads per second, poll latency, and the emulators' memory;
//! - the grid read before and after 100,000 records outside the grid are stored, beside
//!   the whole-table scan, which grows with them.
//!
//! `ui_bench twin` times the page's first paint on the deployed twin instead
//! (`twin.rs`). `ui_bench soak` instead keeps one page's poll going for `BENCH_SOAK_MINUTES` (30) and
//! records the emulators' memory each minute. Every loop is bounded in count and in
//! time, and targets loopback only.

#[path = "../../../../docs/bench_section.rs"]
mod bench_section;
mod browser;
mod outside;
mod soak;
mod stack;
mod twin;
mod viewers;

use std::time::{Duration, Instant};

use primescaler_tests::bench::{Latencies, emulator_pids, ms, resident_bytes, sequential};
use primescaler_tests::workspace_root;
use primescaler_ui::{ASSET_FILES, AssetVersion, LiveUiDeps, render_page};
use primescaler_ui_app::model::PageState;

use crate::browser::{page_bulk_fill, teaching_views, time_to_interactive};
use crate::outside::{OUTSIDE, growth_row, store_outside_the_grid};
use crate::stack::{PollRun, Stack, fetch, fetch_encoded};
use crate::viewers::{Viewing, view};

/// Samples of each timed path.
const RUNS: usize = 20;
/// Page loads in Chromium, each in a fresh context (nothing cached).
const BROWSER_LOADS: &str = "10";
/// The page-weight budget, compressed.
const BUDGET_BYTES: usize = 250 * 1024;
/// Fresh pages that open the teaching views on the full grid.
const VIEW_RUNS: &str = "5";
/// n computed by the bulk-fill comparison, from the page and from the HTTP client.
const BULK_K: usize = 2_000;
/// The concurrency of both bulk fills.
const BULK_CONCURRENCY: usize = 16;
/// How long the 100 viewers poll; the single viewer polls for a third of it.
const VIEWING: Duration = Duration::from_secs(60);

/// A sorted series as "median [min, max]", in ms.
fn spread(sorted: &[f64]) -> String {
    match (sorted.first(), sorted.last()) {
        (Some(min), Some(max)) => format!("{:.1} [{min:.1}, {max:.1}]", sorted[sorted.len() / 2]),
        _ => "—".into(),
    }
}

/// The median of `values` (sorted in place).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The median of a path's latencies, in ms.
pub(crate) fn p50(latencies: &Latencies) -> f64 {
    ms(latencies.percentile(0.5))
}

/// The time a path's calls took, added up (for paths timed between pauses, whose
/// calls per second count the calls' own time only).
fn busy(latencies: &Latencies) -> Duration {
    latencies.0.iter().sum()
}

/// How a figure stands against its target.
pub(crate) fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

/// The emulators' resident memory, in MB.
pub(crate) fn emulators_mb() -> f64 {
    emulator_pids().into_iter().map(resident_bytes).sum::<u64>() as f64 / 1e6
}

#[tokio::main]
async fn main() {
    let stack = Stack::from_env().await;
    match std::env::args().nth(1).as_deref() {
        Some("soak") => return soak::soak(&stack).await,
        Some("twin") => return twin::page_on_the_twin(&stack).await,
        _ => {}
    }
    let http = stack.http.clone();
    let base = stack.base.clone();
    let emulator = std::env::var("EMULATOR").unwrap_or_else(|_| "dynalite".into());

    // Bulk fill: from the page, then by an HTTP client, each from an empty grid.
    stack.reset().await;
    let page_rate = page_bulk_fill(&base);
    stack.reset().await;
    let client_rate = stack.curl_fill(BULK_K, BULK_CONCURRENCY);
    println!("bulk fill: page {page_rate:.0}/s, curl {client_rate:.0}/s");

    // The grid, full.
    stack.reset().await;
    let fill_rate = stack.fill(10_000, 16).await;

    // Scan + render in process, from nothing read, beside the whole-table read. A read
    // that missed a cell is counted, not hidden.
    let incomplete = std::cell::Cell::new(0);
    let (cold_read, cold_time) = sequential(RUNS, |_| async {
        let deps = LiveUiDeps::connect(&stack.config).await;
        if deps.grid.current().await.cells.len() != 10_000 {
            incomplete.set(incomplete.get() + 1);
        }
    })
    .await;
    let incomplete = incomplete.get();
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

    // Over HTTP through the stack: an unchanged poll beside `GET /health`.
    let PollRun {
        polls,
        health,
        answered_200,
    } = stack.polls_beside_health(RUNS * 2).await;
    let poll_ratio = p50(&polls) / p50(&health);

    // The page's first byte (time to the response's head), each past the freshness.
    let mut first_bytes = Vec::new();
    for _ in 0..RUNS {
        first_bytes.push(stack.page_first_byte().await);
    }
    let first_bytes = Latencies(first_bytes);

    // The page's weight.
    let v = version.as_str();
    let mut weight_rows = Vec::new();
    let (mut total_gzip, mut total_br) = (0, 0);
    let mut files = vec![("page (HTML, 10,000 cells)".to_string(), format!("{base}/"))];
    for file in ASSET_FILES {
        files.push((file.to_string(), format!("{base}/pkg/{file}?v={v}")));
    }
    for (name, url) in &files {
        let plain = fetch(&http, url, false).await.len();
        let gzip = fetch(&http, url, true).await.len();
        let br = fetch_encoded(&http, url, "gzip, deflate, br").await.len();
        total_gzip += gzip;
        total_br += br;
        weight_rows.push(format!("| {name} | {plain} | {gzip} | {br} |"));
    }
    let grid_json = fetch(&http, &format!("{base}/grid"), true).await.len();

    let loads = time_to_interactive(&base, 0);
    let tti = &loads.tti;
    let tti_median = tti[tti.len() / 2];
    let views = teaching_views(&base);

    // Viewers.
    let one = view(&stack, 1, VIEWING / 3).await;
    let hundred = view(&stack, 100, VIEWING).await;
    // The viewers' writer may have stopped on an eviction: the grid is full again.
    fetch(&http, &format!("{base}/primes/{}", viewers::TOGGLED), false).await;
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
            &format!(
                "ours: a grid read from nothing (every node's version, then its grid index, at once; {incomplete} incomplete)"
            ),
            cold_time,
        ),
        render.row("server render of 10,000 cells, in process", render_time),
        health.row(
            "reference: `GET /health` via cargo lambda watch",
            busy(&health),
        ),
        polls.row(
            &format!(
                "`GET /grid` unchanged (ETag → 304; {answered_200} answered 200), each reading the versions, via cargo lambda watch"
            ),
            busy(&polls),
        ),
        first_bytes.row(
            "`GET /` to its first byte (gzip), via cargo lambda watch",
            busy(&first_bytes),
        ),
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
         - Time to interactive in headless Chromium, {load_count} fresh loads ({failed_loads} failed): \
         median **{tti_median:.0} ms** (min {tti_min:.0}, max {tti_max:.0}; target ≤ 1,500 ms: \
         {tti_ok}); from the first byte on, {browser_share:.0} ms. Reference: the same HTML \
         without its script loads in {static_load:.0} ms.\n\n\
         ### Viewers\n\nOne UI instance (in the benchmark's process, so that its store reads can be \
         counted) polled by 1 viewer for {one_s} s, then 100 for {hundred_s} s: each polls \
         `GET /grid` once a second with its own ETag, while a cell changes every 2 s through \
         the API. Store reads: one GetItem per node per read of the nodes, plus each item a \
         grid scan read; a change costs a rescan of its node's grid (a third of the full grid) \
         and, 2 s later, the settle rescan, so these runs are dominated by the changes, the \
         same for 1 viewer and for 100. A lone viewer's poll always finds the snapshot older \
         than half a second and reads the nodes itself; most of the 100 viewers' polls are \
         answered from the shared snapshot, hence their lower latency.\n\n\
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
         **{page_rate:.0} requests/s**, beside curl at the same concurrency (`xargs -P`, one \
         curl per n) through the same stack, {client_rate:.0} requests/s: curl is \
         {bulk_ratio:.2}× the page (target ≤ 1.5×: {bulk_ok}). Chromium keeps at most six \
         connections to one host over HTTP/1.1, so the page's sixteen workers share six.\n\n\
         ### Page weight\n\nBytes as sent to a browser that accepts gzip only, and to one that \
         accepts Brotli too (every current browser over HTTPS, so every deployed page; \
         Chromium asks for it on loopback as well). The page's code goes as the Brotli copy \
         `make ui` made once (quality 11); the page itself is compressed per request:\n\n\
         | file | bytes | gzip bytes | Brotli bytes |\n|---|---|---|---|\n{weight}\n\
         | **total** | | **{total_gzip}** | **{total_br}** |\n\n\
         Total **{total_br_kb:.1} KB** with Brotli (target ≤ 250 KB: {weight_ok}), \
         {total_kb:.1} KB gzip only. A poll that found a change is one `GET /grid` of \
         {grid_json} bytes gzip (cells and node figures); an unchanged one is a 304 with no \
         body.\n\n\
         ### The ring, what if and served from, on the full grid\n\n\
         {view_runs} fresh pages in headless Chromium (`tests/ui/views.mjs`), each from the \
         click to the next paint (the page's `performance.measure`, which includes the wait \
         for the next frame, up to 16.7 ms), medians with [min, max]:\n\n\
         | view | ms |\n|---|---|\n\
         | open the ring view | {ring} |\n\
         | open what if (add a node), first in the page | {what_if_first} |\n\
         | open what if again | {what_if_again} |\n\
         | draw the what-if overlay alone (both opens) | {what_if_draw} |\n\
         | switch the grid to served from | {served} |\n\n\
         Long animation frames (over 50 ms of main-thread work in one frame) while doing all \
         that: **{long_frames}** in {view_runs} pages{long_worst} (target: opening the ring \
         or a what-if adds ≤ 50 ms of main-thread work: {views_ok}).\n",
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
        load_count = tti.len(),
        failed_loads = loads.failed,
        browser_share = loads.browser_share,
        static_load = loads.reference,
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
        total_br_kb = total_br as f64 / 1024.0,
        weight_ok = verdict(total_br <= BUDGET_BYTES),
        view_runs = VIEW_RUNS,
        ring = spread(&views.ring_open),
        what_if_first = spread(&views.what_if_first),
        what_if_again = spread(&views.what_if_again),
        what_if_draw = spread(&views.what_if_draw),
        served = spread(&views.served_open),
        long_frames = views.long_frames.len(),
        long_worst = views
            .long_frames
            .iter()
            .map(|f| f.0)
            .reduce(f64::max)
            .map(|worst| format!(" (the longest {worst:.0} ms)"))
            .unwrap_or_default(),
        views_ok = verdict(views.long_frames.is_empty()),
    );
    println!("{section}");
    bench_section::write_section(&workspace_root(), "ui", &section);
    println!("written to docs/benchmarks.md");
}

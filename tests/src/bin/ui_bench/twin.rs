//! The page on the deployed twin (`make bench-ui-twin`: the stack under `PROFILE=aws`,
//! every node at its round trip from us-east-1 and each function at its CPU share): the
//! page's first byte and an unchanged grid poll beside `GET /health` on the same stack, and time to interactive
//! and to the full grid shown beside the same HTML without its script, with the grid
//! full. Written to docs/benchmarks.md, section `ui-twin`.

use primescaler_tests::bench::Latencies;
use primescaler_tests::workspace_root;

use crate::browser::time_to_interactive;
use crate::stack::{PollRun, Stack};
use crate::{RUNS, bench_section, busy, p50, verdict};

/// Cells of the full grid.
const GRID: usize = 10_000;

/// Fills the grid, then times the page's first paint on the twin.
pub(crate) async fn page_on_the_twin(stack: &Stack) {
    let base = &stack.base;
    stack.reset().await;
    let fill_rate = stack.fill(GRID, 16).await;

    let PollRun {
        polls,
        health,
        answered_200,
    } = stack.polls_beside_health(RUNS).await;
    let mut first_bytes = Vec::new();
    for _ in 0..RUNS {
        first_bytes.push(stack.page_first_byte().await);
    }
    let first_bytes = Latencies(first_bytes);
    let loads = time_to_interactive(base, GRID);
    let median = |sorted: &[f64]| sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN);
    let (tti, shown) = (median(&loads.tti), median(&loads.shown));

    let section = format!(
        "## The page on the deployed twin\n\n\
         Command: `make bench-ui-twin` (`PROFILE=aws`, `infra/bench-ui.sh twin`). {date}; \
         2 cores. The local stack as `make dev PROFILE=aws` runs it: three dynalite nodes \
         behind the twin's relays at their round trips from us-east-1 (docs/twin.md), each \
         function at its CPU share and memory (`infra/twin-run.sh`), built in release mode; \
         the template's budgets. The grid full (n = 1..10,000 through the API at \
         concurrency 16, {fill_rate:.0} requests/s). Sequential latencies, each page past \
         the shared snapshot's freshness, so that each render reads every node.\n\n\
         | path | calls | p50 ms | p99 ms | calls/s |\n|---|---|---|---|---|\n{health_row}\n{poll_row}\n{page_row}\n\n\
         - An unchanged poll: **{poll:.0} ms** at p50: one read of each node's counters, at \
         once, so the far node's round trip (230 ms) bounds it.\n\
         - First byte of the page: **{first:.0} ms** at p50 (target ≤ 300 ms: {first_ok}).\n\
         - Time to interactive in headless Chromium, {load_count} fresh loads ({failed} \
         failed): median **{tti:.0} ms** (target ≤ 1,500 ms: {tti_ok}); from the first byte \
         on, {browser:.0} ms; every stored cell shown after {shown:.0} ms. Reference: the \
         same HTML without its script loads in {reference:.0} ms.\n",
        date = bench_section::utc_date(),
        health_row = health.row("reference: `GET /health`", busy(&health)),
        poll_row = polls.row(
            &format!(
                "`GET /grid` unchanged (ETag → 304; {answered_200} answered 200), each reading \
                 every node's version"
            ),
            busy(&polls),
        ),
        page_row = first_bytes.row("`GET /` to its first byte (gzip)", busy(&first_bytes)),
        poll = p50(&polls),
        first = p50(&first_bytes),
        first_ok = verdict(p50(&first_bytes) <= 300.0),
        load_count = loads.tti.len(),
        failed = loads.failed,
        tti_ok = verdict(tti <= 1500.0),
        browser = loads.browser_share,
        reference = loads.reference,
    );
    println!("{section}");
    bench_section::write_section(&workspace_root(), "ui-twin", &section);
    println!("written to docs/benchmarks.md");
}

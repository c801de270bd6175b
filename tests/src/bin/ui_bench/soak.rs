//! `ui_bench soak`: one page's poll for `BENCH_SOAK_MINUTES`, with the emulators' memory
//! each minute. The baseline is the first minute's figure, once the fill's garbage has
//! been collected; the growth is the highest figure after it, less the baseline. An
//! emulator that is gone (its pid no longer answers) ends the run with a failure, so
//! that no figure is read from a process that is not there.

use std::time::{Duration, Instant};

use primescaler_tests::workspace_root;

use crate::stack::Stack;
use primescaler_tests::bench::emulator_pids;

use crate::{bench_section, emulators_mb, verdict};

/// Runs the soak and writes its section of `docs/benchmarks.md`.
pub(crate) async fn soak(stack: &Stack) {
    let minutes: u64 = std::env::var("BENCH_SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(30)
        .clamp(1, 120);
    stack.reset().await;
    stack.fill(10_000, 16).await;
    let url = format!("{}/grid", stack.base);
    let pids = emulator_pids();
    assert_eq!(pids.len(), 3, "three emulators: {pids:?}");
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
            assert!(
                pids.iter()
                    .all(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists()),
                "an emulator is gone: the figures would mean nothing"
            );
            samples.push((minute, emulators_mb()));
            println!("minute {minute}: {:.1} MB", samples.last().unwrap().1);
        }
    }
    let baseline = samples.get(1).map_or(samples[0].1, |s| s.1);
    let peak = samples[1..].iter().map(|s| s.1).fold(baseline, f64::max);
    let growth = peak - baseline;
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
         Growth, the highest figure after minute 1 less minute 1's (minute 0 still holds \
         the fill's garbage): **{growth:.1} MB** (target ≤ 64 MB: {ok}); at the end \
         {end:+.1} MB.\n",
        end = samples.last().unwrap().1 - baseline,
        date = bench_section::utc_date(),
        emulator = std::env::var("EMULATOR").unwrap_or_else(|_| "dynalite".into()),
        rows = rows.join("\n"),
        ok = verdict(growth <= 64.0),
    );
    bench_section::write_section(&workspace_root(), "ui-soak", &section);
    println!("written to docs/benchmarks.md");
}

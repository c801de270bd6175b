//! The nth-prime benchmark: our primary engine beside `primal` and the `primecount`
//! command (single-threaded), in one run, on one machine.
//!
//! Run: `make bench-calculator` (or `cargo bench -p primescaler-calculator --bench nth_prime`).
//! It prints one table and writes it into `docs/benchmarks.md`.

#[path = "../../../docs/bench_section.rs"]
mod bench_section;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use primescaler_calculator::{primary, sieve};

/// The n measured, as (label, n).
const CASES: [(&str, u64); 6] = [
    ("10^6", 1_000_000),
    ("10^8", 100_000_000),
    ("10^9", 1_000_000_000),
    ("10^10", 10_000_000_000),
    ("10^11", 100_000_000_000),
    ("10^12", 1_000_000_000_000),
];
/// primal and the fallback sieve walk every number up to p(n): they are timed up to here.
const SIEVE_MAX_N: u64 = 1_000_000_000;
const RUNS: usize = 5;

/// The best of `runs` timings of `f`, with its answer.
fn best_of(runs: usize, mut f: impl FnMut() -> u64) -> (u64, Duration) {
    let mut best = Duration::MAX;
    let mut answer = 0;
    for _ in 0..runs {
        let started = Instant::now();
        answer = f();
        best = best.min(started.elapsed());
    }
    (answer, best)
}

/// The wall time of the primecount command with no work to do: its process start-up.
fn primecount_startup() -> Duration {
    primecount_cli(1).2
}

/// The primecount command: its answer, its own compute time (`--time`, printed in ms
/// steps), and its wall time.
fn primecount_cli(n: u64) -> (u64, Duration, Duration) {
    let mut best_inner = Duration::MAX;
    let mut best_wall = Duration::MAX;
    let mut answer = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let output = Command::new("primecount")
            .args([&n.to_string(), "-n", "-t1", "--time"])
            .output()
            .expect("run primecount (apt-get install primecount)");
        best_wall = best_wall.min(started.elapsed());
        let text = String::from_utf8_lossy(&output.stdout);
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        answer = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .expect("an nth prime");
        let seconds: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("Seconds:"))
            .and_then(|s| s.trim().parse().ok())
            .expect("primecount --time prints Seconds:");
        best_inner = best_inner.min(Duration::from_secs_f64(seconds));
    }
    (answer, best_inner, best_wall)
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn main() {
    let startup = primecount_startup();
    let mut rows = Vec::new();
    for (label, n) in CASES {
        let (ours, ours_time) = best_of(RUNS, || primary::nth_prime(n).expect("primary answers"));
        let (reference, cli_inner, cli_wall) = primecount_cli(n);
        // `--time` prints whole milliseconds; below 50 ms the wall time less the process
        // start-up is the finer measure of primecount's own work.
        let cli_work = if cli_inner >= Duration::from_millis(50) {
            cli_inner
        } else {
            cli_wall.saturating_sub(startup).max(cli_inner)
        };
        assert_eq!(
            ours, reference,
            "n = {label}: ours {ours}, primecount {reference}"
        );
        let sieves = (n <= SIEVE_MAX_N).then(|| {
            let runs = if n < SIEVE_MAX_N { 3 } else { 1 };
            let (by_primal, primal_time) = best_of(runs, || {
                primal::StreamingSieve::nth_prime(n as usize) as u64
            });
            let (by_sieve, sieve_time) = best_of(runs, || sieve::nth_prime(n));
            assert_eq!(by_primal, ours, "primal disagrees at n = {label}");
            assert_eq!(
                by_sieve, ours,
                "the fallback sieve disagrees at n = {label}"
            );
            (primal_time, sieve_time)
        });
        let ratio = ours_time.as_secs_f64() / cli_work.as_secs_f64();
        let (primal_cell, primal_ratio, sieve_cell) = match sieves {
            Some((p, s)) => (
                ms(p),
                format!("{:.1}×", p.as_secs_f64() / ours_time.as_secs_f64()),
                format!("{} | {:.2}", ms(s), s.as_secs_f64() / p.as_secs_f64()),
            ),
            None => ("—".into(), "—".into(), "— | —".into()),
        };
        let row = format!(
            "| {label} | {ours} | {} | {} | {} | {} | {ratio:.2} | {primal_cell} | {primal_ratio} | {sieve_cell} |",
            ms(ours_time),
            ms(cli_work),
            ms(cli_inner),
            ms(cli_wall),
        );
        println!("{row}");
        rows.push(row);
    }

    let date = bench_section::utc_date();
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let section = format!(
        "## nth prime: primary calculator\n\n\
         Command: `make bench-calculator` (`cargo bench -p primescaler-calculator --bench nth_prime`).  \n\
         Machine: {cpu}, {cores} cores; {date}. Best of {RUNS} runs (primal and the fallback: 3, or 1 at 10^9), all single-threaded.\n\n\
         - **ours**: `primary::nth_prime` (libprimecount 7.2 through the `primecount` crate, built without OpenMP), in process.\n\
         - **primecount**: the Debian `primecount` command (7.6), `primecount N -n -t1 --time`. **primecount ms** is its work: the `Seconds:` it prints, or, below 50 ms where that is too coarse, its wall time less its start-up ({startup_ms} ms, the wall time of `primecount 1 -n`). Its `--time` and whole wall time are shown too.\n\
         - **ratio**: ours ÷ primecount ms (target ≤ 1.5).\n\
         - **primal**: `primal::StreamingSieve::nth_prime`, timed up to n = 10^9 (it sieves every number up to p(n)); **primal ÷ ours** is how many times slower it is than the primary.\n\
         - **fallback**: `sieve::nth_prime`, primal's sieve walked prime by prime so that it can stop at its deadline; **fallback ÷ primal** is the price of stopping. The segmented sieve written here before took 21.1 ms, 2,226 ms and 24,562 ms at 10^6, 10^8 and 10^9 in the run that chose the walk (2026-12-02), 3.2 to 4.8 times the walk.\n\n\
         | n | p(n) | ours ms | primecount ms | primecount --time ms | primecount wall ms | ratio | primal ms | primal ÷ ours | fallback ms | fallback ÷ primal |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n\
         {}\n",
        rows.join("\n"),
        cpu = cpu_model(),
        startup_ms = ms(startup),
    );
    bench_section::write_section(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."),
        "nth-prime",
        &section,
    );
    println!("\nwritten to docs/benchmarks.md");
}

//! The deterministic simulation: ≥ 10,000 seeds of faulted, interleaved instances, each
//! checked for right primes, answered requests, n stored once, no lost record, no
//! dangling pointer and no hint left (and no double, orphan or dangling pointer before
//! any request helps, once the upkeep's handoff and repair are done); and as many again
//! with resets and evictions racing the requests, where each node's record count must
//! also come out right (see `sim::start_removals`). `SIM_SEEDS=k` plays k seeds;
//! `SIM_SEED=s` replays one, with its findings in full.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use primescaler_cluster::testing::sim::{self, MAX_N, Outcome};
use primescaler_tests::cluster::reference_primes;

fn primes() -> Arc<Vec<u64>> {
    Arc::new(reference_primes()[..MAX_N as usize].to_vec())
}

fn seeds() -> u64 {
    std::env::var("SIM_SEEDS").map_or(10_000, |k| k.parse().expect("SIM_SEEDS is a count"))
}

fn report(outcome: &Outcome) -> String {
    format!(
        "seed {} ({}, {}; {} calls, {} requests stopped): {}\n  replay: SIM_SEED={} cargo test -p primescaler-tests --test simulation",
        outcome.seed,
        outcome.strategy.as_str(),
        outcome.profile,
        outcome.trace.1,
        outcome.stopped,
        outcome.findings,
        outcome.seed
    )
}

#[test]
fn every_seed_answers_right_and_stores_each_n_once() {
    play_every_seed(sim::run);
}

#[test]
fn resets_and_evictions_racing_requests_leave_each_n_once_and_counts_right() {
    play_every_seed(sim::run_with_removals);
}

fn play_every_seed(run: fn(u64, &Arc<Vec<u64>>) -> Outcome) {
    // GIVEN the reference primes and the seeds to play
    let primes = primes();
    if let Ok(seed) = std::env::var("SIM_SEED") {
        // The rules' own log of the run, as RUST_LOG asks (warnings by default).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        let outcome = run(seed.parse().expect("SIM_SEED is a number"), &primes);
        println!("{}", report(&outcome));
        assert!(outcome.findings.is_clean());
        return;
    }
    let count = seeds();
    let next = AtomicU64::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());

    // WHEN every seed is played, on every core
    let failed: Vec<Outcome> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut failed = Vec::new();
                    loop {
                        let seed = next.fetch_add(1, Ordering::Relaxed);
                        if seed >= count {
                            return failed;
                        }
                        let outcome = run(seed, &primes);
                        if !outcome.findings.is_clean() {
                            failed.push(outcome);
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a simulation thread"))
            .collect()
    });

    // THEN none found anything
    let shown: Vec<String> = failed
        .iter()
        .take(std::env::var("SIM_SHOW").map_or(5, |k| k.parse().unwrap_or(5)))
        .map(report)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {count} seeds failed; the first:\n{}",
        failed.len(),
        shown.join("\n")
    );
}

/// Seeds that found a bug in the rules, each fixed since (the comment at each fix
/// names what it found):
/// - 67: a claim's pointer to a node that was itself an arbiter led to a pointer, and
///   reads stopped there (pointers are followed on, and a claim is moved straight);
/// - 8: a claim cut off for good kept its pointer in the way of the hinted copy
///   (handoff moves a pointer that leads nowhere, past its grace, to the copy);
/// - 303: handoff dropped a hint after removing one copy it named, and the copy that
///   stayed was never handed off;
/// - 66: handoff took an earlier node holding the record itself for a rival copy;
/// - 249: a hint written again while handoff settled it was dropped with the write it
///   announced (hints count their writes, and are dropped only unchanged);
/// - 15180: a claim's pointer, since withdrawn, was taken by handoff for the way to the
///   hinted copy (a claim counts once past its grace); and a pointer with the same node
///   and time as a claim's was taken for that claim's own (claims carry a token);
/// - 26010: the same withdrawn claim, under remote_first, after which the hinted copy
///   was removed as a double of the record the claim's request then stored.
const SEEDS_THAT_FOUND_BUGS: [u64; 7] = [67, 8, 303, 66, 249, 15_180, 26_010];

#[test]
fn seeds_that_found_bugs_stay_fixed() {
    // GIVEN the seeds that once failed
    let primes = primes();
    for seed in SEEDS_THAT_FOUND_BUGS {
        // WHEN each is played
        let outcome = sim::run(seed, &primes);

        // THEN it is clean
        assert!(outcome.findings.is_clean(), "{}", report(&outcome));
    }
}

#[test]
fn a_seed_replays_exactly() {
    // GIVEN one seed of each fault profile and strategy
    let primes = primes();
    for seed in 0..24 {
        // WHEN it is played twice
        let first = sim::run(seed, &primes);
        let second = sim::run(seed, &primes);

        // THEN both runs made the same calls, met the same fates and ended the same
        assert_eq!(first, second, "seed {seed} replays");
        assert!(first.trace.1 > 0);
    }
}

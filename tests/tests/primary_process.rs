//! The primary calculator in a process of its own: a large n is answered by a child of
//! the function's binary (here `api_instance`, whose `main` starts as the API's does),
//! and a child past its budget is killed, not left computing beside the next requests.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use primescaler_calculator::{GuardSettings, GuardedCalculator, PRIMARY_NAME, PrimaryProcess};
use primescaler_core::{Computation, ComputeError, PrimeCalculator};

/// A calculator whose primary runs a large n in `api_instance`, with these budgets.
fn in_a_process(primary_budget: Duration, fallback_budget: Duration) -> GuardedCalculator {
    GuardedCalculator::new(GuardSettings {
        primary_budget,
        fallback_budget,
        ..GuardSettings::default()
    })
    .with_primary_process(PrimaryProcess::of(env!("CARGO_BIN_EXE_api_instance")))
}

/// The processes of `program` started with exactly `args` after it.
fn running(program: &str, args: &[String]) -> Vec<u32> {
    let program = PathBuf::from(program);
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let words: Vec<String> = cmdline
            .split(|&b| b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        if words.first().map(PathBuf::from) == Some(program.clone()) && words[1..] == *args {
            found.push(pid);
        }
    }
    found
}

/// Computes p(n) with `calculator`, watching /proc meanwhile: the answer, and the pids
/// of the primary's processes seen while it ran.
async fn compute_watching(
    calculator: &GuardedCalculator,
    n: u64,
) -> (Result<Computation, ComputeError>, Vec<u32>) {
    let program = env!("CARGO_BIN_EXE_api_instance");
    let args = ["--nth-prime".to_string(), n.to_string()];
    let done = std::sync::atomic::AtomicBool::new(false);
    let watch = async {
        let mut seen = Vec::new();
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            for pid in running(program, &args) {
                if !seen.contains(&pid) {
                    seen.push(pid);
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        seen
    };
    let compute = async {
        let answer = calculator.compute(n).await;
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        answer
    };
    tokio::join!(compute, watch)
}

#[tokio::test]
async fn a_large_n_is_answered_by_the_primary_in_its_own_process() {
    // GIVEN a calculator whose primary runs from 10^11 on in a process of its own
    let calculator = in_a_process(Duration::from_secs(20), Duration::from_secs(1));

    // WHEN p(10^12) is asked for
    let (answer, seen) = compute_watching(&calculator, 1_000_000_000_000).await;

    // THEN the primary answered it, right, from a process of its own
    let answer = answer.unwrap();
    assert_eq!(answer.prime, 29_996_224_275_833);
    assert_eq!(
        answer.calculator, PRIMARY_NAME,
        "{:?}",
        answer.fallback_reason
    );
    assert_eq!(seen.len(), 1, "one process computed it: {seen:?}");
}

#[tokio::test]
async fn a_primary_past_its_budget_is_stopped() {
    // GIVEN a 300 ms primary budget, and a fallback that cannot reach this far either
    let calculator = in_a_process(Duration::from_millis(300), Duration::from_millis(50));

    // WHEN p(10^15) is asked for: several seconds of work on a whole core
    let started = Instant::now();
    let (answer, seen) = compute_watching(&calculator, 1_000_000_000_000_000).await;

    // THEN no answer, at the budgets' end; the process that computed it is gone (killed,
    // and reaped: a zombie would keep its /proc entry)
    assert!(answer.is_err(), "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let [pid] = seen[..] else {
        panic!("one process computed it: {seen:?}")
    };
    let proc = PathBuf::from(format!("/proc/{pid}"));
    for _ in 0..50 {
        if !proc.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the primary's process {pid} still exists");
}

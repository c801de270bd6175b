//! The primary calculator in a process of its own: a large n is answered by a child of
//! the function's binary (here `api_instance`, whose `main` starts as the API's does),
//! and a child past its budget is killed, not left computing beside the next requests.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use primescaler_calculator::{GuardSettings, GuardedCalculator, PRIMARY_NAME, PrimaryProcess};
use primescaler_core::PrimeCalculator;

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
fn running(program: &str, args: &[&str]) -> Vec<u32> {
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

#[tokio::test]
async fn a_large_n_is_answered_by_the_primary_in_its_own_process() {
    // GIVEN a calculator whose primary runs from 10^11 on in a process of its own
    let calculator = in_a_process(Duration::from_secs(20), Duration::from_secs(1));

    // WHEN p(10^12) is asked for
    let answer = calculator.compute(1_000_000_000_000).await.unwrap();

    // THEN the primary answered it, right
    assert_eq!(answer.prime, 29_996_224_275_833);
    assert_eq!(
        answer.calculator, PRIMARY_NAME,
        "{:?}",
        answer.fallback_reason
    );
}

#[tokio::test]
async fn a_primary_past_its_budget_is_stopped() {
    // GIVEN a 300 ms primary budget, and a fallback that cannot reach this far either
    let calculator = in_a_process(Duration::from_millis(300), Duration::from_millis(50));
    let args = ["--nth-prime", "1000000000000000"];

    // WHEN p(10^15) is asked for: several seconds of work on a whole core
    let started = Instant::now();
    let answer = calculator.compute(1_000_000_000_000_000).await;

    // THEN no answer, at the budgets' end, and no process left computing it
    assert!(answer.is_err(), "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let mut left = running(env!("CARGO_BIN_EXE_api_instance"), &args);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        left = running(env!("CARGO_BIN_EXE_api_instance"), &args);
    }
    assert_eq!(left, Vec::<u32>::new(), "the primary's process still runs");
}

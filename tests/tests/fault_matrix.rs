//! The fault matrix's slice in `make test`: every fault once, under two strategies
//! (`make faults` runs all 24 cells and writes docs/faults.md). Each cell runs two API
//! instances in processes of their own, racing on the same n through fault proxies;
//! after handoff converges, every answer must hold the right prime, every valid request
//! must have been answered 200, and the nodes must hold each n once, with nothing
//! lost, no pointer leading nowhere and no hint left.

use std::path::Path;

use primescaler_cluster::Strategy;
use primescaler_tests::cluster::{reference_primes, three_emulators};
use primescaler_tests::faults::{FAULTS, Plan, run_cells, table};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_under_two_strategies_answers_right_and_stores_each_n_once() {
    // GIVEN three nodes' emulators, and each fault paired with one of two strategies
    let emulators = three_emulators().await;
    let cells: Vec<_> = FAULTS
        .iter()
        .enumerate()
        .map(|(i, &fault)| {
            let strategy = if i % 2 == 0 {
                Strategy::RoundRobin
            } else {
                Strategy::RemoteFirst
            };
            (strategy, fault)
        })
        .collect();
    let plan = Plan {
        per_phase: 40,
        concurrency: 8,
        hot: 40,
        twin: false,
    };

    // WHEN every cell runs at once (each mostly waits out its write grace: 24 s for
    // the six on 2 cores, where three at a time took 38 s)
    let binary = Path::new(env!("CARGO_BIN_EXE_api_instance"));
    let at_once = cells.len();
    let done = run_cells(
        &emulators,
        binary,
        &cells,
        at_once,
        plan,
        &reference_primes(),
    )
    .await;

    // THEN every cell met its fault (requests passed over the victim), and is clean
    let shown = table(&done);
    println!("{shown}");
    for cell in &done {
        assert!(
            cell.failed_over > 0,
            "{} under {} was never met\n{shown}",
            cell.fault.name(),
            cell.strategy.as_str()
        );
        assert!(
            cell.findings.is_clean(),
            "{} under {}: {}\n{shown}",
            cell.fault.name(),
            cell.strategy.as_str(),
            cell.findings
        );
    }
}

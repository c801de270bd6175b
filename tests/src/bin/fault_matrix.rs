//! `make faults`: the whole fault matrix, every strategy against every fault, written to
//! docs/faults.md; `make faults-twin` (`FAULTS_TWIN=1`) runs it on the deployed twin and
//! writes docs/faults-twin.md. `FAULT_CELLS_AT_ONCE` sets how many cells run at once
//! (default 3).

use std::time::Instant;

use primescaler_tests::cluster::{reference_primes, three_emulators};
use primescaler_tests::faults::{FAULTS, Plan, STRATEGIES, instance_binary, run_cells, table};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let at_once = std::env::var("FAULT_CELLS_AT_ONCE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let emulators = three_emulators().await;
    let cells: Vec<_> = STRATEGIES
        .iter()
        .flat_map(|&strategy| FAULTS.iter().map(move |&fault| (strategy, fault)))
        .collect();
    let plan = Plan {
        per_phase: 80,
        concurrency: 8,
        hot: 60,
        twin: std::env::var_os("FAULTS_TWIN").is_some(),
    };
    let (title, command, file, ways, budgets) = if plan.twin {
        (
            "The fault matrix on the deployed twin",
            "make faults-twin",
            "docs/faults-twin.md",
            "through a fault proxy of its own, and behind it a relay of the twin at the round \
             trip between the instance's region and the node's (docs/twin.md: 1 ms within a \
             region, 80.6 ms between us-east-1 and eu-west-1, 230 ms to ap-southeast-2 from \
             us-east-1 and 309.6 ms from eu-west-1, new connections paying two more)",
            "the template's: a 500 ms base budget per call (plus three of the node's round \
             trips), a 2 s breaker cool-down",
        )
    } else {
        (
            "The fault matrix",
            "make faults",
            "docs/faults.md",
            "through a fault proxy of its own",
            "a 400 ms node budget, a 500 ms breaker cool-down",
        )
    };
    let started = Instant::now();
    let done = run_cells(
        &emulators,
        &instance_binary(),
        &cells,
        at_once,
        plan,
        &reference_primes(),
    )
    .await;
    let clean = done.iter().filter(|c| c.findings.is_clean()).count();
    let mut details = String::new();
    for cell in done.iter().filter(|c| !c.findings.is_clean()) {
        details.push_str(&format!(
            "- {} under {}: {}\n",
            cell.fault.name(),
            cell.strategy.as_str(),
            cell.findings
        ));
    }
    let page = format!(
        "# {title}\n\n\
         Written by `{command}` (`cargo run -p primescaler-tests --bin fault_matrix`), \
         {cells} cells, {at_once} at a time, in {took:.0} s on this machine: **{clean} of {cells} clean**.\n\n\
         Each cell: three nodes (dynalite emulators), a fresh table, two API instances in \
         processes of their own (`api_instance`, beside us-east-1 and eu-west-1), each \
         reaching each node {ways} (`tests/src/proxy.rs`). \
         {per_phase} requests per phase, {concurrency} at a time over both instances, n \
         drawn mostly from 1..={hot} (so that the instances race on the same n) and now \
         and then from 1..=10,000: first with every proxy passing, then with the fault on \
         the victim node (us-east-1), then healed. The instances run with {budgets} and \
         a write grace of 13 s (60 s deployed). Then \
         the write grace passes, the upkeep runs until its handoff keeps nothing and its \
         repair finds nothing in a whole pass over each node (doubles, orphans and \
         dangling pointers are counted here already, before any request), a clean \
         instance asks every n once more, and the simulation's checker \
         (`primescaler_cluster::testing::checker`) reads every node.\n\n\
         The faults: *refused*, connections to the victim closed at once; *black hole*, \
         requests taken and never answered; *lost answers*, requests passed (writes land) \
         and answers held 2.5 s, past every call's budget; *cut answers*, requests passed and \
         half of each answer sent before the connection closes; *throttled*, every call \
         answered `ThrottlingException` by the proxy; *partition*, the first instance's \
         way to the victim black-holed while the second still reaches it (the node keeps \
         its data); *restored empty*, the victim refused, then its table deleted and made \
         again, empty; *restored from a backup*, the same, made again from a backup taken \
         halfway through the first phase (stale: without the writes since). In the last \
         two, what the victim held is lost by design, so the answers before the restore \
         are not held to *lost*.\n\n\
         Columns: *failed over*, answers that passed over a node (the fault was met); *non-200*, valid requests not answered 200 (target 0); *wrong primes*, \
         answers checked against primesieve; *not stored*, answers that said \
         `\"stored\": false` (right, and allowed); *doubles*, n stored on more than one \
         node; *lost*, n answered stored and then missing, or not stored by the clean \
         read; *orphans*, records their arbiter does not lead to; *dangling pointers*, \
         pointers to a node without the record; *hints left*, hints not drained.\n\n\
         {table}\n{details}",
        cells = done.len(),
        took = started.elapsed().as_secs_f64(),
        per_phase = plan.per_phase,
        concurrency = plan.concurrency,
        hot = plan.hot,
        table = table(&done),
    );
    let path = primescaler_tests::workspace_root().join(file);
    std::fs::write(&path, page).expect("write the matrix's page");
    println!("{}", table(&done));
    println!(
        "{clean} of {} clean; written to {}",
        done.len(),
        path.display()
    );
    if clean != done.len() {
        std::process::exit(1);
    }
}

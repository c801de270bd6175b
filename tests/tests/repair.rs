//! The anti-entropy repair over three nodes, each a region on its own emulator, run by
//! the upkeep function's handler: a node restored empty, or from a backup taken before a
//! reset, converges to one copy of each n, each led to by its arbiter, with no pointer
//! to nothing, and without any request asking, the records it did not lose adopted; and a
//! repair run reads a bounded slice.

use std::time::Duration;

use primescaler_api::{LiveDeps, upkeep};
use primescaler_cluster::Strategy;
use primescaler_cluster::service::{REPAIR_MAX_SLICE, REPAIR_MIN_SLICE};
use primescaler_cluster::testing::checker::check_unaided;
use primescaler_cluster::testing::converge::converge;
use primescaler_core::{Epoch, ReadCounters, StoredEntry};
use primescaler_tests::cluster::{LOCAL, REGIONS, deps_over, get, named, reference_primes};
use primescaler_tests::faults::read_nodes;
use primescaler_tests::restore::{back_up, restore};
use primescaler_tests::{Emulator, cluster_config, fresh_cluster_table};
use serde_json::json;

/// How long a pointer with nothing behind it may be a write under way, here: far longer
/// than these requests take on loopback.
const GRACE: Duration = Duration::from_secs(3);

/// The node lost and restored.
const LOST: usize = 0;

/// Three nodes on their own emulators, a fresh table, and an instance over them that
/// stores round robin (records away from their arbiters, behind pointers), walks each
/// node whole in one repair run and takes `GRACE` for its write grace.
async fn three_nodes() -> ([Emulator; 3], String, LiveDeps) {
    let emulators = [
        Emulator::start().await,
        Emulator::start().await,
        Emulator::start().await,
    ];
    let nodes = named(&emulators);
    let table = fresh_cluster_table(&nodes).await;
    let mut cluster = cluster_config(&nodes, Strategy::RoundRobin, LOCAL);
    cluster.write_grace = GRACE;
    cluster.repair_runs = 1;
    let deps = deps_over(cluster, &table).await;
    (emulators, table, deps)
}

/// Asks `deps` for every n of `asked`; answers how many were computed (not found).
async fn ask_all(deps: &LiveDeps, asked: impl IntoIterator<Item = u64>) -> usize {
    let primes = reference_primes();
    let mut computed = 0;
    for n in asked {
        let (status, body) = get(deps, &format!("/primes/{n}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["prime"], primes[n as usize - 1], "n = {n}: {body}");
        computed += usize::from(body["source"] == "computed");
    }
    computed
}

/// The doubles, orphans and dangling pointers the nodes hold for `asked` (hints aside).
async fn damage(deps: &LiveDeps, asked: &[u64]) -> (usize, usize, usize) {
    let found = check_unaided(read_nodes(deps, asked).await, &reference_primes());
    println!("{found}");
    (found.doubles, found.orphans, found.dangling)
}

/// Checks that the nodes hold damage for `asked`, then lets the write grace pass and runs
/// the upkeep until its repair is quiet, with no request, and checks that none is left.
async fn repaired_unasked(deps: &LiveDeps, asked: &[u64]) {
    let (doubles, orphans, dangling) = damage(deps, asked).await;
    assert!(
        doubles + orphans + dangling > 0,
        "the node's loss left nothing to repair"
    );
    tokio::time::sleep(GRACE + Duration::from_millis(500)).await;
    converge(&deps.service).await;
    assert_eq!(damage(deps, asked).await, (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restored_empty_under_requests_converges_to_one_copy_of_each_n_unasked() {
    // GIVEN 120 n stored over three nodes, round robin
    let (emulators, table, deps) = three_nodes().await;
    let asked: Vec<u64> = (1..=120).collect();
    ask_all(&deps, asked.iter().copied()).await;
    assert_eq!(damage(&deps, &asked).await, (0, 0, 0));

    // WHEN one node is lost and its table made again, empty, and every n is asked again
    // (an arbiter that lost its pointer stores n a second time)
    let client = emulators[LOST].client(REGIONS[LOST]).await;
    restore(&client, &table, Vec::new()).await;
    // (Past the write grace, a claim drops a pointer to a lost record and stores n again.)
    tokio::time::sleep(GRACE).await;
    ask_all(&deps, asked.iter().copied()).await;

    // THEN, the write grace past and the upkeep run until its repair is quiet, with no
    // request: each n is stored once, led to by its arbiter, and no pointer leads to nothing
    repaired_unasked(&deps, &asked).await;
    // AND every n is found, none computed again
    assert_eq!(ask_all(&deps, asked.iter().copied()).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restored_from_a_backup_older_than_a_reset_converges_unasked() {
    // GIVEN 60 n stored, and a backup of one node taken then
    let (emulators, table, deps) = three_nodes().await;
    let asked: Vec<u64> = (1..=60).collect();
    ask_all(&deps, asked.iter().copied()).await;
    let client = emulators[LOST].client(REGIONS[LOST]).await;
    let backup = back_up(&client, &table).await;

    // WHEN the cluster is reset, the same n are stored again, and the node is restored
    // from the backup (its epoch, pointers and records all from before the reset)
    deps.service.clear().await.expect("reset every node");
    // (In the other order: round robin sends them elsewhere than the first time.)
    ask_all(&deps, asked.iter().rev().copied()).await;
    // (The n whose record is on a node that stays: the restore leaves them orphans.)
    let kept: Vec<u64> = read_nodes(&deps, &asked)
        .await
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != LOST)
        .flat_map(|(_, (_, data))| data.entries.iter())
        .filter(|(_, entry)| matches!(entry, StoredEntry::Record(_)))
        .map(|(&n, _)| n)
        .collect();
    restore(&client, &table, backup).await;

    // THEN, after the upkeep, each n is stored once and led to, with no request's help
    repaired_unasked(&deps, &asked).await;
    // AND every record on a node that stayed was adopted, not removed: found, not computed
    assert!(!kept.is_empty());
    assert_eq!(ask_all(&deps, kept).await, 0);
    // AND the restored node has had the reset carried over to it
    let figures = deps.service.nodes()[LOST].store.read_counters().await;
    assert!(figures.expect("the node's figures").epoch > Epoch(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repair_run_reads_a_bounded_slice_of_each_node() {
    // GIVEN 600 n stored over three nodes, and the upkeep at its default pace
    let (emulators, table, deps) = three_nodes().await;
    ask_all(&deps, 1..=600).await;
    let nodes = named(&emulators);
    let paced = deps_over(cluster_config(&nodes, Strategy::RoundRobin, LOCAL), &table).await;

    // WHEN the upkeep function runs once
    let report = upkeep(&paced, json!({ "task": "upkeep" })).await;

    // THEN each node's repair read its counters, its cursor and its slice: a 60th of its
    // records, within the slice's floor and ceiling, and not the whole node
    for (i, name) in REGIONS.iter().enumerate() {
        let store = &deps.service.nodes()[i].store;
        let items = store.read_counters().await.expect("figures").items;
        let slice = items.div_ceil(60).clamp(REPAIR_MIN_SLICE, REPAIR_MAX_SLICE);
        let read = report["repaired"][name]["read"]
            .as_u64()
            .expect("a repair report");
        assert!(
            (3..=slice + 2).contains(&read),
            "{name} read {read} items for a slice of {slice}: {report}"
        );
        assert_eq!(report["repaired"][name]["wrapped"], false, "{report}");
    }
}

//! Membership changes on four nodes, each a region on its own emulator: a node added to
//! a filled cluster, and one removed, while requests keep coming. Every request is
//! answered with the right prime, the mover carries only the records whose home changed,
//! and afterwards each n is stored once, where its new arbiter leads, and is found, not
//! computed again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use lambda_http::http::StatusCode;
use primescaler_api::{LiveDeps, upkeep};
use primescaler_cluster::testing::checker::check_unaided;
use primescaler_cluster::{Ring, Strategy};
use primescaler_core::{ReadCounters, shard_of};
use primescaler_tests::cluster::{deps_over, get, reference_primes, send};
use primescaler_tests::faults::read_nodes;
use primescaler_tests::{Emulator, cluster_config, fresh_cluster_table};
use serde_json::{Value, json};

/// The four nodes' regions; the fourth joins or leaves.
const FOUR: [&str; 4] = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"];

/// The n stored before the change.
const STORED: u64 = 3_000;

/// Two instances over four nodes on their own emulators, the ring seeded with
/// `members`: one serves the requests, the other runs the upkeep.
async fn four_nodes(members: &[&str], strategy: Strategy) -> (Vec<Emulator>, LiveDeps, LiveDeps) {
    let mut emulators = Vec::new();
    for _ in FOUR {
        emulators.push(Emulator::start().await);
    }
    let nodes: Vec<(&str, &Emulator)> = FOUR.iter().copied().zip(emulators.iter()).collect();
    let table = fresh_cluster_table(&nodes).await;
    let mut cluster = cluster_config(&nodes, strategy, FOUR[1]);
    cluster.members = members.iter().map(|m| m.to_string()).collect();
    // (The instance that serves the requests is the one that changes the membership:
    // no request on the old ring can still be under way.)
    cluster.move_settle = Duration::from_secs(2);
    let requests = deps_over(cluster.clone(), &table).await;
    let upkept = deps_over(cluster, &table).await;
    (emulators, requests, upkept)
}

/// Asks for n through `deps` and checks the prime; answers whether it was computed.
async fn ask(deps: &LiveDeps, n: u64, primes: &[u64]) -> bool {
    let (status, body) = get(deps, &format!("/primes/{n}")).await;
    assert_eq!(status, StatusCode::OK, "n = {n}: {body}");
    assert_eq!(body["prime"], primes[n as usize - 1], "n = {n}: {body}");
    body["source"] == "computed"
}

/// Requests for random n up to twice [`STORED`] through `deps` until `stop`, each checked
/// as it is answered: the right prime, and found (not computed) when n was stored before
/// the change. Answers how many were made.
async fn load(deps: Arc<LiveDeps>, stop: Arc<AtomicBool>, primes: Arc<Vec<u64>>) -> usize {
    let made = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (deps, stop, primes, made) = (
                Arc::clone(&deps),
                Arc::clone(&stop),
                Arc::clone(&primes),
                Arc::clone(&made),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let n = fastrand::u64(1..=2 * STORED);
                    let computed = ask(&deps, n, &primes).await;
                    assert!(
                        !(computed && n <= STORED),
                        "n = {n} was not found while it moved"
                    );
                    made.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("every request answered right");
    }
    made.load(Ordering::Relaxed)
}

/// Runs the upkeep until the move is done; answers the membership then.
async fn move_to_the_end(upkept: &LiveDeps) -> Value {
    let started = Instant::now();
    loop {
        let report = upkeep(upkept, json!({})).await;
        println!("upkeep: {}", report["moved"]);
        let (_, membership) = get(upkept, "/membership").await;
        if membership["moving"] == false {
            return membership;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the move did not end: {membership}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Asks for every n from 1 to [`STORED`] through `deps`, a few at a time; answers how
/// many were computed.
async fn ask_stored(deps: &LiveDeps) -> usize {
    let primes = reference_primes();
    let computed: Vec<bool> = futures::stream::iter(1..=STORED)
        .map(|n| ask(deps, n, &primes))
        .buffer_unordered(8)
        .collect()
        .await;
    computed.into_iter().filter(|&c| c).count()
}

/// The records `deps`' node `i` holds.
async fn records_on(deps: &LiveDeps, i: usize) -> u64 {
    deps.service.nodes()[i]
        .store
        .read_counters()
        .await
        .unwrap()
        .items
}

/// Changes the ring to `nodes` under load, runs the move to its end, and checks what
/// the nodes hold; answers the records moved.
async fn change_under_load(requests: LiveDeps, upkept: &LiveDeps, nodes: &[&str]) -> u64 {
    let primes = Arc::new(reference_primes());
    let body = json!({ "nodes": nodes }).to_string();
    let (status, changed) = send(&requests, "PUT", "/membership", Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (changed["moving"].clone(), changed["epoch"].clone()),
        (json!(true), json!(1))
    );

    let requests = Arc::new(requests);
    let stop = Arc::new(AtomicBool::new(false));
    let running = tokio::spawn(load(
        Arc::clone(&requests),
        Arc::clone(&stop),
        Arc::clone(&primes),
    ));
    let started = Instant::now();
    let after = move_to_the_end(upkept).await;
    stop.store(true, Ordering::Relaxed);
    let made = running.await.expect("the load ran clean");
    println!(
        "{made} requests in {:.1} s while the move ran",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(after["nodes"], json!(nodes));

    // Each n is stored once, where its arbiter on the new ring leads, with no request's
    // help; and then every n stored before the change is found.
    let asked: Vec<u64> = (1..=2 * STORED).collect();
    let found = check_unaided(read_nodes(upkept, &asked).await, &primes);
    println!("{found}");
    assert_eq!((found.doubles, found.orphans, found.dangling), (0, 0, 0));
    assert_eq!(ask_stored(&requests).await, 0, "records were lost");
    after["moved"].as_u64().unwrap()
}

/// How many n of the stored ones have another home on a ring of `to` than of `from`.
fn changed_home(from: &[&str], to: &[&str]) -> u64 {
    let (from_ring, to_ring) = (Ring::new(from), Ring::new(to));
    (1..=STORED)
        .filter(|&n| from[from_ring.home(shard_of(n))] != to[to_ring.home(shard_of(n))])
        .count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fourth_node_joins_under_load_and_takes_a_quarter_of_the_records() {
    // GIVEN three of four nodes in the ring, 3,000 n stored
    let (_emulators, requests, upkept) = four_nodes(&FOUR[..3], Strategy::ConsistentHash).await;

    assert_eq!(ask_stored(&requests).await, STORED as usize);

    // WHEN the fourth joins while requests keep coming
    let moved = change_under_load(requests, &upkept, &FOUR).await;

    // THEN only the records whose home changed moved, about a quarter of those stored,
    // and the fourth holds them
    let changed = changed_home(&FOUR[..3], &FOUR);
    println!("moved {moved} of {STORED}; {changed} changed home");
    assert!(moved <= changed, "{moved} moved, {changed} changed home");
    assert!(records_on(&upkept, 3).await >= moved);
    let ideal = STORED as f64 / 4.0;
    assert!(moved as f64 <= 1.05 * ideal, "{moved} moved, ideal {ideal}");
    assert!(moved as f64 >= 0.8 * ideal, "{moved} moved, ideal {ideal}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_leaves_under_load_and_keeps_nothing() {
    // GIVEN four nodes in the ring, storing round robin (records away from their
    // arbiters, behind pointers), 3,000 n stored
    let (_emulators, requests, upkept) = four_nodes(&FOUR, Strategy::RoundRobin).await;

    assert_eq!(ask_stored(&requests).await, STORED as usize);
    let held = records_on(&upkept, 3).await;

    // WHEN the fourth leaves while requests keep coming
    let moved = change_under_load(requests, &upkept, &FOUR[..3]).await;

    // THEN it holds no record, and no more moved than it held
    println!("moved {moved}; the node that left held {held}");
    assert_eq!(records_on(&upkept, 3).await, 0);
    assert!(moved <= held, "{moved} moved, {held} held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ring_the_nodes_hold_outlives_a_new_node_list_in_the_environment() {
    // GIVEN a ring of three of four nodes, which the upkeep has written to the nodes
    let (emulators, requests, upkept) = four_nodes(&FOUR[..3], Strategy::ConsistentHash).await;
    upkeep(&upkept, json!({})).await;
    // AND an instance whose environment lists all four as the ring (a stack updated
    // with the new region in its list, before the change)
    let nodes: Vec<(&str, &Emulator)> = FOUR.iter().copied().zip(emulators.iter()).collect();
    let mut updated = cluster_config(&nodes, Strategy::ConsistentHash, FOUR[1]);
    updated.members = FOUR.iter().map(|m| m.to_string()).collect();
    let updated = deps_over(updated, requests.service.nodes()[0].store.table()).await;

    // WHEN it serves a request, and is asked for the membership
    let primes = reference_primes();
    ask(&updated, 7, &primes).await;
    let (_, held) = get(&updated, "/membership").await;

    // THEN the ring is the one the nodes hold, and adding the fourth is a change to make
    assert_eq!(
        (held["epoch"].clone(), held["nodes"].clone()),
        (json!(0), json!(FOUR[..3]))
    );
    let body = json!({ "nodes": FOUR }).to_string();
    let (status, changed) = send(&updated, "PUT", "/membership", Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["moving"], true, "{changed}");
}

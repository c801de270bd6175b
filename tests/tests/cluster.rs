//! Three nodes, each a region on its own DynamoDB emulator: placement per strategy,
//! records found again from another function instance, never stored twice, and a fault
//! test that kills one node's emulator under load and brings it back.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use primescaler_api::{ApiConfig, LiveDeps, handle};
use primescaler_cluster::{Ring, Strategy};
use primescaler_core::{ScanRecords, shard_of};
use primescaler_tests::events::EventShape;
use primescaler_tests::{Emulator, cluster_config, free_port, fresh_cluster_table};
use serde_json::Value;

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const LOCAL: &str = "eu-west-1";

async fn get(deps: &LiveDeps, target: &str) -> (StatusCode, Value) {
    let response: Response<Body> =
        handle(deps, EventShape::ApiGateway.request("GET", target, None))
            .await
            .expect("the handler always answers");
    let status = response.status();
    let Body::Text(text) = response.body() else {
        panic!("a text body")
    };
    (status, serde_json::from_str(text).expect("JSON"))
}

async fn deps_for(nodes: &[(&str, &Emulator)], table: &str, strategy: Strategy) -> LiveDeps {
    LiveDeps::connect(&ApiConfig {
        cluster: cluster_config(nodes, strategy, LOCAL),
        table: table.to_string(),
        max_n: 10_000,
        reset_token: None,
        guard: Default::default(),
    })
    .await
}

/// How many records each n has, over every node.
async fn copies(deps: &LiveDeps) -> HashMap<u64, usize> {
    let mut copies = HashMap::new();
    for node in deps.service.nodes() {
        let page = node
            .store
            .scan_records(None, 10_000)
            .await
            .expect("scan a node");
        assert!(page.next.is_none(), "one page holds a test's records");
        for record in page.records {
            *copies.entry(record.key.n).or_insert(0) += 1;
        }
    }
    copies
}

/// The primes 2, 3, 5, … up to p(10,000), from primesieve.
fn reference_primes() -> Vec<u64> {
    let output = std::process::Command::new("primesieve")
        .args(["104729", "--print"])
        .output()
        .expect("run primesieve (make test installs it)");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn each_strategy_stores_where_it_says_and_every_instance_finds_it() {
    // GIVEN three nodes, each on its own emulator
    let emulators = [
        Emulator::start().await,
        Emulator::start().await,
        Emulator::start().await,
    ];
    let nodes: Vec<(&str, &Emulator)> = REGIONS.iter().copied().zip(emulators.iter()).collect();
    let ring = Ring::new(&REGIONS);

    for strategy in [
        Strategy::ConsistentHash,
        Strategy::RoundRobin,
        Strategy::LocalFirst,
        Strategy::RemoteFirst,
    ] {
        let table = fresh_cluster_table(&nodes).await;
        let writer = deps_for(&nodes, &table, strategy).await;
        let reader = deps_for(&nodes, &table, Strategy::ConsistentHash).await;

        for (turn, n) in (1..=24u64).enumerate() {
            // WHEN one instance computes n
            let (status, written) = get(&writer, &format!("/primes/{n}")).await;
            assert_eq!(status, StatusCode::OK, "{written}");
            assert_eq!(written["source"], "computed");

            // THEN it is stored where the strategy says
            let order = ring.order(shard_of(n));
            let expected = match strategy {
                Strategy::ConsistentHash => REGIONS[order[0]],
                Strategy::RoundRobin => REGIONS[turn % REGIONS.len()],
                Strategy::LocalFirst => LOCAL,
                Strategy::RemoteFirst => {
                    REGIONS[*order.iter().find(|&&i| REGIONS[i] != LOCAL).unwrap()]
                }
            };
            assert_eq!(written["node"], expected, "{strategy:?}, n = {n}");

            // AND another instance, whatever its strategy, finds the same record there
            let (_, read) = get(&reader, &format!("/primes/{n}")).await;
            assert_eq!(read["source"], "cache", "{strategy:?}, n = {n}");
            assert_eq!(read["node"], expected);
            assert_eq!(read["prime"], written["prime"]);
        }

        // AND no n is stored twice
        let copies = copies(&writer).await;
        assert_eq!(copies.len(), 24, "{strategy:?}");
        assert!(copies.values().all(|&c| c == 1), "{strategy:?}: {copies:?}");
    }
}

#[tokio::test]
async fn reset_clears_every_node_and_stats_add_up_across_instances() {
    // GIVEN two instances over three nodes, which computed and re-read 1..=30
    let emulators = [
        Emulator::start().await,
        Emulator::start().await,
        Emulator::start().await,
    ];
    let nodes: Vec<(&str, &Emulator)> = REGIONS.iter().copied().zip(emulators.iter()).collect();
    let table = fresh_cluster_table(&nodes).await;
    let first = deps_for(&nodes, &table, Strategy::ConsistentHash).await;
    let second = deps_for(&nodes, &table, Strategy::ConsistentHash).await;
    for n in 1..=30 {
        get(&first, &format!("/primes/{n}")).await;
        get(&second, &format!("/primes/{n}")).await;
    }
    first.service.flush_counters().await;

    // WHEN the second instance reads the stats
    let (_, stats) = get(&second, "/stats").await;

    // THEN they count both instances' requests, node by node
    assert_eq!(stats["items"], 30, "{stats}");
    assert_eq!(stats["totals"]["requests"], 60, "{stats}");
    assert_eq!(stats["totals"]["misses"], 30);
    assert_eq!(stats["totals"]["hits"], 30);
    for node in stats["nodes"].as_array().unwrap() {
        assert_eq!(node["up"], true);
        assert_eq!(
            node["requests"],
            node["hits"].as_u64().unwrap() + node["misses"].as_u64().unwrap()
        );
    }

    // WHEN the cache is reset
    let response = handle(
        &first,
        EventShape::ApiGateway.request("DELETE", "/cache", None),
    )
    .await
    .unwrap();
    let Body::Text(text) = response.body() else {
        panic!()
    };
    let cleared: Value = serde_json::from_str(text).unwrap();

    // THEN every node is cleared and none is unreachable
    assert_eq!(cleared["removed"], 30, "{cleared}");
    assert_eq!(cleared["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(cleared["unreachable"].as_array().unwrap().len(), 0);
    assert!(copies(&first).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_under_load_loses_no_request_and_takes_its_share_again() {
    const REQUESTS: usize = 2_400;
    const CONCURRENCY: usize = 16;
    const KILL_AT: usize = 700;
    const RESTART_AT: usize = 1_500;
    const VICTIM: usize = 1;

    // GIVEN three moto nodes on fixed ports, and two function instances over them
    let ports = [free_port(), free_port(), free_port()];
    let mut emulators: Vec<Option<Emulator>> = Vec::new();
    for port in ports {
        let emulator = Emulator::start_moto(port);
        emulator.wait_until_ready().await;
        emulators.push(Some(emulator));
    }
    let refs: Vec<&Emulator> = emulators.iter().map(|e| e.as_ref().unwrap()).collect();
    let nodes: Vec<(&str, &Emulator)> = REGIONS.iter().copied().zip(refs).collect();
    let table = fresh_cluster_table(&nodes).await;
    let instances = Arc::new([
        deps_for(&nodes, &table, Strategy::ConsistentHash).await,
        deps_for(&nodes, &table, Strategy::ConsistentHash).await,
    ]);
    drop(nodes);
    let primes = Arc::new(reference_primes());
    let mut rng = fastrand::Rng::with_seed(20_261_127);
    let load: Arc<Vec<u64>> = Arc::new((0..REQUESTS).map(|_| rng.u64(1..=10_000)).collect());

    // WHEN 2,400 requests run at concurrency 16, while node 1 is killed at request 700
    // and restarted (empty, as moto keeps nothing) at request 1,500
    let next = Arc::new(AtomicUsize::new(0));
    // 0: all nodes up; 1: the victim is killed; 2: it is back.
    let phase = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(std::sync::Mutex::new(Vec::with_capacity(REQUESTS)));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|w| {
            let (instances, primes, load, next, phase, outcomes) = (
                Arc::clone(&instances),
                Arc::clone(&primes),
                Arc::clone(&load),
                Arc::clone(&next),
                Arc::clone(&phase),
                Arc::clone(&outcomes),
            );
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= REQUESTS {
                        return;
                    }
                    // Hold requests past a fault until the fault has happened.
                    let due = |p: usize| phase.load(Ordering::SeqCst) >= p;
                    while (i >= KILL_AT && !due(1)) || (i >= RESTART_AT && !due(2)) {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    let n = load[i];
                    let (status, body) = get(&instances[w % 2], &format!("/primes/{n}")).await;
                    let correct = status == StatusCode::OK
                        && body["prime"].as_u64() == Some(primes[n as usize - 1]);
                    outcomes.lock().unwrap().push(Outcome {
                        n,
                        correct,
                        node: body["node"].as_str().map(String::from),
                        source: body["source"].as_str().map(String::from),
                        failovers: body["failovers"].as_u64().unwrap_or(0),
                        at: Instant::now(),
                    });
                }
            })
        })
        .collect();

    // The fault driver: kill at 700 answered, restart at 1,500 answered.
    wait_for_answers(&outcomes, KILL_AT).await;
    emulators[VICTIM] = None;
    let killed_at = Instant::now();
    phase.store(1, Ordering::SeqCst);
    let (_, nodes_during) = get(&instances[0], "/nodes").await;
    wait_for_answers(&outcomes, RESTART_AT).await;
    let restarted = Emulator::start_moto(ports[VICTIM]);
    restarted.wait_until_ready().await;
    primescaler_dynamo::create_table(&restarted.client(REGIONS[VICTIM]).await, &table)
        .await
        .expect("re-create the table");
    let restarted_at = Instant::now();
    emulators[VICTIM] = Some(restarted);
    phase.store(2, Ordering::SeqCst);
    for worker in workers {
        worker.await.expect("a worker finished");
    }
    let elapsed = started.elapsed();

    // THEN every request answered the correct prime
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    assert_eq!(outcomes.len(), REQUESTS);
    let failures: Vec<&Outcome> = outcomes.iter().filter(|o| !o.correct).collect();
    let failovers: u64 = outcomes.iter().map(|o| o.failovers).sum();

    // AND no n is stored twice
    let copies = copies(&instances[0]).await;
    let doubles: Vec<(&u64, &usize)> = copies.iter().filter(|&(_, &c)| c > 1).collect();

    // AND after the restart the node takes its share again: once it is back, new records
    // whose home it is are stored on it
    let ring = Ring::new(&REGIONS);
    let homed_on_victim_after = |o: &&Outcome| {
        o.at > restarted_at
            && o.source.as_deref() == Some("computed")
            && ring.home(shard_of(o.n)) == VICTIM
    };
    let back: Vec<&Outcome> = outcomes.iter().filter(homed_on_victim_after).collect();
    let first_back = back
        .iter()
        .filter(|o| o.node.as_deref() == Some(REGIONS[VICTIM]))
        .map(|o| o.at)
        .min();
    let recovery = first_back.map(|t| t - restarted_at);
    let late: Vec<&&Outcome> = back
        .iter()
        .filter(|o| first_back.is_some_and(|f| o.at > f + Duration::from_millis(100)))
        .collect();
    let late_on_victim = late
        .iter()
        .filter(|o| o.node.as_deref() == Some(REGIONS[VICTIM]))
        .count();

    println!(
        "fault test: {REQUESTS} requests at concurrency {CONCURRENCY} in {elapsed:?}; {} failures; \
         {failovers} failovers; node {} down for {:?}; recovery (restart to first record stored on it) {recovery:?}; \
         {late_on_victim}/{} later computes homed on it stored on it; {} n stored twice",
        failures.len(),
        REGIONS[VICTIM],
        restarted_at - killed_at,
        late.len(),
        doubles.len(),
    );
    assert!(
        failures.is_empty(),
        "failed requests: {:?}",
        &failures[..failures.len().min(5)]
    );
    assert!(doubles.is_empty(), "stored twice: {doubles:?}");
    assert!(failovers > 0, "the outage caused no failover");
    assert_eq!(nodes_during["nodes"][VICTIM]["up"], false, "{nodes_during}");
    assert!(recovery.is_some(), "the node never took records again");
    assert!(
        !late.is_empty() && late_on_victim == late.len(),
        "{late_on_victim} of {}",
        late.len()
    );
}

/// One request of the fault test, as answered.
#[derive(Debug)]
struct Outcome {
    n: u64,
    correct: bool,
    node: Option<String>,
    source: Option<String>,
    failovers: u64,
    at: Instant,
}

async fn wait_for_answers(outcomes: &std::sync::Mutex<Vec<Outcome>>, count: usize) {
    while outcomes.lock().unwrap().len() < count {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

//! Three nodes, each a region on its own DynamoDB emulator: placement per strategy,
//! records found again from another function instance, never stored twice, and a fault
//! test that kills one node's emulator under load and brings it back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lambda_http::Body;
use lambda_http::http::StatusCode;
use primescaler_api::{LiveDeps, handle};
use primescaler_cluster::{Ring, Strategy};
use primescaler_core::{
    Epoch, GetRecord, PutOutcome, PutPointerIfAbsent, ReadCounters, RecordKey, StoredEntry,
    shard_of,
};
use primescaler_tests::cluster::{
    LOCAL, REGIONS, copies, deps_for, get, local_nodes_on_fixed_ports, named, reference_primes,
    three_emulators,
};
use primescaler_tests::events::EventShape;
use primescaler_tests::{Emulator, TEST_BREAKER_COOLDOWN, fresh_cluster_table};
use serde_json::Value;

#[tokio::test]
async fn each_strategy_stores_where_it_says_and_every_instance_finds_it() {
    // GIVEN three nodes, each on its own emulator
    let emulators = three_emulators().await;
    let nodes = named(&emulators);
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
    let emulators = three_emulators().await;
    let nodes = named(&emulators);
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
    let (ports, mut emulators) = local_nodes_on_fixed_ports().await;
    let nodes = named(emulators.iter().map(|e| e.as_ref().unwrap()));
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
                    let sent = Instant::now();
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
                        instance: w % 2,
                        sent,
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
    let restarted = Emulator::start_local(ports[VICTIM]);
    restarted.wait_until_ready().await;
    primescaler_dynamo::create_table(&restarted.client(REGIONS[VICTIM]).await, &table)
        .await
        .expect("re-create the table");
    let restarted_at = Instant::now();
    emulators[VICTIM] = Some(restarted);
    let trips_at_restart = victim_trips(&instances, VICTIM).await;
    phase.store(2, Ordering::SeqCst);
    for worker in workers {
        worker.await.expect("a worker finished");
    }
    let elapsed = started.elapsed();
    let trips_at_end = victim_trips(&instances, VICTIM).await;

    // THEN every request answered the correct prime
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    assert_eq!(outcomes.len(), REQUESTS);
    let failures: Vec<&Outcome> = outcomes.iter().filter(|o| !o.correct).collect();
    let failovers: u64 = outcomes.iter().map(|o| o.failovers).sum();

    // AND no n is stored twice once a handoff pass has run over each instance's view, as
    // the upkeep function does every minute (no request runs one)
    let doubles_before_pass = copies(&instances[0])
        .await
        .values()
        .filter(|&&c| c > 1)
        .count();
    for instance in instances.iter() {
        instance.service.hand_off().await;
    }
    let copies = copies(&instances[0]).await;
    let doubles: Vec<(&u64, &usize)> = copies.iter().filter(|&(_, &c)| c > 1).collect();

    // AND after the restart the node takes its share again: once every instance's breaker
    // has had its cool-down and let a probe through, new records whose home it is are
    // stored on it
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
    // Every instance's breaker lets a probe through after its cool-down; a loaded machine
    // may take a little longer to send it. A request chooses its node when it is sent, so
    // it is judged by when it was sent, not by when it was answered.
    let probed_by = restarted_at + TEST_BREAKER_COOLDOWN + Duration::from_millis(500);
    let late: Vec<&&Outcome> = back
        .iter()
        .filter(|o| first_back.is_some() && o.sent > probed_by)
        .collect();
    let late_on_victim = late
        .iter()
        .filter(|o| o.node.as_deref() == Some(REGIONS[VICTIM]))
        .count();

    println!(
        "fault test: {REQUESTS} requests at concurrency {CONCURRENCY} in {elapsed:?}; {} failures; \
         {failovers} failovers; node {} down for {:?}; recovery (restart to first record stored on it) {recovery:?}; \
         {late_on_victim}/{} later computes homed on it stored on it; \
         {doubles_before_pass} n stored twice as the load ended, {} after one more handoff pass",
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
    let doubles_placed: Vec<(u64, Vec<usize>)> = doubles
        .iter()
        .map(|&(&n, _)| (n, ring.order(shard_of(n))))
        .collect();
    assert!(
        doubles.is_empty(),
        "stored twice (n, order of nodes): {doubles_placed:?}"
    );
    assert!(failovers > 0, "the outage caused no failover");
    assert_eq!(nodes_during["nodes"][VICTIM]["up"], false, "{nodes_during}");
    assert!(recovery.is_some(), "the node never took records again");
    // A compute homed on the node goes elsewhere only while an instance's breaker is open
    // again: the node failed again after the restart (on a loaded machine a call can time
    // out), and that instance counted the failure and says why.
    let tripped_again = |k: usize| trips_at_end[k].0 > trips_at_restart[k].0;
    let elsewhere: Vec<_> = late
        .iter()
        .filter(|o| o.node.as_deref() != Some(REGIONS[VICTIM]))
        .map(|o| (o.n, o.node.as_deref(), o.sent - restarted_at, o.instance))
        .collect();
    println!("victim breaker after the restart (trips, last failure): {trips_at_end:?}");
    assert!(
        !late.is_empty(),
        "no compute homed on the node after its probe"
    );
    let unexplained: Vec<_> = elsewhere
        .iter()
        .filter(|&&(.., k)| !tripped_again(k))
        .collect();
    assert!(
        unexplained.is_empty(),
        "{late_on_victim} of {} stored on the node; stored elsewhere with no new failure of the \
         node (n, node, sent after the restart, instance): {unexplained:?}",
        late.len()
    );
    assert!(
        late_on_victim > late.len() / 2,
        "{late_on_victim} of {} stored on the node; the others: {elsewhere:?}; trips {trips_at_end:?}",
        late.len()
    );
}

/// Each instance's count of failures of the victim node, and its last failure's reason.
async fn victim_trips(instances: &[LiveDeps; 2], victim: usize) -> Vec<(u64, Option<String>)> {
    let mut trips = Vec::new();
    for instance in instances {
        let (_, nodes) = get(instance, "/nodes").await;
        let node = &nodes["nodes"][victim];
        trips.push((
            node["trips"].as_u64().expect("a trip count"),
            node["last_failure"]["reason"].as_str().map(String::from),
        ));
    }
    trips
}

#[tokio::test]
async fn an_instance_filling_a_cold_cache_computes_before_reading_yet_answers_what_is_stored() {
    use primescaler_cluster::service::{WRITE_FIRST_AFTER, WRITE_FIRST_MAX_N};
    // GIVEN three nodes, n = 5,000 stored by one instance
    let emulators = three_emulators().await;
    let nodes = named(&emulators);
    let table = fresh_cluster_table(&nodes).await;
    let first = deps_for(&nodes, &table, Strategy::ConsistentHash).await;
    let (_, stored) = get(&first, "/primes/5000").await;
    assert_eq!(stored["source"], "computed");

    // AND another instance whose lookups all missed, WRITE_FIRST_AFTER in a row
    let filling = deps_for(&nodes, &table, Strategy::ConsistentHash).await;
    for n in 1..=u64::from(WRITE_FIRST_AFTER) {
        assert!(!filling.service.writes_first(n), "n = {n}");
        let (_, body) = get(&filling, &format!("/primes/{n}")).await;
        assert_eq!(body["source"], "computed");
    }
    assert!(filling.service.writes_first(5_000));
    assert!(!filling.service.writes_first(WRITE_FIRST_MAX_N + 1));

    // WHEN it asks for the stored n
    let (status, answer) = get(&filling, "/primes/5000").await;

    // THEN it answers the stored record, unchanged, from the same node
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["source"], "cache", "{answer}");
    for field in [
        "prime",
        "node",
        "computed_at",
        "compute_micros",
        "calculator",
    ] {
        assert_eq!(answer[field], stored[field], "{field}");
    }
    assert_eq!(copies(&first).await.get(&5_000), Some(&1));

    // AND that hit sends it back to reading first
    assert!(!filling.service.writes_first(5_001));

    // AND a fresh n while computing first is stored once and found by the other instance
    for n in 10..=10 + u64::from(WRITE_FIRST_AFTER) {
        get(&filling, &format!("/primes/{n}")).await;
    }
    assert!(filling.service.writes_first(9_999));
    let (_, computed) = get(&filling, "/primes/9999").await;
    assert_eq!(computed["source"], "computed");
    let (_, read) = get(&first, "/primes/9999").await;
    assert_eq!(read["source"], "cache");
    assert_eq!(read["prime"], computed["prime"]);
    assert!(copies(&first).await.values().all(|&c| c == 1));
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
    /// Which function instance answered.
    instance: usize,
    /// When the request was sent.
    sent: Instant,
}

async fn wait_for_answers(outcomes: &std::sync::Mutex<Vec<Outcome>>, count: usize) {
    while outcomes.lock().unwrap().len() < count {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_pointer_to_a_lost_record_is_dropped_once_old_and_its_n_stored_again() {
    // GIVEN three nodes, and two n whose homes each hold a pointer to the next node of
    // their order, which holds no record (as after that node came back empty): one
    // pointer just written, the other ten minutes ago
    let emulators = three_emulators().await;
    let nodes = named(&emulators);
    let table = fresh_cluster_table(&nodes).await;
    let instance = deps_for(&nodes, &table, Strategy::ConsistentHash).await;
    let ring = Ring::new(&REGIONS);
    let (young, old) = (41u64, 42u64);
    let home = |n: u64| ring.home(shard_of(n));
    let next = |n: u64| REGIONS[ring.order(shard_of(n))[1]];
    let now = primescaler_core::record::now_ms();
    let stores = instance.service.nodes();
    for (n, written_at_ms) in [(young, now), (old, now - 600_000)] {
        let outcome = stores[home(n)]
            .store
            .put_pointer_if_absent(
                RecordKey::for_index(n),
                next(n),
                written_at_ms,
                0,
                Epoch::default(),
            )
            .await
            .expect("write a pointer");
        assert_eq!(outcome, PutOutcome::Stored);
    }
    let primes = reference_primes();

    // WHEN the young one is asked for
    let (status, body) = get(&instance, &format!("/primes/{young}")).await;

    // THEN it is answered right but not stored for now (its record may be a write under
    // way), and its pointer stays
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["prime"], primes[young as usize - 1]);
    assert_eq!(body["stored"], false, "{body}");
    assert!(matches!(
        stores[home(young)]
            .store
            .get_entry(RecordKey::for_index(young))
            .await,
        Ok(Some(StoredEntry::Pointer { .. }))
    ));

    // WHEN the old one is asked for
    let (status, body) = get(&instance, &format!("/primes/{old}")).await;

    // THEN its pointer is dropped, and n is computed and stored on its home, once
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["source"], "computed", "{body}");
    assert_eq!(body["prime"], primes[old as usize - 1]);
    assert_eq!(body["node"], REGIONS[home(old)], "{body}");
    assert_eq!(copies(&instance).await.get(&old), Some(&1));

    // AND the next request for it is a hit
    let (_, again) = get(&instance, &format!("/primes/{old}")).await;
    assert_eq!(again["source"], "cache", "{again}");
    assert_eq!(again["prime"], body["prime"]);
}

#[tokio::test]
async fn a_claim_that_leads_to_a_node_that_is_down_is_answered_in_one_round() {
    // GIVEN three nodes, the third refusing every connection, and an n homed on the first
    // whose entry there is a pointer to the third (as after a claim for it)
    let emulators = three_emulators().await;
    let nodes = named(&emulators);
    let table = fresh_cluster_table(&nodes).await;
    let mut cluster = primescaler_tests::cluster_config(&nodes, Strategy::ConsistentHash, LOCAL);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    cluster.nodes[2].endpoint = Some(format!("http://{}", closed.local_addr().unwrap()));
    drop(closed);
    let instance = primescaler_tests::cluster::deps_over(cluster, &table).await;
    let ring = Ring::new(&REGIONS);
    let n = (1..10_000u64)
        .find(|&n| ring.home(shard_of(n)) == 0)
        .unwrap();
    let home = &instance.service.nodes()[0].store;
    let now = primescaler_core::record::now_ms();
    home.put_pointer_if_absent(
        RecordKey::for_index(n),
        REGIONS[2],
        now,
        7,
        Epoch::default(),
    )
    .await
    .expect("write a pointer");
    let before = home.read_counters().await.unwrap().grid_version;

    // WHEN n is asked for
    let (status, body) = get(&instance, &format!("/primes/{n}")).await;

    // THEN it is answered right, not stored (the down node may hold it), after one claim
    // on its home: one grid version, where every one of 2N + 1 rounds made one
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["prime"], reference_primes()[n as usize - 1]);
    assert_eq!(body["stored"], false, "{body}");
    assert_eq!(body["failovers"], 1, "{body}");
    let after = home.read_counters().await.unwrap().grid_version;
    assert!(after - before <= 1, "{} claim rounds", after - before);
}

//! A slice of the deployed twin: the three default nodes at the round trips between
//! their regions (a relay in front of each emulator, handshakes included), with the
//! template's default budgets, seen from us-east-1. A far node is used, never marked
//! down, found back by an early probe when it returns, and a reset of a few thousand
//! records on it answers well within the function's timeout.

use std::time::{Duration, Instant};

use lambda_http::Body;
use lambda_http::http::StatusCode;
use primescaler_api::{LiveDeps, handle};
use primescaler_cluster::{BreakerState, Ring};
use primescaler_core::{CountChange, PrimeRecord, RecordChange, RecordKey, shard_of};
use primescaler_dynamo::{DynamoStore, create_table};
use primescaler_tests::cluster::{REGIONS, copies, deps_over, get, named, three_emulators};
use primescaler_tests::events::EventShape;
use primescaler_tests::twin::{FROM, deployed_cluster, relay_to};
use primescaler_tests::{Emulator, fresh_cluster_table, restartable_port};
use primescaler_twin::{Relay, round_trip};

/// Three emulators, each with a fresh table.
async fn twin_nodes() -> ([Emulator; 3], String) {
    let emulators = three_emulators().await;
    let nodes: Vec<(&str, &Emulator)> = REGIONS.iter().copied().zip(&emulators).collect();
    let table = fresh_cluster_table(&nodes).await;
    (emulators, table)
}

/// Each node's emulator behind a relay at its round trip from [`FROM`]; a function
/// instance over the relays, as the template deploys it.
async fn twin(emulators: &[Emulator; 3], table: &str) -> (Vec<Relay>, LiveDeps) {
    let mut relays = Vec::new();
    for (region, emulator) in REGIONS.iter().zip(emulators) {
        relays.push(relay_to(region, emulator.endpoint()).await);
    }
    let nodes: Vec<(&str, String)> = REGIONS
        .iter()
        .copied()
        .zip(relays.iter().map(Relay::endpoint))
        .collect();
    (relays, deps_over(deployed_cluster(&nodes), table).await)
}

#[tokio::test]
async fn a_far_node_is_used_and_never_marked_down() {
    // GIVEN the twin's three nodes, ap-southeast-2 230 ms away, and no connection open
    let (emulators, table) = twin_nodes().await;
    let (_relays, deps) = twin(&emulators, &table).await;

    // WHEN 60 n are asked for, four at a time (each needing connections of its own)
    let ns: Vec<u64> = (1..=60).collect();
    for batch in ns.chunks(4) {
        let answers = futures::future::join_all(batch.iter().map(|n| {
            let target = format!("/primes/{n}");
            let deps = &deps;
            async move { get(deps, &target).await }
        }))
        .await;
        for (n, (status, body)) in batch.iter().zip(answers) {
            assert_eq!(status, StatusCode::OK, "n = {n}: {body}");
            assert_eq!(body["failovers"], 0, "n = {n}: {body}");
        }
    }

    // THEN no node was ever taken for down, and each n is stored once, at its home
    for node in deps.service.nodes() {
        assert_eq!(
            node.breaker.trips().0,
            0,
            "{}: {:?}",
            node.name,
            node.breaker.trips()
        );
    }
    let ring = Ring::new(&REGIONS);
    let far = REGIONS.iter().position(|r| *r == "ap-southeast-2").unwrap();
    let held = copies(&deps).await;
    assert_eq!(held.len(), ns.len());
    assert!(held.values().all(|&c| c == 1), "{held:?}");
    let far_homed = ns
        .iter()
        .filter(|&&n| ring.home(shard_of(n)) == far)
        .count();
    assert!(
        far_homed >= 10,
        "the far node is home to {far_homed} of them"
    );
    let far_store: &DynamoStore = &deps.service.nodes()[far].store;
    let on_far = primescaler_core::ScanRecords::scan_records(far_store, None, 1_000)
        .await
        .unwrap()
        .records
        .len();
    assert_eq!(on_far, far_homed, "the far node holds what it is home to");
}

#[tokio::test]
async fn a_reset_of_a_far_node_answers_well_within_the_function_timeout() {
    // GIVEN a full grid's 10,000 records on the far node (written beside the relay,
    // and counted), 230 ms away
    let (emulators, table) = twin_nodes().await;
    let far = &emulators[2];
    let direct = &DynamoStore::new(far.client(REGIONS[2]).await, &table);
    let records: Vec<PrimeRecord> = (1..=10_000u64)
        .map(|n| PrimeRecord {
            key: RecordKey::for_index(n),
            prime: 2,
            calculator: "test".into(),
            compute_micros: 0,
            computed_at_ms: 0,
        })
        .collect();
    futures::future::try_join_all(records.chunks(100).map(|chunk| async move {
        for record in chunk {
            primescaler_core::PutRecordIfAbsent::put_record_if_absent(
                direct,
                record,
                primescaler_core::Epoch::default(),
            )
            .await?;
        }
        Ok::<_, primescaler_core::StoreError>(())
    }))
    .await
    .unwrap();
    let counted = RecordChange {
        items: 10_000,
        grid: true,
        epoch: primescaler_core::Epoch::default(),
    };
    assert!(direct.count_change(counted).await.unwrap());
    let (_relays, deps) = twin(&emulators, &table).await;

    // WHEN the cache is reset through the API
    let started = Instant::now();
    let response = handle(
        &deps,
        EventShape::ApiGateway.request("DELETE", "/cache", None),
    )
    .await
    .unwrap();
    let took = started.elapsed();

    // THEN it answers 200 with every record removed, in a few round trips (one write
    // per node: deleting them in batches, 32 at a time, took 5.1 s), and none of them is
    // seen any more
    assert_eq!(response.status(), StatusCode::OK);
    let Body::Text(text) = response.body() else {
        panic!("a text body")
    };
    let body: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(body["removed"], 10_000, "{body}");
    assert!(took < Duration::from_secs(2), "the reset took {took:?}");
    assert!(copies(&deps).await.is_empty());
}

#[tokio::test]
async fn starting_up_opens_a_connection_to_each_node_and_learns_its_round_trip() {
    // GIVEN the twin's three nodes, and a function instance that has made no call
    let (emulators, table) = twin_nodes().await;
    let (_relays, deps) = twin(&emulators, &table).await;

    // WHEN it warms up, as in Lambda's init
    deps.service.warm_up().await;

    // THEN each node's round trip is learnt as one round trip, not a new connection's three
    for node in deps.service.nodes() {
        let learnt = node.budget.as_ref().unwrap().round_trip().unwrap();
        let expected = round_trip(FROM, &node.name).unwrap();
        assert!(
            learnt >= expected && learnt < expected + Duration::from_millis(40),
            "{}: learnt {learnt:?}, {expected:?} away",
            node.name
        );
    }
}

#[tokio::test]
async fn a_far_node_that_comes_back_is_probed_early_and_used_when_its_cool_down_ends() {
    // GIVEN the twin's three nodes, the far one (230 ms away) on a port it can come
    // back on, and an instance that has reached them all
    let port = restartable_port();
    let far = Emulator::start_local(port);
    far.wait_until_ready().await;
    let emulators = [Emulator::start().await, Emulator::start().await, far];
    let table = fresh_cluster_table(&named(&emulators)).await;
    let (_relays, deps) = twin(&emulators, &table).await;
    deps.service.warm_up().await;
    let breaker = &deps.service.nodes()[2].breaker;

    // WHEN the far node stops, is found down, and comes back
    let [_near, _middle, far] = emulators;
    drop(far);
    deps.service.warm_up().await;
    let (trips, Some(trip)) = breaker.trips() else {
        panic!("the stopped node was not found down")
    };
    let far = Emulator::start_local(port);
    far.wait_until_ready().await;
    create_table(&far.client(REGIONS[2]).await, &table)
        .await
        .expect("its table again");
    // ... while responses go out, each taking an early probe when one is due
    let cooldown = breaker.cooldown();
    while trip.at.elapsed() < cooldown * 2 && breaker.state() != BreakerState::Closed {
        if let Some(probe) = deps.service.take_early_probe() {
            deps.service.probe(probe).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // THEN an early probe found it back by the end of its cool-down (give or take a
    // round trip and a loaded machine: a probe at the end, paying for its new
    // connection then, would take three), and no request paid for a new connection
    let closed_after = trip.at.elapsed();
    assert_eq!(breaker.state(), BreakerState::Closed, "never closed");
    assert_eq!(breaker.trips().0, trips, "the early probe tripped it");
    let far_away = round_trip(FROM, REGIONS[2]).unwrap();
    assert!(
        closed_after <= cooldown + far_away + Duration::from_millis(200),
        "closed {closed_after:?} after the trip; cool-down {cooldown:?}"
    );
}

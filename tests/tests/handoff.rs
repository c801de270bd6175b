//! Hinted handoff over three nodes, each a region on its own emulator, run by the upkeep
//! function's handler and never inside a request: a record stored past a down home is
//! handed back; a double is removed with the pointers to it; hints waiting on a node that
//! is still down do not hold back the others.

use std::time::Duration;

use primescaler_api::{LiveDeps, upkeep};
use primescaler_cluster::{Ring, Strategy};
use primescaler_core::{
    Computation, Epoch, GetRecord, Hint, PrimeRecord, PutHint, PutPointerIfAbsent,
    PutRecordIfAbsent, RecordKey, RepointPointer, StoredEntry, shard_of,
};
use primescaler_tests::cluster::{
    REGIONS, copies, deps_for, get, hinted, local_nodes_on_fixed_ports, named,
};
use primescaler_tests::{Emulator, fresh_cluster_table};
use serde_json::{Value, json};

/// The upkeep function's handler, with the payload its schedule sends.
async fn upkeep_pass(deps: &LiveDeps) -> Value {
    upkeep(deps, json!({ "task": "upkeep" })).await
}

/// n's record, with p(n) from primesieve.
fn record(n: u64) -> PrimeRecord {
    let output = std::process::Command::new("primesieve")
        .args(["-n", &n.to_string(), "-q"])
        .output()
        .expect("run primesieve (make test installs it)");
    let prime = String::from_utf8(output.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    PrimeRecord::new(
        n,
        Computation {
            prime,
            calculator: "primesieve".into(),
            compute_micros: 0,
            fallback_reason: None,
        },
        primescaler_core::record::now_ms(),
    )
}

/// Three nodes, each on its own emulator (a slot is `None` once stopped), and an instance
/// over a fresh table on them.
async fn three_nodes() -> (Vec<Option<Emulator>>, LiveDeps) {
    let (_ports, emulators) = local_nodes_on_fixed_ports().await;
    let nodes = named(emulators.iter().map(|e| e.as_ref().unwrap()));
    let table = fresh_cluster_table(&nodes).await;
    let deps = deps_for(&nodes, &table, Strategy::ConsistentHash).await;
    drop(nodes);
    (emulators, deps)
}

/// n's order over the three nodes: home first.
fn order_of(n: u64) -> (usize, usize, usize) {
    let order = Ring::new(&REGIONS).order(shard_of(n));
    (order[0], order[1], order[2])
}

/// Milliseconds since the Unix epoch, `ago` back.
fn ms_ago(ago: Duration) -> u64 {
    primescaler_core::record::now_ms() - ago.as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_stored_past_a_down_home_is_handed_back_by_the_upkeep_and_never_kept_twice() {
    const HOME: usize = 0;
    // GIVEN three nodes on fixed ports, and two instances over them
    let (ports, mut emulators) = local_nodes_on_fixed_ports().await;
    let nodes = named(emulators.iter().map(|e| e.as_ref().unwrap()));
    let table = fresh_cluster_table(&nodes).await;
    let writer = deps_for(&nodes, &table, Strategy::ConsistentHash).await;
    let reader = deps_for(&nodes, &table, Strategy::ConsistentHash).await;
    drop(nodes);
    let ring = Ring::new(&REGIONS);
    let homed: Vec<u64> = (1..=10_000u64)
        .filter(|&n| ring.home(shard_of(n)) == HOME)
        .take(3)
        .collect();
    let (kept, doubled, other) = (homed[0], homed[1], homed[2]);
    let next_node = |n: u64| REGIONS[ring.order(shard_of(n))[1]];

    // WHEN their home node is down, and the writer computes both
    emulators[HOME] = None;
    for n in [kept, doubled] {
        let (status, body) = get(&writer, &format!("/primes/{n}")).await;
        // THEN each is stored on the next node of its order, which keeps a hint
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["source"], "computed");
        assert_eq!(body["node"], next_node(n), "{body}");
        assert_eq!(body["failovers"], 1, "{body}");
    }
    assert_eq!(hinted(&writer).await, vec![kept, doubled]);

    // WHEN the home comes back, empty
    let restarted = Emulator::start_local(ports[HOME]);
    restarted.wait_until_ready().await;
    primescaler_dynamo::create_table(&restarted.client(REGIONS[HOME]).await, &table)
        .await
        .expect("re-create the table");
    emulators[HOME] = Some(restarted);

    // AND another instance, which never saw it down, asks for one of them before any
    // handoff: it reads the home, misses, and stores it there a second time
    let (_, second) = get(&reader, &format!("/primes/{doubled}")).await;
    assert_eq!(second["source"], "computed", "{second}");
    assert_eq!(second["node"], REGIONS[HOME]);

    // AND the writer, past its breaker's cool-down, serves a request on the home (its
    // probe, which closes the breaker) and more after it
    tokio::time::sleep(primescaler_tests::TEST_BREAKER_COOLDOWN).await;
    for _ in 0..3 {
        let (status, body) = get(&writer, &format!("/primes/{other}")).await;
        assert_eq!(status, 200);
        assert_eq!(body["node"], REGIONS[HOME], "{body}");
    }

    // THEN no request ran a handoff: both hints and both copies of `doubled` remain
    assert_eq!(hinted(&writer).await, vec![kept, doubled]);
    assert_eq!(copies(&writer).await.get(&doubled), Some(&2));

    // WHEN the upkeep function runs
    let report = upkeep_pass(&writer).await;

    // THEN it points the home at the one record, and removes the hinted copy of the one
    // stored twice
    assert_eq!(report["handed_off"], 1, "{report}");
    assert_eq!(report["doubles_removed"], 1, "{report}");
    let copies = copies(&writer).await;
    assert_eq!(copies.get(&kept), Some(&1), "{copies:?}");
    assert_eq!(copies.get(&doubled), Some(&1), "{copies:?}");
    assert!(hinted(&writer).await.is_empty());
    let (_, found) = get(&reader, &format!("/primes/{kept}")).await;
    assert_eq!(found["source"], "cache", "{found}");
    assert_eq!(found["node"], next_node(kept), "{found}");
    assert_eq!(found["failovers"], 0, "{found}");
    let (_, again) = get(&writer, &format!("/primes/{doubled}")).await;
    assert_eq!(again["node"], REGIONS[HOME], "{again}");
    assert_eq!(again["prime"], second["prime"]);

    // AND a later pass has nothing left to do (no reset came: nothing to sweep)
    let mut report = upkeep_pass(&writer).await;
    let swept = report.as_object_mut().unwrap().remove("swept").unwrap();
    let repaired = report.as_object_mut().unwrap().remove("repaired").unwrap();
    for node in REGIONS {
        assert_eq!(swept[node], json!({"read": 1, "removed": 0, "done": true}));
        // (Its repair finds nothing to do either.)
        let acted = [
            "doubles_removed",
            "adopted",
            "dangling_dropped",
            "straightened",
        ];
        assert!(acted.iter().all(|k| repaired[node][k] == 0), "{repaired}");
    }
    assert_eq!(
        report,
        json!({"moved": null, "handed_off": 0, "doubles_removed": 0, "pointers_moved": 0,
               "kept": 0, "unreachable_nodes": 0, "failed_nodes": 0, "cut_short": false})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_double_takes_the_pointers_to_it_along() {
    // GIVEN three nodes, and an n whose order is [a, b, c]
    let (_emulators, deps) = three_nodes().await;
    let n = 77;
    let (a, b, c) = order_of(n);
    let store = |i: usize| &deps.service.nodes()[i].store;
    let key = RecordKey::for_index(n);

    // AND the state a partial handoff leaves behind when b stored n itself meanwhile:
    // n stored on c with a hint there, a pointer on a to c, and b's own copy
    store(c)
        .put_record_if_absent(&record(n), Epoch::default())
        .await
        .unwrap();
    store(c)
        .put_hint(Hint {
            n,
            hinted_at_ms: ms_ago(Duration::from_secs(120)),
            holders: vec![REGIONS[c].into()],
            writes: 0,
        })
        .await
        .unwrap();
    let pointed = store(a)
        .put_pointer_if_absent(
            key,
            REGIONS[c],
            ms_ago(Duration::from_secs(100)),
            0,
            Epoch::default(),
        )
        .await
        .unwrap();
    assert_eq!(pointed, primescaler_core::PutOutcome::Stored);
    store(b)
        .put_record_if_absent(&record(n), Epoch::default())
        .await
        .unwrap();

    // WHEN the upkeep function runs
    let report = upkeep_pass(&deps).await;

    // THEN c's copy is removed, and the pointer to it on a now leads to b's record
    assert_eq!(report["doubles_removed"], 1, "{report}");
    assert_eq!(report["pointers_moved"], 1, "{report}");
    assert_eq!(copies(&deps).await.get(&n), Some(&1));
    assert!(store(c).get_entry(key).await.unwrap().is_none());
    match store(a).get_entry(key).await.unwrap() {
        Some(StoredEntry::Pointer { node, .. }) => assert_eq!(node, REGIONS[b]),
        other => panic!(
            "a pointer to {} on {}, not {other:?}",
            REGIONS[b], REGIONS[a]
        ),
    }
    assert!(hinted(&deps).await.is_empty());
    let (status, body) = get(&deps, &format!("/primes/{n}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["source"], "cache", "{body}");
    assert_eq!(body["node"], REGIONS[b], "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hints_waiting_on_a_down_node_do_not_hold_back_the_others() {
    const DOWN: usize = 0;
    const ARBITER: usize = 1;
    // GIVEN three nodes, the arbiter holding n's record and hint for two kinds of n: 40
    // (the smallest) whose home is down, more than one page of hints; then 10 whose
    // home is up
    let (mut emulators, deps) = three_nodes().await;
    let ring = Ring::new(&REGIONS);
    let second_is_arbiter = |n: &u64| ring.order(shard_of(*n))[1] == ARBITER;
    let waiting: Vec<u64> = (1..)
        .filter(second_is_arbiter)
        .filter(|&n| ring.home(shard_of(n)) == DOWN)
        .take(40)
        .collect();
    let last_waiting = *waiting.last().unwrap();
    let free: Vec<u64> = (last_waiting..)
        .filter(second_is_arbiter)
        .filter(|&n| ring.home(shard_of(n)) != DOWN)
        .take(10)
        .collect();
    let arbiter = &deps.service.nodes()[ARBITER].store;
    for &n in waiting.iter().chain(&free) {
        arbiter
            .put_record_if_absent(&record(n), Epoch::default())
            .await
            .unwrap();
        arbiter
            .put_hint(Hint {
                n,
                hinted_at_ms: ms_ago(Duration::from_secs(5)),
                holders: vec![REGIONS[ARBITER].into()],
                writes: 0,
            })
            .await
            .unwrap();
    }

    // WHEN the home of the first 40 is down, and the upkeep function runs
    emulators[DOWN] = None;
    let report = upkeep_pass(&deps).await;

    // THEN the 10 behind them are handed off, and the 40 wait
    assert_eq!(report["handed_off"], 10, "{report}");
    assert_eq!(report["kept"], 40, "{report}");
    assert_eq!(hinted(&deps).await, waiting);
    for &n in &free {
        let home = ring.home(shard_of(n));
        let entry = deps.service.nodes()[home]
            .store
            .get_entry(RecordKey::for_index(n))
            .await
            .unwrap();
        assert!(
            matches!(&entry, Some(StoredEntry::Pointer { node, .. }) if node == REGIONS[ARBITER]),
            "n = {n}: {entry:?}"
        );
    }
}

/// The entry `node` holds for n.
async fn entry(deps: &LiveDeps, node: usize, n: u64) -> Option<StoredEntry> {
    deps.service.nodes()[node]
        .store
        .get_entry(RecordKey::for_index(n))
        .await
        .expect("the node answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_past_the_arbiter_is_removed_and_a_removal_cut_off_is_finished() {
    // GIVEN three nodes, and two n whose order is [a, b, c], each stored on c through a
    // pointer on b while a was down (the hint on b names c), and stored again on a by
    // a request once a was back
    let (_emulators, deps) = three_nodes().await;
    let (a, b, c) = order_of(1);
    let same_order: Vec<u64> = (1..)
        .filter(|&n| order_of(n) == (a, b, c))
        .take(2)
        .collect();
    let (whole, cut_off) = (same_order[0], same_order[1]);
    let store = |i: usize| &deps.service.nodes()[i].store;
    for n in [whole, cut_off] {
        let key = RecordKey::for_index(n);
        let pointed = store(b)
            .put_pointer_if_absent(
                key,
                REGIONS[c],
                ms_ago(Duration::from_secs(100)),
                0,
                Epoch::default(),
            )
            .await
            .unwrap();
        assert_eq!(pointed, primescaler_core::PutOutcome::Stored);
        store(c)
            .put_record_if_absent(&record(n), Epoch::default())
            .await
            .unwrap();
        store(b)
            .put_hint(Hint {
                n,
                hinted_at_ms: ms_ago(Duration::from_secs(100)),
                holders: vec![REGIONS[c].into()],
                writes: 0,
            })
            .await
            .unwrap();
        store(a)
            .put_record_if_absent(&record(n), Epoch::default())
            .await
            .unwrap();
    }
    // AND, for the second, a pass that was cut off once it had moved b's pointer to a
    let Some(StoredEntry::Pointer { written_at_ms, .. }) = entry(&deps, b, cut_off).await else {
        panic!("b points at c")
    };
    let moved = store(b)
        .repoint_pointer(
            RecordKey::for_index(cut_off),
            REGIONS[c],
            written_at_ms,
            REGIONS[a],
            ms_ago(Duration::ZERO),
        )
        .await
        .unwrap();
    assert!(moved);

    // WHEN the upkeep function runs
    let report = upkeep_pass(&deps).await;

    // THEN both copies on c are removed, b's pointer for the first is moved to a, and
    // both hints are gone
    assert_eq!(report["doubles_removed"], 2, "{report}");
    assert_eq!(report["pointers_moved"], 1, "{report}");
    for n in [whole, cut_off] {
        assert_eq!(copies(&deps).await.get(&n), Some(&1), "n = {n}");
        assert!(matches!(
            entry(&deps, a, n).await,
            Some(StoredEntry::Record(_))
        ));
        assert!(
            matches!(entry(&deps, b, n).await, Some(StoredEntry::Pointer { node, .. }) if node == REGIONS[a]),
            "n = {n}"
        );
        assert!(entry(&deps, c, n).await.is_none(), "n = {n}");
    }
    assert!(hinted(&deps).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hinted_claim_that_leads_to_an_empty_node_is_dropped_not_handed_on() {
    // GIVEN three nodes, and an n whose order is [a, b, c], claimed on b with a pointer
    // to c 100 s ago (a was down), whose record never landed on c
    let (_emulators, deps) = three_nodes().await;
    let n = 91;
    let (a, b, c) = order_of(n);
    let store = |i: usize| &deps.service.nodes()[i].store;
    let key = RecordKey::for_index(n);
    store(b)
        .put_pointer_if_absent(
            key,
            REGIONS[c],
            ms_ago(Duration::from_secs(100)),
            0,
            Epoch::default(),
        )
        .await
        .unwrap();
    store(b)
        .put_hint(Hint {
            n,
            hinted_at_ms: ms_ago(Duration::from_secs(100)),
            holders: vec![REGIONS[c].into()],
            writes: 0,
        })
        .await
        .unwrap();

    // WHEN the upkeep function runs
    let report = upkeep_pass(&deps).await;

    // THEN the claim that leads nowhere and its hint are gone, and no pointer to the
    // empty node was handed on to a
    assert_eq!(report["handed_off"], 1, "{report}");
    assert!(entry(&deps, b, n).await.is_none());
    assert!(entry(&deps, a, n).await.is_none());
    assert!(hinted(&deps).await.is_empty());
    // AND the next request stores n on its home
    let (_, body) = get(&deps, &format!("/primes/{n}")).await;
    assert_eq!(body["stored"], true, "{body}");
    assert_eq!(body["node"], REGIONS[a], "{body}");
}

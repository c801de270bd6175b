//! Ambiguous writes: a put that lands but whose answer is lost must leave neither a
//! double nor an orphan. A fault proxy in front of one node lets every request reach it
//! (so the write lands) and holds the answer past the caller's budget.

use std::time::Duration;

use primescaler_api::{ApiConfig, LiveDeps};
use primescaler_cluster::{Ring, Strategy};
use primescaler_core::{GetRecord, RecordKey, StoredEntry, shard_of};
use primescaler_tests::cluster::{REGIONS, copies, deps_for, get, named, three_emulators};
use primescaler_tests::proxy::{Fault, FaultProxy};
use primescaler_tests::{TEST_BREAKER_COOLDOWN, cluster_config, fresh_cluster_table};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_whose_answer_was_lost_is_kept_once_and_found() {
    const LATE: Duration = Duration::from_millis(1_500);
    // GIVEN three nodes, records stored away from the local node (remote_first), and an
    // n whose home is the local node, so that its record goes to the next node, T, with
    // a pointer on the home
    let emulators = three_emulators().await;
    let nodes = named(&emulators);
    let table = fresh_cluster_table(&nodes).await;
    let direct = deps_for(&nodes, &table, Strategy::ConsistentHash).await;
    let ring = Ring::new(&REGIONS);
    let local = 0;
    let n = (1..)
        .find(|&n| ring.home(shard_of(n)) == local)
        .expect("an n homed on the local node");
    let target = ring.order(shard_of(n))[1];

    // AND T behind a proxy that lets each request land and answers it 1.5 s late, past
    // the 300 ms node budget
    let proxy = FaultProxy::start(emulators[target].endpoint()).await;
    proxy.set(Fault::LateAnswers(LATE));
    let mut cluster = cluster_config(&nodes, Strategy::RemoteFirst, REGIONS[local]);
    cluster.nodes[target].endpoint = Some(proxy.endpoint());
    cluster.node_timeout = Duration::from_millis(300);
    let deps = LiveDeps::connect(&ApiConfig {
        cluster,
        table: table.clone(),
        max_n: 10_000,
        reset_token: None,
        reset_token_secret: None,
        guard: Default::default(),
        deadline: primescaler_cluster::service::DEFAULT_DEADLINE,
    })
    .await;

    // WHEN n is asked for
    let (status, body) = get(&deps, &format!("/primes/{n}")).await;

    // THEN the right prime is answered, as not confirmed stored
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stored"], false, "{body}");
    let (_, reference) = get(&direct, &format!("/primes/{n}")).await;
    assert_eq!(body["prime"], reference["prime"]);

    // AND n is stored once, on T, where the home's claim leads: no second copy was
    // written elsewhere, and the copy that landed is not orphaned
    tokio::time::sleep(LATE).await;
    assert_eq!(copies(&direct).await.get(&n), Some(&1));
    let key = RecordKey::for_index(n);
    let on = |i: usize| direct.service.nodes()[i].store.get_entry(key);
    assert!(matches!(
        on(target).await.unwrap(),
        Some(StoredEntry::Record(_))
    ));
    assert!(
        matches!(on(local).await.unwrap(), Some(StoredEntry::Pointer { node, .. }) if node == REGIONS[target])
    );

    // AND once T answers in time again, the instance that lost the answer finds it there
    proxy.set(Fault::None);
    tokio::time::sleep(TEST_BREAKER_COOLDOWN).await;
    let (_, again) = get(&deps, &format!("/primes/{n}")).await;
    assert_eq!(again["source"], "cache", "{again}");
    assert_eq!(again["node"], REGIONS[target], "{again}");
}

//! One deadline per request, shared by every node call: a node that takes connections
//! and never answers cannot hold a request past it. The prime is answered, not stored.

use std::time::{Duration, Instant};

use lambda_http::Body;
use primescaler_api::{ApiConfig, LiveDeps, handle};
use primescaler_cluster::Strategy;
use primescaler_tests::events::EventShape;
use primescaler_tests::{Emulator, cluster_config};
use serde_json::Value;

/// A loopback address that accepts connections and never answers them.
async fn black_hole() -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind a loopback port");
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_node_that_never_answers_cannot_hold_a_request_past_its_deadline() {
    const DEADLINE: Duration = Duration::from_millis(1_500);
    // GIVEN one node that takes connections and never answers, with a 5 s node budget,
    // and a request deadline of 1.5 s
    let emulator = Emulator::start().await;
    let deps = over_a_black_hole(&emulator, Duration::from_secs(5), DEADLINE).await;

    // WHEN n = 5 is asked for
    let started = Instant::now();
    let response = handle(
        &deps,
        EventShape::ApiGateway.request("GET", "/primes/5", None),
    )
    .await
    .expect("the handler always answers");
    let took = started.elapsed();

    // THEN the right prime is answered, not stored, by the deadline (give or take the
    // machine), not after a node budget
    let Body::Text(text) = response.body() else {
        panic!("a text body")
    };
    let body: Value = serde_json::from_str(text).unwrap();
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(body["prime"], 11, "{body}");
    assert_eq!(body["stored"], false, "{body}");
    assert!(
        took < DEADLINE + Duration::from_secs(1),
        "answered after {took:?}"
    );
}

/// An instance whose one node never answers, with a base budget of `node_timeout` per
/// call (to which three round trips of the node are added while none is known) and a
/// request deadline of `deadline`.
async fn over_a_black_hole(
    emulator: &Emulator,
    node_timeout: Duration,
    deadline: Duration,
) -> LiveDeps {
    let mut cluster = cluster_config(&[("us-east-1", emulator)], Strategy::default(), "us-east-1");
    cluster.nodes[0].endpoint = Some(black_hole().await);
    cluster.node_timeout = node_timeout;
    LiveDeps::connect(&ApiConfig {
        cluster,
        table: "primes".into(),
        max_n: 10_000,
        reset_token: None,
        reset_token_secret: None,
        guard: Default::default(),
        deadline,
    })
    .await
}

#[tokio::test]
async fn a_call_outlived_by_a_pause_of_the_instance_does_not_mark_its_node_down() {
    // GIVEN two instances over a node that never answers
    let emulator = Emulator::start().await;
    // (a 100 ms base budget: 1.15 s for a first call)
    let over = || {
        over_a_black_hole(
            &emulator,
            Duration::from_millis(100),
            Duration::from_secs(12),
        )
    };
    let (paused, running) = (over().await, over().await);

    // WHEN a read of the node is under way in each, and the first instance is paused
    // (its thread stopped, as Lambda freezes an instance between invocations) for
    // longer than the call's budget plus the lateness taken for a pause
    let pause = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        std::thread::sleep(Duration::from_millis(2_500));
    };
    tokio::join!(paused.service.warm_up(), pause);
    running.service.warm_up().await;

    // THEN the paused instance's call, whose timer fired 2.4 s late, does not take the
    // node for down; the other's, which timed out on time, does
    let trips = |deps: &LiveDeps| deps.service.nodes()[0].breaker.trips().0;
    assert_eq!(trips(&paused), 0);
    assert_eq!(trips(&running), 1);
}

#[tokio::test]
async fn an_early_probe_that_finds_no_answer_leaves_the_node_to_the_next_request() {
    // GIVEN an instance that has found its one node down (it never answers)
    let emulator = Emulator::start().await;
    let deps = over_a_black_hole(
        &emulator,
        Duration::from_millis(100),
        Duration::from_secs(12),
    )
    .await;
    deps.service.warm_up().await;
    let breaker = &deps.service.nodes()[0].breaker;
    assert_eq!(breaker.trips().0, 1);

    // WHEN an early probe is taken, off the request path, and finds no answer either (as
    // a probe frozen with its instance finds none when it thaws)
    let waiting = Instant::now();
    let probe = loop {
        if let Some(probe) = deps.service.take_early_probe() {
            break probe;
        }
        assert!(waiting.elapsed() < Duration::from_secs(5), "no early probe");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    deps.service.probe(probe).await;

    // THEN the node is not taken for down again: its cool-down (over by now) stands, and
    // the next request probes it
    assert_eq!(breaker.trips().0, 1);
    assert!(breaker.allow(), "the next request probes");
}

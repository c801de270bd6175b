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
    let mut cluster = cluster_config(
        &[("us-east-1", &emulator)],
        Strategy::default(),
        "us-east-1",
    );
    cluster.nodes[0].endpoint = Some(black_hole().await);
    cluster.node_timeout = Duration::from_secs(5);
    let deps = LiveDeps::connect(&ApiConfig {
        cluster,
        table: "primes".into(),
        max_n: 10_000,
        reset_token: None,
        reset_token_secret: None,
        guard: Default::default(),
        deadline: DEADLINE,
    })
    .await;

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

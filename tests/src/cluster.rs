//! What the cluster suites share: three nodes, each a region on its own local emulator,
//! function instances over them, and readings of what the nodes hold.

use std::collections::HashMap;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use primescaler_api::{ApiConfig, LiveDeps, handle};
use primescaler_calculator::GuardedCalculator;
use primescaler_cluster::{ClusterConfig, ClusterService, Node, Strategy};
use primescaler_core::{ListHints, ScanRecords, StoreError};
use primescaler_dynamo::DynamoStore;
use serde_json::Value;

use crate::events::EventShape;
use crate::{Emulator, cluster_config, restartable_port};

/// The three nodes' regions.
pub const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
/// The node the instances run beside.
pub const LOCAL: &str = "eu-west-1";

/// Sends `GET target` to `deps` as API Gateway would; answers the status and JSON.
pub async fn get(deps: &LiveDeps, target: &str) -> (StatusCode, Value) {
    send(deps, "GET", target, None).await
}

/// Sends `method target` with `body` to `deps` as API Gateway would; answers the status
/// and JSON.
pub async fn send(
    deps: &LiveDeps,
    method: &str,
    target: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let response: Response<Body> =
        handle(deps, EventShape::ApiGateway.request(method, target, body))
            .await
            .expect("the handler always answers");
    let status = response.status();
    let Body::Text(text) = response.body() else {
        panic!("a text body")
    };
    (status, serde_json::from_str(text).expect("JSON"))
}

/// A function instance over `nodes`' tables `table`, storing with `strategy`.
pub async fn deps_for(nodes: &[(&str, &Emulator)], table: &str, strategy: Strategy) -> LiveDeps {
    deps_over(cluster_config(nodes, strategy, LOCAL), table).await
}

/// A function instance over `cluster`'s tables `table` (a cluster a test has changed:
/// an endpoint behind a proxy, a budget).
pub async fn deps_over(cluster: ClusterConfig, table: &str) -> LiveDeps {
    LiveDeps::connect(&ApiConfig {
        cluster,
        table: table.to_string(),
        max_n: 10_000,
        reset_token: None,
        reset_token_secret: None,
        guard: Default::default(),
        deadline: primescaler_cluster::service::DEFAULT_DEADLINE,
    })
    .await
}

/// One emulator per region (dynalite, or what `PRIMESCALER_EMULATOR` picks).
pub async fn three_emulators() -> [Emulator; 3] {
    [
        Emulator::start().await,
        Emulator::start().await,
        Emulator::start().await,
    ]
}

/// Each region beside its emulator, in `REGIONS` order.
pub fn named<'a>(
    emulators: impl IntoIterator<Item = &'a Emulator>,
) -> Vec<(&'static str, &'a Emulator)> {
    REGIONS.iter().copied().zip(emulators).collect()
}

/// Three local emulators, each on a port of its own that a restarted one can take again;
/// a slot is `None` while its emulator is stopped.
pub async fn local_nodes_on_fixed_ports() -> ([u16; 3], Vec<Option<Emulator>>) {
    let ports = [restartable_port(), restartable_port(), restartable_port()];
    let mut emulators = Vec::new();
    for port in ports {
        let emulator = Emulator::start_local(port);
        emulator.wait_until_ready().await;
        emulators.push(Some(emulator));
    }
    (ports, emulators)
}

/// How many records each n has, over every node.
pub async fn copies(deps: &LiveDeps) -> HashMap<u64, usize> {
    let mut copies = HashMap::new();
    for node in deps.service.nodes() {
        let mut after = None;
        loop {
            let page = node
                .store
                .scan_records(after, 10_000)
                .await
                .expect("scan a node");
            for record in page.records {
                *copies.entry(record.key.n).or_insert(0) += 1;
            }
            after = page.next;
            if after.is_none() {
                break;
            }
        }
    }
    copies
}

/// The primes 2, 3, 5, … up to p(10,000), from primesieve.
pub fn reference_primes() -> Vec<u64> {
    crate::command::stdout_of(
        std::process::Command::new("primesieve").args(["104729", "--print"]),
        "make test installs it",
    )
    .lines()
    .map(|l| l.trim().parse().unwrap())
    .collect()
}

/// The n of every hint held by the nodes that answer, smallest first.
pub async fn hinted(deps: &LiveDeps) -> Vec<u64> {
    let mut held = Vec::new();
    for node in deps.service.nodes() {
        match node.store.list_hints(None, 1_000).await {
            Ok(hints) => held.extend(hints.iter().map(|hint| hint.n)),
            // A node that is down holds what it held; any other failure is the test's.
            Err(StoreError::Unavailable(_) | StoreError::Lost(_)) => {}
            Err(other) => panic!("hints of {} could not be listed: {other}", node.name),
        }
    }
    held.sort_unstable();
    held
}

/// A cluster service over three stores (the regions of [`REGIONS`], the first local),
/// with a one-minute breaker cool-down: for stores with canned SDK responses.
pub fn service_over(
    stores: [DynamoStore; 3],
    strategy: Strategy,
) -> ClusterService<DynamoStore, GuardedCalculator> {
    let nodes = REGIONS
        .iter()
        .zip(stores)
        .map(|(name, store)| Node::new(*name, store, std::time::Duration::from_secs(60)))
        .collect();
    ClusterService::new(
        nodes,
        strategy,
        0,
        GuardedCalculator::new(Default::default()),
    )
}

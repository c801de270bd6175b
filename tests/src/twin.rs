//! The deployed twin in tests and benchmarks: each node's emulator behind a relay at its
//! round trip from the functions' region, and the cluster as the template deploys it.

use std::collections::HashMap;
use std::time::Duration;

use primescaler_cluster::ClusterConfig;
use primescaler_twin::{Link, Relay, round_trip};

/// Where the functions run, as `make dev PROFILE=aws` defaults.
pub const FROM: &str = "us-east-1";

/// A relay in front of the emulator at `endpoint` (`http://host:port`), at the round
/// trip between [`FROM`] and `region`.
pub async fn relay_to(region: &str, endpoint: &str) -> Relay {
    relay_between(FROM, region, endpoint).await
}

/// A relay in front of the emulator at `endpoint`, at the round trip between `from` (the
/// caller's region) and `region` (the node's).
pub async fn relay_between(from: &str, region: &str, endpoint: &str) -> Relay {
    let upstream = endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("an emulator's host:port");
    let link = Link::new(round_trip(from, region).expect("regions of the table"));
    // Below the ephemeral range: a relay closes its port while its node is down, and
    // binds it again when the node is back.
    let listen = ([127, 0, 0, 1], crate::restartable_port()).into();
    Relay::start(listen, upstream, link)
        .await
        .expect("start a relay")
}

/// The cluster over `nodes` (each a region and its endpoint), beside [`FROM`], with the
/// template's default budgets (500 ms base, 2 s cool-down).
pub fn deployed_cluster(nodes: &[(&str, String)]) -> ClusterConfig {
    let names: Vec<&str> = nodes.iter().map(|(region, _)| *region).collect();
    let endpoints: Vec<String> = nodes
        .iter()
        .map(|(region, endpoint)| format!("{region}={endpoint}"))
        .collect();
    let vars = HashMap::from([
        ("NODES", names.join(",")),
        ("NODE_ENDPOINTS", endpoints.join(",")),
        ("LOCAL_NODE", FROM.to_string()),
    ]);
    let cluster =
        ClusterConfig::from_lookup(|name| vars.get(name).cloned()).expect("a valid twin cluster");
    assert_eq!(
        cluster.node_timeout,
        Duration::from_millis(500),
        "the template's default"
    );
    cluster
}

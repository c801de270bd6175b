//! `cloud_nodes`: the LocalStack nodes of `make cloud` and `make test-cloud`, one
//! container per region, started through the integration tests' fixture
//! (`primescaler_tests::localstack`), each with the app's table.
//!
//! Environment: `CLOUD_NODES` (regions, comma-separated), `CLOUD_NETWORK` (a Docker
//! network that exists), `CLOUD_PREFIX` (container names are `<prefix>-<region>`) and
//! `TABLE_NAME`. It prints a line per node, `node <region> <endpoint from this machine>
//! <endpoint on the network>`, then `ready`, and holds the containers until SIGINT or
//! SIGTERM, when it removes them.

use primescaler_tests::Emulator;
use primescaler_tests::localstack::{EDGE_PORT, Placement};
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let (network, prefix, table) = (var("CLOUD_NETWORK"), var("CLOUD_PREFIX"), var("TABLE_NAME"));
    let regions: Vec<String> = var("CLOUD_NODES").split(',').map(str::to_string).collect();
    // Interrupted from here on, the containers started so far are removed on the way out.
    let mut stop = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let starts = regions.iter().map(|region| {
        let placement = Placement {
            network: Some(network.clone()),
            name: Some(format!("{prefix}-{region}")),
        };
        async move { Emulator::start_localstack_at(&placement).await }
    });
    let nodes = tokio::select! {
        nodes = futures::future::join_all(starts) => nodes,
        _ = stop.recv() => return,
        _ = tokio::signal::ctrl_c() => return,
    };
    for (region, node) in regions.iter().zip(&nodes) {
        primescaler_dynamo::create_table(&node.client(region).await, &table)
            .await
            .unwrap_or_else(|e| panic!("create {table} on {region}: {e}"));
        let inside = format!("http://{prefix}-{region}:{EDGE_PORT}");
        println!("node {region} {} {inside}", node.endpoint());
    }
    println!("ready");
    tokio::select! {
        _ = stop.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    drop(nodes);
}

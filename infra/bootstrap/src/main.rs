//! `create-tables`: creates the table `TABLE_NAME` on every node of the cluster
//! configured in the environment (`NODES`, `NODE_ENDPOINTS`, …; see
//! `primescaler_cluster::config`). Tables that exist are left as they are.

use primescaler_cluster::ClusterConfig;
use primescaler_dynamo::{ClientSettings, connect, create_table};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "primescaler-primes".into());
    let cluster = ClusterConfig::from_lookup(|name| std::env::var(name).ok())?;
    for node in &cluster.nodes {
        let settings = ClientSettings::for_node(&node.name, node.endpoint.as_deref());
        create_table(&connect(&settings).await, &table).await?;
        println!("table {table} is active on node {}", node.name);
    }
    Ok(())
}

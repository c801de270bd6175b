//! `create-tables`: creates the table of each node in `NODES` (comma-separated regions,
//! default `AWS_REGION`) named `TABLE_NAME`, at the endpoint in
//! `AWS_ENDPOINT_URL_DYNAMODB`. Tables that exist are left as they are.

use primescaler_dynamo::{ClientSettings, connect, create_table};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "primescaler-primes".into());
    let nodes = std::env::var("NODES")
        .or_else(|_| std::env::var("AWS_REGION"))
        .map_err(|_| "set NODES or AWS_REGION")?;
    for region in nodes.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let client = connect(&ClientSettings::for_region(region)).await;
        create_table(&client, &table).await?;
        println!("table {table} is active in {region}");
    }
    Ok(())
}

//! Records outside the grid: stored in bulk, and the grid reads timed before and after.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use primescaler_core::shard_of;
use primescaler_dynamo::{ClientSettings, connect};
use primescaler_tests::bench::{Latencies, sequential, throughput};

use crate::RUNS;
use crate::stack::Stack;

/// Records stored outside the grid for the growth check.
pub(crate) const OUTSIDE: u64 = 100_000;

/// Stores `OUTSIDE` records with n above the grid, spread over the nodes, in batches of
/// 25 (the most DynamoDB takes): real primes, as the API would store them.
pub(crate) async fn store_outside_the_grid(stack: &Stack) {
    let first = 10_001u64;
    let last = first + OUTSIDE - 1;
    let primes = primescaler_calculator::sieve::first_primes(last as usize);
    let mut clients = Vec::new();
    for node in &stack.config.cluster.nodes {
        let settings = ClientSettings::for_node(&node.name, node.endpoint.as_deref());
        clients.push(connect(&settings).await);
    }
    let number = |v: u64| AttributeValue::N(v.to_string());
    let batches: Vec<(usize, Vec<WriteRequest>)> = (first..=last)
        .collect::<Vec<u64>>()
        .chunks(25)
        .enumerate()
        .map(|(i, ns)| {
            let writes = ns
                .iter()
                .map(|&n| {
                    let item = [
                        ("shard", number(u64::from(shard_of(n)))),
                        ("n", number(n)),
                        ("prime", number(primes[(n - 1) as usize])),
                        ("calculator", AttributeValue::S("bench".into())),
                        ("compute_micros", number(0)),
                        ("computed_at", number(0)),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                        .build()
                })
                .collect();
            (i % clients.len(), writes)
        })
        .collect();
    let table = stack.config.table.clone();
    let batches = Arc::new(std::sync::Mutex::new(batches));
    let clients = Arc::new(clients);
    throughput(OUTSIDE.div_ceil(25) as usize, 8, move |_| {
        let (batches, clients, table) = (Arc::clone(&batches), Arc::clone(&clients), table.clone());
        async move {
            let Some((node, mut writes)) = batches.lock().unwrap().pop() else {
                return;
            };
            while !writes.is_empty() {
                let answer = clients[node]
                    .batch_write_item()
                    .request_items(&table, writes)
                    .send()
                    .await
                    .expect("a batch write");
                writes = answer
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&table))
                    .unwrap_or_default();
            }
        }
    })
    .await;
}

/// The grid read before and after the records outside it: unchanged (the version read
/// alone), cold (every node's grid scanned), and the whole-table reference.
pub(crate) struct GrowthRow {
    pub(crate) unchanged: Latencies,
    pub(crate) cold: Latencies,
    pub(crate) whole_table: Latencies,
}

pub(crate) async fn growth_row(stack: &Stack) -> GrowthRow {
    let warm = stack.reader();
    warm.read().await;
    let (unchanged, _) = sequential(RUNS * 2, |_| async {
        assert!(warm.read().await.scanned_nodes.is_empty());
    })
    .await;
    let (cold, _) = sequential(RUNS, |_| async {
        assert_eq!(stack.reader().read().await.cells.len(), 10_000);
    })
    .await;
    let (whole_table, _) = sequential(5, |_| async {
        stack.scan_every_table().await;
    })
    .await;
    GrowthRow {
        unchanged,
        cold,
        whole_table,
    }
}

//! A throttled node is busy, not down: its breaker stays closed, the request is answered
//! through the next node (which keeps a hint, for handoff), and the next request asks the
//! throttled node first again. Each node's DynamoDB is
//! a client with canned responses (aws-smithy-mocks), so that throttling can be made to
//! happen on one node alone; the calls to it still pass through the SDK's retries.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ErrorMetadata;
use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemError, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use primescaler_cluster::{BreakerState, Ring, Strategy};
use primescaler_core::shard_of;
use primescaler_dynamo::DynamoStore;
use primescaler_tests::cluster::{REGIONS, service_over};

fn throttled() -> ErrorMetadata {
    ErrorMetadata::builder()
        .code("ThrottlingException")
        .message("canned: rate exceeded")
        .build()
}

/// A node whose every read and write is throttled, and its rule for reads.
fn throttled_node() -> (DynamoStore, Rule) {
    let get = mock!(Client::batch_get_item).then_error(|| BatchGetItemError::generic(throttled()));
    let put = mock!(Client::put_item).then_error(|| PutItemError::generic(throttled()));
    let count = mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
    let store = DynamoStore::new(
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&no_membership(), &get, &put, &count]
        ),
        "primes",
    );
    (store, get)
}

/// An empty node that takes every write, and its rule for hints.
fn healthy_node() -> (DynamoStore, Rule) {
    let get = mock!(Client::batch_get_item).then_output(|| BatchGetItemOutput::builder().build());
    let hint = mock!(Client::update_item)
        .match_requests(|update| {
            update
                .expression_attribute_names()
                .is_some_and(|names| names.values().any(|name| name == "hinted_at"))
        })
        .then_output(|| UpdateItemOutput::builder().build());
    let put = mock!(Client::put_item).then_output(|| PutItemOutput::builder().build());
    let count = mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
    let store = DynamoStore::new(
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&no_membership(), &get, &hint, &put, &count]
        ),
        "primes",
    );
    (store, hint)
}

#[tokio::test]
async fn a_throttled_node_is_passed_over_for_the_request_but_never_marked_down() {
    // GIVEN three nodes, the first of them throttling every call, and an n whose home
    // it is
    let ring = Ring::new(&REGIONS);
    let n = (1..).find(|&n| ring.home(shard_of(n)) == 0).unwrap();
    let (busy, busy_reads) = throttled_node();
    let ((second, second_hints), (third, third_hints)) = (healthy_node(), healthy_node());
    let service = service_over([busy, second, third], Strategy::ConsistentHash);

    // WHEN n is asked for
    let lookup = service.get_or_compute(n).await.expect("an answer");

    // THEN it is answered, and stored on the next node of its order, which keeps a hint
    let next = ring.order(shard_of(n))[1];
    assert_eq!(lookup.node.as_deref(), Some(REGIONS[next]));
    assert_eq!(lookup.failovers, 1);
    assert_eq!(second_hints.num_calls() + third_hints.num_calls(), 1);

    // AND the throttled node's breaker is still closed, with no failure counted
    let home = &service.nodes()[0].breaker;
    assert_eq!(home.state(), BreakerState::Closed);
    assert_eq!(home.trips().0, 0);

    // AND the next request asks it first again
    let reads = busy_reads.num_calls();
    service.get_or_compute(n).await.expect("an answer");
    assert!(busy_reads.num_calls() > reads);
}

/// A membership read (each request's first, then one every few seconds) that finds
/// none: the ring stays the configured one.
fn no_membership() -> aws_smithy_mocks::Rule {
    aws_smithy_mocks::mock!(aws_sdk_dynamodb::Client::get_item)
        .then_output(|| aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder().build())
}

//! How the adapter sorts what DynamoDB answers, with canned SDK responses: a missing
//! table is a node down, throttling and transient server errors are a busy node, access
//! denied and validation errors are failures, a failed condition is "already present".
//! Connection failures and timeouts (also a node down) are exercised against real
//! emulators in the cluster suites.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ErrorMetadata;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use primescaler_core::{
    Computation, Epoch, GetRecord, ListHints, PrimeRecord, PutOutcome, PutRecordIfAbsent,
    RecordKey, StoreError,
};
use primescaler_dynamo::DynamoStore;

/// A store whose every read of an entry (a BatchGetItem of the entry and its node's
/// counters) answers the error `code`.
fn store_whose_reads_fail_with(code: &'static str) -> DynamoStore {
    let rule = mock!(Client::batch_get_item).then_error(move || {
        BatchGetItemError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message("canned")
                .build(),
        )
    });
    DynamoStore::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]),
        "primes",
    )
}

async fn read_error(code: &'static str) -> StoreError {
    store_whose_reads_fail_with(code)
        .get_entry(RecordKey::for_index(7))
        .await
        .expect_err("the canned error")
}

#[tokio::test]
async fn a_missing_table_is_a_node_down() {
    let error = read_error("ResourceNotFoundException").await;
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
}

#[tokio::test]
async fn throttling_and_transient_server_errors_are_a_busy_node_not_a_down_one() {
    for code in [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    ] {
        let error = read_error(code).await;
        assert!(matches!(error, StoreError::Busy(_)), "{code}: {error:?}");
    }
}

#[tokio::test]
async fn access_denied_and_validation_errors_are_failures_named_with_their_code() {
    for code in ["AccessDeniedException", "ValidationException"] {
        let error = read_error(code).await;
        let StoreError::Failed(message) = &error else {
            panic!("{code}: {error:?}")
        };
        assert!(message.contains("BatchGetItem"), "{message}");
        assert!(message.contains(code), "{message}");
    }
}

#[tokio::test]
async fn a_failed_condition_is_an_entry_already_present() {
    let rule = mock!(Client::put_item).then_error(|| {
        PutItemError::generic(
            ErrorMetadata::builder()
                .code("ConditionalCheckFailedException")
                .message("canned")
                .build(),
        )
    });
    let store = DynamoStore::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]),
        "primes",
    );
    let record = PrimeRecord::new(
        7,
        Computation {
            prime: 17,
            calculator: "canned".into(),
            compute_micros: 1,
            fallback_reason: None,
        },
        0,
    );
    let outcome = store
        .put_record_if_absent(&record, Epoch::default())
        .await
        .unwrap();
    assert_eq!(outcome, PutOutcome::AlreadyPresent);
}

#[tokio::test]
async fn hints_are_listed_from_after_the_last_one_given() {
    // GIVEN a table that answers only a Query starting after the hint for n = 40
    let after_40 = mock!(Client::query)
        .match_requests(|query| {
            query
                .exclusive_start_key()
                .and_then(|key| key.get("n"))
                .is_some_and(|n| *n == AttributeValue::N("40".into()))
        })
        .then_output(|| QueryOutput::builder().build());
    let store = DynamoStore::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&after_40]),
        "primes",
    );

    // WHEN the next page after n = 40 is asked for, THEN that is the Query sent
    let hints = store.list_hints(Some(40), 32).await.expect("the page");
    assert!(hints.is_empty());
    assert_eq!(after_40.num_calls(), 1);
}

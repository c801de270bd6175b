//! What the adapter asks DynamoDB, with canned SDK responses: the calls whose shape the
//! deployed policies depend on beyond their action (the UI function may scan the grid
//! index and nothing else of the table).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use primescaler_core::ScanGrid;
use primescaler_dynamo::DynamoStore;

#[tokio::test]
async fn the_grid_is_read_from_its_index_alone() {
    // GIVEN a table that answers only a Scan of its grid index
    let index_scan = mock!(Client::scan)
        .match_requests(|scan| scan.index_name() == Some("grid"))
        .then_output(|| ScanOutput::builder().build());
    let store = DynamoStore::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&index_scan]),
        "primes",
    );

    // WHEN the grid is read, THEN every Scan it sends names the index
    let read = store.scan_grid().await.expect("the grid");
    assert!(read.cells.is_empty());
    assert!(index_scan.num_calls() >= 1);
}

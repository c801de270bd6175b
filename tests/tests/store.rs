//! The DynamoDB store's conditional pointer operations, and its grid read, against a
//! real emulator.

use aws_sdk_dynamodb::types::AttributeValue;
use primescaler_core::{
    Computation, DropPointer, Epoch, GetRecord, GridRecord, PRIMARY_CALCULATOR, PrimeRecord,
    PutOutcome, PutPointerIfAbsent, PutRecordIfAbsent, RecordKey, ScanGrid, StoredEntry,
};
use primescaler_dynamo::DynamoStore;
use primescaler_tests::Emulator;

const REGION: &str = "us-east-1";

async fn store(emulator: &Emulator) -> DynamoStore {
    let table = emulator.fresh_table(REGION).await;
    DynamoStore::new(emulator.client(REGION).await, &table)
}

#[tokio::test]
async fn a_pointer_is_dropped_only_while_it_is_the_same_pointer() {
    // GIVEN a pointer from n = 9 to eu-west-1, written at t
    let emulator = Emulator::start().await;
    let store = store(&emulator).await;
    let key = RecordKey::for_index(9);
    let t = 1_795_000_000_000;
    let outcome = store
        .put_pointer_if_absent(key, "eu-west-1", t, 0, Epoch::default())
        .await;
    assert_eq!(outcome, Ok(PutOutcome::Stored));

    // WHEN it is dropped as another time's pointer, or as a pointer to another node
    let wrong_time = store.drop_pointer(key, "eu-west-1", t + 1).await;
    let wrong_node = store.drop_pointer(key, "ap-southeast-2", t).await;

    // THEN nothing is dropped, and it reads back with its time
    assert_eq!((wrong_time, wrong_node), (Ok(false), Ok(false)));
    assert_eq!(
        store.get_entry(key).await,
        Ok(Some(StoredEntry::Pointer {
            key,
            node: "eu-west-1".into(),
            written_at_ms: t,
            claim: 0,
        }))
    );

    // WHEN it is dropped as itself
    let dropped = store.drop_pointer(key, "eu-west-1", t).await;

    // THEN it is gone
    assert_eq!(dropped, Ok(true));
    assert_eq!(store.get_entry(key).await, Ok(None));
}

#[tokio::test]
async fn dropping_a_pointer_never_removes_a_record_and_finds_pointers_without_a_time() {
    // GIVEN a record for n = 10, and a pointer for n = 11 written without a time (as
    // pointers were before they carried one)
    let emulator = Emulator::start().await;
    let table = emulator.fresh_table(REGION).await;
    let client = emulator.client(REGION).await;
    let store = DynamoStore::new(client.clone(), &table);
    let record = PrimeRecord::new(
        10,
        Computation {
            prime: 29,
            calculator: "test".into(),
            compute_micros: 1,
            fallback_reason: None,
        },
        1,
    );
    assert_eq!(
        store.put_record_if_absent(&record, Epoch::default()).await,
        Ok(PutOutcome::Stored)
    );
    let legacy = RecordKey::for_index(11);
    client
        .put_item()
        .table_name(&table)
        .item("shard", AttributeValue::N(legacy.shard.to_string()))
        .item("n", AttributeValue::N("11".into()))
        .item("at", AttributeValue::S("eu-west-1".into()))
        .send()
        .await
        .expect("write a pointer without a time");

    // WHEN a pointer is dropped at the record's key, and the old pointer as written at 0
    let at_record = store.drop_pointer(record.key, "eu-west-1", 0).await;
    let old = store.drop_pointer(legacy, "eu-west-1", 0).await;

    // THEN the record stays, and the old pointer is gone
    assert_eq!(at_record, Ok(false));
    assert_eq!(
        store.get_entry(record.key).await,
        Ok(Some(StoredEntry::Record(record)))
    );
    assert_eq!(old, Ok(true));
    assert_eq!(store.get_entry(legacy).await, Ok(None));
}

#[tokio::test]
async fn the_grid_read_tells_which_records_a_fallback_computed() {
    // GIVEN n = 3 computed by the primary calculator, n = 4 by the fallback, and n = 20,000
    // (off the grid) by the fallback
    let emulator = Emulator::start().await;
    let store = store(&emulator).await;
    for (n, prime, calculator) in [
        (3, 5, PRIMARY_CALCULATOR),
        (4, 7, "sieve"),
        (20_000, 224_737, "sieve"),
    ] {
        let computation = Computation {
            prime,
            calculator: calculator.into(),
            compute_micros: 1,
            fallback_reason: None,
        };
        let record = PrimeRecord::new(n, computation, 1);
        assert_eq!(
            store.put_record_if_absent(&record, Epoch::default()).await,
            Ok(PutOutcome::Stored)
        );
    }

    // WHEN the grid is read
    let mut cells = store.scan_grid().await.expect("the grid").cells;
    cells.sort_by_key(|cell| cell.n);

    // THEN it holds the two grid records, the fallback's marked as such
    let record = |n, prime, by_fallback| GridRecord {
        n,
        prime,
        by_fallback,
    };
    assert_eq!(cells, vec![record(3, 5, false), record(4, 7, true)]);
}

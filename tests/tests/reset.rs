//! Resets against a real emulator: one write per node makes what was stored invisible
//! and starts the count again, a writer that has not read the reset yet finds its write
//! uncounted (and so learns the reset), and the upkeep's sweep removes what the reset
//! left, page by page, keeping what was stored since.

use primescaler_core::{
    ClearRecords, Computation, CountChange, Epoch, GetRecord, KnownEpoch, PrimeRecord, PutOutcome,
    PutRecordIfAbsent, ReadCounters, RecordChange, RecordKey, ScanGrid, SweepStale,
};
use primescaler_dynamo::DynamoStore;
use primescaler_tests::Emulator;

const REGION: &str = "us-east-1";

fn record(n: u64) -> PrimeRecord {
    let computation = Computation {
        prime: 2,
        calculator: "test".into(),
        compute_micros: 1,
        fallback_reason: None,
    };
    PrimeRecord::new(n, computation, 1)
}

/// Stores n = 1..=count under `epoch`, 50 writers at a time, and counts them.
async fn store_counted(store: &DynamoStore, count: u64, epoch: Epoch) {
    let records: Vec<PrimeRecord> = (1..=count).map(record).collect();
    futures::future::try_join_all(records.chunks(50).map(|chunk| async move {
        for record in chunk {
            store.put_record_if_absent(record, epoch).await?;
        }
        Ok::<_, primescaler_core::StoreError>(())
    }))
    .await
    .expect("seed the node");
    let counted = RecordChange {
        items: i64::try_from(count).unwrap(),
        grid: true,
        epoch,
    };
    assert!(store.count_change(counted).await.expect("count"));
}

#[tokio::test]
async fn a_reset_hides_everything_at_once_and_a_stale_writer_learns_it() {
    // GIVEN a node with 300 counted records, and a second writer that read the node
    // before the reset
    let emulator = Emulator::start().await;
    let table = emulator.fresh_table(REGION).await;
    let store = DynamoStore::new(emulator.client(REGION).await, &table);
    let stale = DynamoStore::new(emulator.client(REGION).await, &table);
    store_counted(&store, 300, Epoch::default()).await;
    stale.read_counters().await.unwrap();
    let before = store.read_counters().await.unwrap();

    // WHEN the node is reset
    let removed = store.clear_records(Epoch(1_800_000_000_000)).await;

    // THEN it answers what it counted, and nothing is left to read, count or draw
    assert_eq!(removed, Ok(300));
    let after = store.read_counters().await.unwrap();
    assert_eq!(after.items, 0);
    assert_eq!(after.epoch, Epoch(1_800_000_000_000));
    assert!(after.grid_version > before.grid_version);
    assert_eq!(store.get_entry(RecordKey::for_index(7)).await, Ok(None));
    assert!(store.scan_grid().await.unwrap().cells.is_empty());

    // WHEN the stale writer stores n = 7 under the epoch it knows
    let epoch = stale.known_epoch();
    let put = stale.put_record_if_absent(&record(7), epoch).await;
    let counted = stale
        .count_change(RecordChange {
            items: 1,
            grid: true,
            epoch,
        })
        .await;

    // THEN the old record is in its way (under the epoch it knows, it is not older),
    // nothing is counted, and the writer has learnt the node's epoch
    assert_eq!(put, Ok(PutOutcome::AlreadyPresent));
    assert_eq!(counted, Ok(false));
    assert_eq!(stale.known_epoch(), Epoch(1_800_000_000_000));
    assert_eq!(store.read_counters().await.unwrap().items, 0);

    // WHEN it stores n = 7 again, under the node's epoch
    let put = stale
        .put_record_if_absent(&record(7), stale.known_epoch())
        .await;

    // THEN the record is written over the old one, and read back
    assert_eq!(put, Ok(PutOutcome::Stored));
    assert!(
        store
            .get_entry(RecordKey::for_index(7))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn the_sweep_removes_what_a_reset_left_page_by_page_and_keeps_what_came_after() {
    // GIVEN a node with 2,500 records reset, then n = 5 stored and counted again
    let emulator = Emulator::start().await;
    let table = emulator.fresh_table(REGION).await;
    let store = DynamoStore::new(emulator.client(REGION).await, &table);
    store_counted(&store, 2_500, Epoch::default()).await;
    let reset = Epoch(1_800_000_000_000);
    store.clear_records(reset).await.unwrap();
    assert_eq!(
        store.put_record_if_absent(&record(5), reset).await,
        Ok(PutOutcome::Stored)
    );
    let added = RecordChange {
        items: 1,
        grid: true,
        epoch: reset,
    };
    assert_eq!(store.count_change(added).await, Ok(true));

    // WHEN the sweep runs one page (of 1,000 items) at a time until it is done
    let mut runs = Vec::new();
    loop {
        let sweep = store.sweep_stale(1).await.unwrap();
        runs.push(sweep);
        if sweep.done || runs.len() > 10 {
            break;
        }
    }

    // THEN it took several runs, each reading a bounded page, removed every record
    // the reset left, and kept n = 5 and its count
    assert!(runs.len() >= 3, "{runs:?}");
    assert!(runs.iter().all(|run| run.read <= 1_001), "{runs:?}");
    assert_eq!(runs.iter().map(|run| run.removed).sum::<u64>(), 2_499);
    assert!(
        store
            .get_entry(RecordKey::for_index(5))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.read_counters().await.unwrap().items, 1);

    // AND a later run has nothing left to read
    let idle = store.sweep_stale(40).await.unwrap();
    assert_eq!((idle.read, idle.removed, idle.done), (1, 0, true));
}

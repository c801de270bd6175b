//! Mapping between prime records and DynamoDB items.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use primescaler_core::{
    Epoch, GridRecord, Hint, NodeCounters, NodeFigures, PRIMARY_CALCULATOR, PrimeRecord, RecordKey,
    StoreError, StoredEntry, in_grid,
};

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

pub const SHARD: &str = "shard";
pub const N: &str = "n";
pub const PRIME: &str = "prime";
pub const CALCULATOR: &str = "calculator";
pub const COMPUTE_MICROS: &str = "compute_micros";
pub const COMPUTED_AT: &str = "computed_at";
/// On a pointer: the node that holds the record.
pub const AT: &str = "at";
/// On a hint: when it was left (ms since the Unix epoch).
pub const HINTED_AT: &str = "hinted_at";
/// A hint's attribute: the nodes its record was written to (a string set).
pub const HOLDERS: &str = "holders";
/// A hint's attribute: how many times it was written (absent on hints written before
/// hints counted their writes, read as 0).
pub const WRITES: &str = "writes";
/// On a pointer: when it was written (ms since the Unix epoch); absent on pointers
/// written before pointers carried their time.
pub const POINTED_AT: &str = "pointed_at";
/// On a pointer: the token of the claim that wrote it (absent when no claim did).
pub const CLAIM: &str = "claim";

/// On a grid record only (`n <= GRID_MAX_N`): the partition key of the sparse [`GRID_INDEX`],
/// `n % GRID_PARTS`. Items without it (records outside the grid, pointers, hints, the
/// counters) are not in the index, so a scan of the index reads the grid and nothing else.
pub const GRID_PART: &str = "grid_part";
/// The sparse global secondary index of the grid's records: key (`grid_part`, `n`),
/// projecting `prime` and `calculator`. Declared in `template.yaml` too.
pub const GRID_INDEX: &str = "grid";
/// How many partitions the grid index spreads its records over, so that a fast fill
/// does not write one index partition only.
pub const GRID_PARTS: u64 = 16;
/// On the counters item: the records the node holds (added to on every store, taken
/// from on every removal).
pub const ITEMS: &str = "items";
/// On the counters item: the node's grid version, moved on by every grid change.
pub const GRID_VERSION: &str = "grid_version";
/// On the counters item, the node's epoch (its last reset, in ms since the Unix epoch;
/// absent: never). On a record or a pointer, the epoch it was written under (absent: 0);
/// it is visible while that is the node's epoch or a later one.
pub const EPOCH: &str = "epoch";
/// On the counters item: the epoch the record count belongs to.
pub const ITEMS_EPOCH: &str = "items_epoch";
/// On the counters item: the epoch before which the sweep has removed everything.
pub const SWEPT: &str = "swept";
/// On the counters item: the epoch the sweep under way began in.
pub const SWEEP_OF: &str = "sweep_of";
/// On the counters item: the shard of the last key the sweep under way read.
pub const SWEEP_SHARD: &str = "sweep_shard";
/// On the counters item: the n of the last key the sweep under way read.
pub const SWEEP_N: &str = "sweep_n";

/// On the counters item: the shard of the last key the repair walk read.
pub const REPAIR_SHARD: &str = "repair_shard";
/// On the counters item: the n of the last key the repair walk read.
pub const REPAIR_N: &str = "repair_n";

/// The counters' attributes, in `NodeCounters` order.
pub const COUNTER_NAMES: [&str; 6] = [
    "requests",
    "hits",
    "misses",
    "fallbacks",
    "failovers",
    "cold_starts",
];

/// A number attribute.
pub fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn key_item(key: RecordKey) -> Item {
    HashMap::from([(SHARD.into(), number(key.shard)), (N.into(), number(key.n))])
}

pub fn record_item(record: &PrimeRecord, epoch: Epoch) -> Item {
    let mut item = key_item(record.key);
    item.insert(EPOCH.into(), number(epoch.0));
    if in_grid(record.key.n) {
        item.insert(GRID_PART.into(), number(record.key.n % GRID_PARTS));
    }
    item.insert(PRIME.into(), number(record.prime));
    item.insert(
        CALCULATOR.into(),
        AttributeValue::S(record.calculator.clone()),
    );
    item.insert(COMPUTE_MICROS.into(), number(record.compute_micros));
    item.insert(COMPUTED_AT.into(), number(record.computed_at_ms));
    item
}

/// The epoch an item was written under (0 for items written before items carried one).
pub fn item_epoch(item: &Item) -> Epoch {
    Epoch(read_number(item, EPOCH).unwrap_or(0))
}

fn read_number<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| StoreError::Failed(format!("item has no numeric attribute {name:?}")))
}

pub fn item_key(item: &Item) -> Result<RecordKey, StoreError> {
    Ok(RecordKey {
        shard: read_number(item, SHARD)?,
        n: read_number(item, N)?,
    })
}

/// The key an item records in two of its attributes (a cursor on the counters item),
/// when both are there and name a key a table can hold.
pub fn key_at(item: &Item, shard: &str, n: &str) -> Option<RecordKey> {
    let key = RecordKey {
        shard: read_number(item, shard).ok()?,
        n: read_number(item, n).ok()?,
    };
    key.is_stored_key().then_some(key)
}

/// The item a hint is stored as (`put_hint` writes it with one update that keeps the
/// holders already named).
#[cfg(test)]
pub fn hint_item(hint: &Hint) -> Item {
    let mut item = key_item(RecordKey::hint(hint.n));
    item.insert(HINTED_AT.into(), number(hint.hinted_at_ms));
    if !hint.holders.is_empty() {
        item.insert(HOLDERS.into(), AttributeValue::Ss(hint.holders.clone()));
    }
    if hint.writes > 0 {
        item.insert(WRITES.into(), number(hint.writes));
    }
    item
}

pub fn item_hint(item: &Item) -> Result<Hint, StoreError> {
    Ok(Hint {
        n: read_number(item, N)?,
        hinted_at_ms: read_number(item, HINTED_AT)?,
        holders: item
            .get(HOLDERS)
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default(),
        writes: if item.contains_key(WRITES) {
            read_number(item, WRITES)?
        } else {
            0
        },
    })
}

pub fn pointer_item(
    key: RecordKey,
    node: &str,
    written_at_ms: u64,
    claim: u64,
    epoch: Epoch,
) -> Item {
    let mut item = key_item(key);
    item.insert(EPOCH.into(), number(epoch.0));
    item.insert(AT.into(), AttributeValue::S(node.to_string()));
    item.insert(POINTED_AT.into(), number(written_at_ms));
    if claim != 0 {
        item.insert(CLAIM.into(), number(claim));
    }
    item
}

/// A record or a pointer, by the attributes present.
pub fn item_entry(item: &Item) -> Result<StoredEntry, StoreError> {
    match item.get(AT).and_then(|v| v.as_s().ok()) {
        Some(node) if !item.contains_key(PRIME) => Ok(StoredEntry::Pointer {
            key: item_key(item)?,
            node: node.clone(),
            written_at_ms: if item.contains_key(POINTED_AT) {
                read_number(item, POINTED_AT)?
            } else {
                0
            },
            claim: if item.contains_key(CLAIM) {
                read_number(item, CLAIM)?
            } else {
                0
            },
        }),
        _ => item_record(item).map(StoredEntry::Record),
    }
}

pub fn counters_values(delta: &NodeCounters) -> [u64; 6] {
    [
        delta.requests,
        delta.hits,
        delta.misses,
        delta.fallbacks,
        delta.failovers,
        delta.cold_starts,
    ]
}

pub fn item_figures(item: &Item) -> NodeFigures {
    let read = |name: &str| read_number(item, name).unwrap_or(0);
    NodeFigures {
        counters: NodeCounters {
            requests: read(COUNTER_NAMES[0]),
            hits: read(COUNTER_NAMES[1]),
            misses: read(COUNTER_NAMES[2]),
            fallbacks: read(COUNTER_NAMES[3]),
            failovers: read(COUNTER_NAMES[4]),
            cold_starts: read(COUNTER_NAMES[5]),
        },
        // A count taken below zero (records removed that were stored before counting
        // began) reads as none.
        items: read_number::<i64>(item, ITEMS).map_or(0, |i| i.max(0) as u64),
        grid_version: read(GRID_VERSION),
        epoch: Epoch(read(EPOCH)),
    }
}

/// The grid record of an item read with its `n`, `prime` and `calculator` alone (a record
/// without a calculator counts as the primary's).
pub fn item_cell(item: &Item) -> Result<GridRecord, StoreError> {
    Ok(GridRecord {
        n: read_number(item, N)?,
        prime: read_number(item, PRIME)?,
        by_fallback: item
            .get(CALCULATOR)
            .and_then(|v| v.as_s().ok())
            .is_some_and(|name| name != PRIMARY_CALCULATOR),
    })
}

pub fn item_record(item: &Item) -> Result<PrimeRecord, StoreError> {
    Ok(PrimeRecord {
        key: item_key(item)?,
        prime: read_number(item, PRIME)?,
        calculator: item
            .get(CALCULATOR)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default(),
        compute_micros: read_number(item, COMPUTE_MICROS).unwrap_or(0),
        computed_at_ms: read_number(item, COMPUTED_AT).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use primescaler_core::Computation;

    #[test]
    fn a_hint_round_trips_through_an_item_outside_the_records() {
        let hint = Hint {
            n: 8_887,
            hinted_at_ms: 1_700_000_000_000,
            holders: vec!["eu-west-1".into()],
            writes: 3,
        };
        let item = hint_item(&hint);
        assert_eq!(item_hint(&item), Ok(hint));
        let old = Hint {
            holders: Vec::new(),
            writes: 0,
            ..item_hint(&item).unwrap()
        };
        assert_eq!(
            item_hint(&hint_item(&old)),
            Ok(old),
            "a hint that names no holder"
        );
        assert_eq!(item_key(&item), Ok(RecordKey::hint(8_887)));
        assert!(
            !item.contains_key(PRIME),
            "scans skip items without a prime"
        );
    }

    #[test]
    fn a_record_round_trips_through_an_item() {
        let record = PrimeRecord::new(
            1_000_000_000_000,
            Computation {
                prime: 29_996_224_275_833,
                calculator: "sieve".into(),
                compute_micros: 12,
                fallback_reason: None,
            },
            1_700_000_000_000,
        );
        assert_eq!(item_record(&record_item(&record, Epoch(3))), Ok(record));
    }

    #[test]
    fn a_pointer_round_trips_through_an_item() {
        let key = RecordKey::for_index(77);
        assert_eq!(
            item_entry(&pointer_item(
                key,
                "eu-west-1",
                1_795_000_000_000,
                u64::MAX,
                Epoch(2)
            )),
            Ok(StoredEntry::Pointer {
                key,
                node: "eu-west-1".into(),
                written_at_ms: 1_795_000_000_000,
                claim: u64::MAX,
            })
        );
    }

    #[test]
    fn a_pointer_without_its_time_reads_as_written_at_zero() {
        let key = RecordKey::for_index(77);
        let mut item = pointer_item(key, "eu-west-1", 5, 0, Epoch(0));
        item.remove(POINTED_AT);
        assert_eq!(
            item_entry(&item),
            Ok(StoredEntry::Pointer {
                key,
                node: "eu-west-1".into(),
                written_at_ms: 0,
                claim: 0,
            })
        );
    }

    #[test]
    fn counters_read_zero_when_absent() {
        assert_eq!(item_figures(&Item::new()), NodeFigures::default());
    }

    #[test]
    fn only_grid_records_carry_the_grid_index_key() {
        let record = |n| {
            record_item(
                &PrimeRecord::new(
                    n,
                    Computation {
                        prime: 2,
                        calculator: "sieve".into(),
                        compute_micros: 1,
                        fallback_reason: None,
                    },
                    0,
                ),
                Epoch(0),
            )
        };
        assert_eq!(
            record(1).get(GRID_PART),
            Some(&AttributeValue::N("1".into()))
        );
        assert_eq!(
            record(10_000).get(GRID_PART),
            Some(&AttributeValue::N((10_000 % GRID_PARTS).to_string()))
        );
        assert_eq!(record(10_001).get(GRID_PART), None);
        assert_eq!(
            pointer_item(RecordKey::for_index(5), "eu-west-1", 1, 7, Epoch(0)).get(GRID_PART),
            None
        );
        assert_eq!(
            hint_item(&Hint {
                n: 5,
                hinted_at_ms: 1,
                holders: Vec::new(),
                writes: 0,
            })
            .get(GRID_PART),
            None
        );
    }

    #[test]
    fn a_negative_record_count_reads_as_zero() {
        let item = HashMap::from([
            (ITEMS.to_string(), AttributeValue::N("-3".into())),
            (GRID_VERSION.to_string(), AttributeValue::N("7".into())),
        ]);
        let figures = item_figures(&item);
        assert_eq!((figures.items, figures.grid_version), (0, 7));
    }

    #[test]
    fn an_item_without_a_prime_is_refused() {
        let item = key_item(RecordKey::for_index(5));
        assert!(matches!(item_record(&item), Err(StoreError::Failed(_))));
    }
}

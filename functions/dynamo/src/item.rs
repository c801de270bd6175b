//! Mapping between prime records and DynamoDB items.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use primescaler_core::{Hint, NodeCounters, PrimeRecord, RecordKey, StoreError, StoredEntry};

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
/// On a pointer: when it was written (ms since the Unix epoch); absent on pointers
/// written before pointers carried their time.
pub const POINTED_AT: &str = "pointed_at";

/// The counters' attributes, in `NodeCounters` order.
pub const COUNTER_NAMES: [&str; 6] = [
    "requests",
    "hits",
    "misses",
    "fallbacks",
    "failovers",
    "cold_starts",
];

fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn key_item(key: RecordKey) -> Item {
    HashMap::from([(SHARD.into(), number(key.shard)), (N.into(), number(key.n))])
}

pub fn record_item(record: &PrimeRecord) -> Item {
    let mut item = key_item(record.key);
    item.insert(PRIME.into(), number(record.prime));
    item.insert(
        CALCULATOR.into(),
        AttributeValue::S(record.calculator.clone()),
    );
    item.insert(COMPUTE_MICROS.into(), number(record.compute_micros));
    item.insert(COMPUTED_AT.into(), number(record.computed_at_ms));
    item
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

pub fn hint_item(hint: Hint) -> Item {
    let mut item = key_item(RecordKey::hint(hint.n));
    item.insert(HINTED_AT.into(), number(hint.hinted_at_ms));
    item
}

pub fn item_hint(item: &Item) -> Result<Hint, StoreError> {
    Ok(Hint {
        n: read_number(item, N)?,
        hinted_at_ms: read_number(item, HINTED_AT)?,
    })
}

pub fn pointer_item(key: RecordKey, node: &str, written_at_ms: u64) -> Item {
    let mut item = key_item(key);
    item.insert(AT.into(), AttributeValue::S(node.to_string()));
    item.insert(POINTED_AT.into(), number(written_at_ms));
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

pub fn item_counters(item: &Item) -> NodeCounters {
    let read = |name: &str| read_number(item, name).unwrap_or(0);
    NodeCounters {
        requests: read(COUNTER_NAMES[0]),
        hits: read(COUNTER_NAMES[1]),
        misses: read(COUNTER_NAMES[2]),
        fallbacks: read(COUNTER_NAMES[3]),
        failovers: read(COUNTER_NAMES[4]),
        cold_starts: read(COUNTER_NAMES[5]),
    }
}

/// The `(n, prime)` of an item read with only those two attributes.
pub fn item_cell(item: &Item) -> Result<(u64, u64), StoreError> {
    Ok((read_number(item, N)?, read_number(item, PRIME)?))
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
        };
        let item = hint_item(hint);
        assert_eq!(item_hint(&item), Ok(hint));
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
        assert_eq!(item_record(&record_item(&record)), Ok(record));
    }

    #[test]
    fn a_pointer_round_trips_through_an_item() {
        let key = RecordKey::for_index(77);
        assert_eq!(
            item_entry(&pointer_item(key, "eu-west-1", 1_795_000_000_000)),
            Ok(StoredEntry::Pointer {
                key,
                node: "eu-west-1".into(),
                written_at_ms: 1_795_000_000_000,
            })
        );
    }

    #[test]
    fn a_pointer_without_its_time_reads_as_written_at_zero() {
        let key = RecordKey::for_index(77);
        let mut item = pointer_item(key, "eu-west-1", 5);
        item.remove(POINTED_AT);
        assert_eq!(
            item_entry(&item),
            Ok(StoredEntry::Pointer {
                key,
                node: "eu-west-1".into(),
                written_at_ms: 0,
            })
        );
    }

    #[test]
    fn counters_read_zero_when_absent() {
        assert_eq!(item_counters(&Item::new()), NodeCounters::default());
    }

    #[test]
    fn an_item_without_a_prime_is_refused() {
        let item = key_item(RecordKey::for_index(5));
        assert!(matches!(item_record(&item), Err(StoreError::Failed(_))));
    }
}

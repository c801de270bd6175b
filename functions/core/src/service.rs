//! The get-or-compute rules: read the cache, compute on a miss, store once.

use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use thiserror::Error;

use crate::record::{Computation, Lookup, PrimeRecord, RecordKey, Source};
use crate::store::{
    ClearRecords, CountRecords, EvictRecord, GetRecord, PutOutcome, PutRecordIfAbsent, ScanCursor,
    ScanPage, ScanRecords, StoreError,
};

/// A calculation that did not produce a prime.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("calculation failed: {0}")]
pub struct ComputeError(pub String);

/// Computes nth primes. Implementations decide where the work runs.
pub trait PrimeCalculator {
    /// The nth prime, with the calculator's name and timing.
    fn compute(&self, n: u64) -> impl Future<Output = Result<Computation, ComputeError>> + Send;

    /// How many times this instance fell back to a secondary calculator.
    fn fallback_count(&self) -> u64 {
        0
    }
}

/// A failure of the service, by the part that failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ServiceError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The calculator failed.
    #[error(transparent)]
    Compute(#[from] ComputeError),
}

/// How many times a conditional write is retried when its record vanishes in between.
const PUT_ATTEMPTS: usize = 3;

/// PrimeScaler's use cases over one node's store and a calculator.
pub struct PrimeService<S, C> {
    store: S,
    calculator: C,
    node: String,
}

impl<S, C> PrimeService<S, C> {
    /// A service that stores on `node` (its region name) through `store`.
    pub fn new(store: S, calculator: C, node: impl Into<String>) -> Self {
        Self {
            store,
            calculator,
            node: node.into(),
        }
    }

    /// The node this service stores on.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The store, for operations that need no domain rules.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The calculator.
    pub fn calculator(&self) -> &C {
        &self.calculator
    }

    fn lookup(&self, record: PrimeRecord, source: Source) -> Lookup {
        Lookup {
            record,
            source,
            node: self.node.clone(),
            fallback_reason: None,
        }
    }
}

impl<S, C> PrimeService<S, C>
where
    S: GetRecord + PutRecordIfAbsent + Sync,
    C: PrimeCalculator + Sync,
{
    /// The nth prime: the cached record when there is one, else a fresh computation,
    /// stored with a conditional write. When concurrent requests race for one n, exactly
    /// one record is stored and every request answers with it.
    pub async fn get_or_compute(&self, n: u64) -> Result<Lookup, ServiceError> {
        let key = RecordKey::for_index(n);
        if let Some(record) = self.store.get_record(key).await? {
            return Ok(self.lookup(record, Source::Cache));
        }
        let computation = self.calculator.compute(n).await?;
        let fallback_reason = computation.fallback_reason.clone();
        let fresh = PrimeRecord::new(n, computation, now_ms());
        for _ in 0..PUT_ATTEMPTS {
            match self.store.put_record_if_absent(&fresh).await? {
                PutOutcome::Stored => {
                    return Ok(Lookup {
                        fallback_reason,
                        ..self.lookup(fresh, Source::Computed)
                    });
                }
                PutOutcome::AlreadyPresent => {
                    // Another request won the race: answer with what it stored.
                    if let Some(stored) = self.store.get_record(key).await? {
                        return Ok(self.lookup(stored, Source::Cache));
                    }
                    // It was evicted in between; try to store ours again.
                }
            }
        }
        Err(StoreError::Failed(format!(
            "the record for n = {n} kept changing during {PUT_ATTEMPTS} conditional writes"
        ))
        .into())
    }
}

impl<S: EvictRecord, C> PrimeService<S, C> {
    /// Removes the cached record of n; answers whether there was one.
    pub async fn evict(&self, n: u64) -> Result<bool, ServiceError> {
        Ok(self.store.evict_record(RecordKey::for_index(n)).await?)
    }
}

impl<S: ScanRecords, C> PrimeService<S, C> {
    /// One page of cached records.
    pub async fn scan(
        &self,
        cursor: Option<ScanCursor>,
        limit: u32,
    ) -> Result<ScanPage, ServiceError> {
        Ok(self.store.scan_records(cursor, limit).await?)
    }
}

impl<S: ClearRecords, C> PrimeService<S, C> {
    /// Removes every cached record; answers how many were removed.
    pub async fn clear(&self) -> Result<u64, ServiceError> {
        Ok(self.store.clear_records().await?)
    }
}

impl<S: CountRecords, C> PrimeService<S, C> {
    /// How many records this node holds.
    pub async fn count(&self) -> Result<u64, ServiceError> {
        Ok(self.store.count_records().await?)
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    //! The rules, against a scripted store. The DynamoDB adapter is tested against the
    //! emulator in the integration tests.

    use super::*;
    use std::collections::{BTreeMap, VecDeque};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A store that keeps records in a map, and can be told to let "another request"
    /// store a record just before the next conditional write.
    #[derive(Default)]
    struct ScriptedStore {
        records: Mutex<BTreeMap<RecordKey, PrimeRecord>>,
        rival_writes: Mutex<VecDeque<PrimeRecord>>,
        rival_evicts_after_write: Mutex<usize>,
    }

    impl GetRecord for ScriptedStore {
        async fn get_record(&self, key: RecordKey) -> Result<Option<PrimeRecord>, StoreError> {
            let mut evicts = self.rival_evicts_after_write.lock().unwrap();
            let mut records = self.records.lock().unwrap();
            let found = records.get(&key).cloned();
            if *evicts > 0 && found.is_some() {
                *evicts -= 1;
                records.remove(&key);
                return Ok(None);
            }
            Ok(found)
        }
    }

    impl PutRecordIfAbsent for ScriptedStore {
        async fn put_record_if_absent(
            &self,
            record: &PrimeRecord,
        ) -> Result<PutOutcome, StoreError> {
            let mut records = self.records.lock().unwrap();
            if let Some(rival) = self.rival_writes.lock().unwrap().pop_front() {
                records.insert(rival.key, rival);
            }
            if records.contains_key(&record.key) {
                return Ok(PutOutcome::AlreadyPresent);
            }
            records.insert(record.key, record.clone());
            Ok(PutOutcome::Stored)
        }
    }

    /// Answers a fixed prime and counts its calls.
    struct FixedCalculator {
        prime: u64,
        calls: AtomicUsize,
    }

    impl FixedCalculator {
        fn answering(prime: u64) -> Self {
            Self {
                prime,
                calls: AtomicUsize::new(0),
            }
        }
    }

    impl PrimeCalculator for FixedCalculator {
        async fn compute(&self, _n: u64) -> Result<Computation, ComputeError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(Computation {
                prime: self.prime,
                calculator: "fixed".into(),
                compute_micros: 1,
                fallback_reason: None,
            })
        }
    }

    fn rival_record(n: u64, prime: u64) -> PrimeRecord {
        PrimeRecord::new(
            n,
            Computation {
                prime,
                calculator: "rival".into(),
                compute_micros: 7,
                fallback_reason: None,
            },
            42,
        )
    }

    #[tokio::test]
    async fn a_miss_computes_stores_and_then_hits() {
        // GIVEN an empty store
        let service = PrimeService::new(
            ScriptedStore::default(),
            FixedCalculator::answering(541),
            "us-east-1",
        );

        // WHEN n = 100 is asked for twice
        let first = service.get_or_compute(100).await.unwrap();
        let second = service.get_or_compute(100).await.unwrap();

        // THEN the first computes, the second reads the stored record
        assert_eq!(first.source, Source::Computed);
        assert_eq!(second.source, Source::Cache);
        assert_eq!(second.record, first.record);
        assert_eq!(second.record.key, RecordKey::for_index(100));
        assert_eq!(second.node, "us-east-1");
        assert_eq!(service.calculator.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn losing_a_race_answers_with_the_winners_record() {
        // GIVEN a rival request that stores n = 100 just before our write
        let store = ScriptedStore::default();
        store
            .rival_writes
            .lock()
            .unwrap()
            .push_back(rival_record(100, 541));
        let service = PrimeService::new(store, FixedCalculator::answering(541), "us-east-1");

        // WHEN we get n = 100
        let lookup = service.get_or_compute(100).await.unwrap();

        // THEN we answer with the rival's record, and only it is stored
        assert_eq!(lookup.record.calculator, "rival");
        assert_eq!(lookup.source, Source::Cache);
        assert_eq!(service.store.records.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_record_evicted_mid_race_is_stored_again() {
        // GIVEN a rival that stores n = 100, which is then evicted before we read it back
        let store = ScriptedStore::default();
        store
            .rival_writes
            .lock()
            .unwrap()
            .push_back(rival_record(100, 541));
        *store.rival_evicts_after_write.lock().unwrap() = 1;
        let service = PrimeService::new(store, FixedCalculator::answering(541), "us-east-1");

        // WHEN we get n = 100
        let lookup = service.get_or_compute(100).await.unwrap();

        // THEN our own record is stored and returned as computed
        assert_eq!(lookup.source, Source::Computed);
        assert_eq!(lookup.record.calculator, "fixed");
        let records = service.store.records.lock().unwrap();
        assert_eq!(
            records.get(&RecordKey::for_index(100)),
            Some(&lookup.record)
        );
    }
}

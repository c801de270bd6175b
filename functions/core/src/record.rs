//! The cached answer for one n: in PrimeScaler, "the process for n".

use std::time::{SystemTime, UNIX_EPOCH};

use crate::shard::{SHARD_COUNT, Shard, shard_of};

/// Now, in milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The grid's cells are n = 1..=GRID_MAX_N (100 × 100). Their records are indexed for
/// the grid, and every change to one moves its node's grid version on.
pub const GRID_MAX_N: u64 = 10_000;

/// Whether n is one of the grid's cells.
pub fn in_grid(n: u64) -> bool {
    (1..=GRID_MAX_N).contains(&n)
}

/// The storage key of one n: its shard and n itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey {
    /// The shard that holds n.
    pub shard: Shard,
    /// The index n.
    pub n: u64,
}

/// The partition of a node's counters item, outside every record's shard.
pub const COUNTERS_SHARD: Shard = SHARD_COUNT;

/// The partition of a node's handoff hints, outside every record's shard.
pub const HINTS_SHARD: Shard = SHARD_COUNT + 1;

impl RecordKey {
    /// The key of n, with its shard derived from n.
    pub fn for_index(n: u64) -> Self {
        Self {
            shard: shard_of(n),
            n,
        }
    }

    /// The key of a node's counters item.
    pub const COUNTERS: Self = Self {
        shard: COUNTERS_SHARD,
        n: 0,
    };

    /// The key of a node's membership item ([`crate::membership`]), beside its counters.
    pub const MEMBERSHIP: Self = Self {
        shard: COUNTERS_SHARD,
        n: 1,
    };

    /// The key of the handoff hint for n.
    pub fn hint(n: u64) -> Self {
        Self {
            shard: HINTS_SHARD,
            n,
        }
    }

    /// Whether a table can hold this key: a record's (n ≥ 1 in n's own shard), the
    /// counters', the membership's or a hint's. A scan may stop at any of them, so each is a valid place
    /// to resume one.
    pub fn is_stored_key(&self) -> bool {
        match self.shard {
            COUNTERS_SHARD => self.n <= 1,
            HINTS_SHARD => self.n >= 1,
            shard => self.n >= 1 && shard == shard_of(self.n),
        }
    }
}

/// The name a record carries when the primary calculator (libprimecount) computed it;
/// any other name is a fallback's.
pub const PRIMARY_CALCULATOR: &str = "primecount";

/// What a calculator produced for one n.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computation {
    /// The nth prime.
    pub prime: u64,
    /// The name of the calculator that answered.
    pub calculator: String,
    /// How long the calculation took, in microseconds.
    pub compute_micros: u64,
    /// Why the primary calculator was passed over, when the fallback answered.
    pub fallback_reason: Option<String>,
}

/// One cached nth prime, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimeRecord {
    /// Where the record is stored.
    pub key: RecordKey,
    /// The nth prime.
    pub prime: u64,
    /// The name of the calculator that computed it.
    pub calculator: String,
    /// How long the calculation took, in microseconds.
    pub compute_micros: u64,
    /// When it was computed, in milliseconds since the Unix epoch.
    pub computed_at_ms: u64,
}

impl PrimeRecord {
    /// The record of a fresh computation of n.
    pub fn new(n: u64, computation: Computation, computed_at_ms: u64) -> Self {
        Self {
            key: RecordKey::for_index(n),
            prime: computation.prime,
            calculator: computation.calculator,
            compute_micros: computation.compute_micros,
            computed_at_ms,
        }
    }
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The record was already stored.
    Cache,
    /// This request computed and stored it.
    Computed,
}

impl Source {
    /// The name used on the wire: `"cache"` or `"computed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cache => "cache",
            Source::Computed => "computed",
        }
    }
}

/// The answer to one get-or-compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The record: stored, or computed and not stored.
    pub record: PrimeRecord,
    /// Whether it was found or computed.
    pub source: Source,
    /// The node (region) that holds the record; `None` when it was computed but could
    /// not be stored (no node could be reached): the answer is still right.
    pub node: Option<String>,
    /// Why the fallback calculator answered, when this request computed with it.
    pub fallback_reason: Option<String>,
    /// How many nodes this request passed over because they were down.
    pub failovers: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_keys_are_records_counters_and_hints() {
        assert!(RecordKey::for_index(1).is_stored_key());
        assert!(RecordKey::for_index(10_000).is_stored_key());
        assert!(RecordKey::COUNTERS.is_stored_key());
        assert!(RecordKey::hint(7).is_stored_key());

        let wrong_shard = RecordKey {
            shard: (shard_of(7) + 1) % SHARD_COUNT,
            n: 7,
        };
        assert!(!wrong_shard.is_stored_key());
        assert!(!RecordKey { shard: 0, n: 0 }.is_stored_key());
        assert!(!RecordKey::hint(0).is_stored_key());
        assert!(
            !RecordKey {
                shard: COUNTERS_SHARD,
                n: 3
            }
            .is_stored_key()
        );
        assert!(
            !RecordKey {
                shard: HINTS_SHARD + 1,
                n: 3
            }
            .is_stored_key()
        );
    }
}

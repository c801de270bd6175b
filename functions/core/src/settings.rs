//! Reading settings from an environment-like lookup.

use std::time::Duration;

/// The largest n served unless `MAX_N` says otherwise: p(10^12) takes about 0.25 s.
pub const DEFAULT_MAX_N: u64 = 1_000_000_000_000;
/// Every node's table name unless `TABLE_NAME` says otherwise.
pub const DEFAULT_TABLE: &str = "primescaler-primes";

/// The largest `MAX_N` accepted: the primary computes p(10^13) in about 0.8 s
/// (primecount, docs/benchmarks.md scales as n^(2/3): p(10^12) takes 0.23 s), well
/// inside its 5 s budget and the function's 15 s timeout, and the memory of every
/// accepted n stays bounded (the fallback's base sieve for p(10^13) ≈ 3.2·10^14 holds
/// the primes up to 1.8·10^7). Past it a request would outlive its deadline.
pub const MAX_N_CEILING: u64 = 10_000_000_000_000;

/// The largest n served (`MAX_N`, a whole number from 1 to [`MAX_N_CEILING`];
/// [`DEFAULT_MAX_N`] when unset).
pub fn read_max_n(lookup: &impl Fn(&str) -> Option<String>) -> Result<u64, String> {
    match lookup("MAX_N") {
        None => Ok(DEFAULT_MAX_N),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&m| (1..=MAX_N_CEILING).contains(&m))
            .ok_or_else(|| {
                format!("MAX_N must be a whole number from 1 to {MAX_N_CEILING}, not {raw:?}")
            }),
    }
}

/// Every node's table name (`TABLE_NAME`; [`DEFAULT_TABLE`] when unset or empty).
pub fn read_table_name(lookup: &impl Fn(&str) -> Option<String>) -> String {
    lookup("TABLE_NAME")
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| DEFAULT_TABLE.into())
}

/// Reads the duration in whole milliseconds (≥ 1) named `name` through `lookup`;
/// `default` when it is unset.
pub fn read_millis(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: Duration,
) -> Result<Duration, String> {
    match lookup(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&ms| ms >= 1)
            .map(Duration::from_millis)
            .ok_or_else(|| {
                format!("{name} must be a whole number of milliseconds ≥ 1, not {raw:?}")
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_n_and_table_have_defaults_and_refuse_nonsense() {
        let none = |_: &str| None;
        assert_eq!(read_max_n(&none), Ok(DEFAULT_MAX_N));
        assert_eq!(read_table_name(&none), DEFAULT_TABLE);
        assert_eq!(read_max_n(&|_: &str| Some("10000".into())), Ok(10_000));
        assert_eq!(read_table_name(&|_: &str| Some("t".into())), "t");
        assert_eq!(
            read_table_name(&|_: &str| Some(String::new())),
            DEFAULT_TABLE
        );
        for bad in ["0", "-1", "1e9", ""] {
            assert!(
                read_max_n(&|_: &str| Some(bad.into()))
                    .unwrap_err()
                    .contains("MAX_N")
            );
        }
    }

    #[test]
    fn reads_defaults_values_and_refusals() {
        let default = Duration::from_secs(1);
        let read = |value: Option<&str>| read_millis(&|_| value.map(String::from), "X_MS", default);
        assert_eq!(read(None), Ok(default));
        assert_eq!(read(Some(" 250 ")), Ok(Duration::from_millis(250)));
        for bad in ["0", "-5", "1.5", "soon"] {
            assert!(read(Some(bad)).unwrap_err().contains("X_MS"), "{bad}");
        }
    }
}

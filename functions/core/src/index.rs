//! Validation of the index n in "the nth prime".

use thiserror::Error;

/// Why a raw n was refused. Each variant maps to a 4xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidIndex {
    /// Nothing was given where n belongs.
    #[error("n is missing: use /primes/{{n}} with n a whole number from 1 to {max_n}")]
    Missing {
        /// The largest n the service accepts.
        max_n: u64,
    },
    /// The text is not a plain base-10 whole number.
    #[error("n must be a whole number written in digits 0-9 (got {shown:?})")]
    NotAWholeNumber {
        /// The offending text, cut short when it is long.
        shown: String,
    },
    /// n is zero; primes are counted from 1.
    #[error("n must be at least 1: the 1st prime is 2")]
    Zero,
    /// n is above the configured limit.
    #[error("n must be at most {max_n} (the service's MAX_N)")]
    AboveLimit {
        /// The largest n the service accepts.
        max_n: u64,
    },
}

/// Longest prefix of a bad input quoted back in an error message.
const SHOWN_CHARS: usize = 32;

/// Parses the text of n strictly: ASCII digits only, no sign, no spaces, no fraction,
/// and a value in `1..=max_n`. Leading zeros are accepted ("007" is 7).
pub fn parse_index(raw: &str, max_n: u64) -> Result<u64, InvalidIndex> {
    if raw.is_empty() {
        return Err(InvalidIndex::Missing { max_n });
    }
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidIndex::NotAWholeNumber {
            shown: raw.chars().take(SHOWN_CHARS).collect(),
        });
    }
    let digits = raw.trim_start_matches('0');
    if digits.is_empty() {
        return Err(InvalidIndex::Zero);
    }
    // Any digit string longer than u64 can hold is above every limit.
    match digits.parse::<u64>() {
        Ok(n) if n <= max_n => Ok(n),
        _ => Err(InvalidIndex::AboveLimit { max_n }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: u64 = 10_000;

    #[test]
    fn accepts_the_range_ends_and_leading_zeros() {
        assert_eq!(parse_index("1", MAX), Ok(1));
        assert_eq!(parse_index("10000", MAX), Ok(10_000));
        assert_eq!(parse_index("007", MAX), Ok(7));
    }

    #[test]
    fn rejects_each_kind_of_bad_input() {
        assert_eq!(
            parse_index("", MAX),
            Err(InvalidIndex::Missing { max_n: MAX })
        );
        assert_eq!(parse_index("0", MAX), Err(InvalidIndex::Zero));
        assert_eq!(parse_index("000", MAX), Err(InvalidIndex::Zero));
        assert_eq!(
            parse_index("10001", MAX),
            Err(InvalidIndex::AboveLimit { max_n: MAX })
        );
        assert_eq!(
            parse_index("1000000000000000000000000000000", MAX),
            Err(InvalidIndex::AboveLimit { max_n: MAX })
        );
        for bad in [
            "-1", "+1", "1.5", "abc", " 1", "1 ", "1e3", "٣", "0x10", "12abc",
        ] {
            assert!(
                matches!(
                    parse_index(bad, MAX),
                    Err(InvalidIndex::NotAWholeNumber { .. })
                ),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn quotes_long_input_cut_short() {
        let long = "x".repeat(1000);
        let Err(InvalidIndex::NotAWholeNumber { shown }) = parse_index(&long, MAX) else {
            panic!("long input was accepted");
        };
        assert_eq!(shown.len(), SHOWN_CHARS);
    }

    proptest! {
        #[test]
        fn every_number_in_range_round_trips(n in 1u64..=u64::MAX) {
            prop_assert_eq!(parse_index(&n.to_string(), u64::MAX), Ok(n));
        }

        #[test]
        fn never_accepts_a_value_outside_the_range(raw in "\\PC{0,40}", max_n in 1u64..1_000_000) {
            if let Ok(n) = parse_index(&raw, max_n) {
                prop_assert!((1..=max_n).contains(&n));
                prop_assert!(raw.bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }
}

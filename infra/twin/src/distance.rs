//! Round trips between AWS regions.
//!
//! From the published table "Latency Between AWS Global Regions" (average ping round
//! trips between EC2 instances, in ms, 2017), as docs/twin.md cites it; each pair is
//! taken once, from the row of the first region named below. Within one region a call
//! crosses availability zones: about a millisecond.

use std::time::Duration;

/// The regions of the table, in its order.
pub const REGIONS: [&str; 10] = [
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
];

/// The round trip within one region, across availability zones.
pub const IN_REGION: Duration = Duration::from_millis(1);

/// Round trips in tenths of a millisecond: `TABLE[i][j - i - 1]` is between `REGIONS[i]`
/// and `REGIONS[j]`, for `j > i`.
const TABLE: [&[u32]; 9] = [
    &[727, 870, 806, 887, 1453, 1784, 2167, 2300, 1195],
    &[195, 1532, 1666, 1025, 1315, 1740, 1575, 1927],
    &[1370, 1595, 891, 1183, 1614, 1622, 1827],
    &[196, 2124, 2424, 2390, 3096, 1913],
    &[2365, 2662, 3259, 3235, 1949],
    &[314, 738, 1039, 2568],
    &[719, 1340, 2863],
    &[1753, 3281],
    &[3225],
];

/// The round trip between regions `a` and `b`, or `None` when either is not in the
/// table.
pub fn round_trip(a: &str, b: &str) -> Option<Duration> {
    let i = REGIONS.iter().position(|r| *r == a)?;
    let j = REGIONS.iter().position(|r| *r == b)?;
    let (low, high) = (i.min(j), i.max(j));
    if low == high {
        return Some(IN_REGION);
    }
    let tenths = TABLE[low][high - low - 1];
    Some(Duration::from_micros(u64::from(tenths) * 100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_of_regions_has_one_round_trip_both_ways() {
        for (i, row) in TABLE.iter().enumerate() {
            assert_eq!(row.len(), REGIONS.len() - i - 1, "row {i}");
        }
        for a in REGIONS {
            for b in REGIONS {
                assert_eq!(round_trip(a, b), round_trip(b, a));
                assert!(round_trip(a, b).is_some());
            }
        }
    }

    #[test]
    fn the_default_nodes_are_as_far_apart_as_the_table_says() {
        let micros = |a, b| round_trip(a, b).unwrap().as_micros();
        assert_eq!(micros("us-east-1", "eu-west-1"), 80_600);
        assert_eq!(micros("us-east-1", "ap-southeast-2"), 230_000);
        assert_eq!(micros("ap-southeast-2", "eu-west-1"), 309_600);
        assert_eq!(round_trip("us-east-1", "us-east-1"), Some(IN_REGION));
        assert_eq!(round_trip("us-east-1", "mars-north-1"), None);
    }
}

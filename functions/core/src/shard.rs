//! The stable hash that places n in a shard.
//!
//! A shard is the unit of placement: every n lives in exactly one shard, and the
//! shard is part of the storage key. The hash is a fixed function (the SplitMix64
//! finaliser), so the placement never changes between builds, platforms or releases.

/// A shard number, in `0..SHARD_COUNT`.
pub type Shard = u32;

/// How many shards the key space is cut into.
pub const SHARD_COUNT: Shard = 1024;

/// Mixes the bits of `n` so that neighbouring numbers land far apart.
pub fn mix64(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The shard that holds n.
pub fn shard_of(n: u64) -> Shard {
    // The top bits of the mix are the best mixed; SHARD_COUNT is a power of two.
    (mix64(n) >> (64 - SHARD_COUNT.trailing_zeros())) as Shard
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shard_count_is_a_power_of_two() {
        assert!(SHARD_COUNT.is_power_of_two());
    }

    /// The shards of n = 1, 2, 100 and 10,000.
    const PINNED: [Shard; 4] = [580, 605, 140, 554];

    #[test]
    fn placement_is_pinned() {
        // These values are part of the storage format: changing them strands cached items.
        let pinned = [1u64, 2, 100, 10_000].map(shard_of);
        assert_eq!(pinned, PINNED);
        assert_eq!(mix64(0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn grid_keys_spread_evenly_over_shards() {
        let mut load = vec![0u32; SHARD_COUNT as usize];
        for n in 1..=100_000u64 {
            load[shard_of(n) as usize] += 1;
        }
        let mean = 100_000.0 / f64::from(SHARD_COUNT);
        // A uniform hash gives a chi-square statistic near SHARD_COUNT - 1 (sd ≈ 45).
        let chi_square: f64 = load
            .iter()
            .map(|&l| (f64::from(l) - mean).powi(2) / mean)
            .sum();
        assert!(chi_square < 1250.0, "chi-square {chi_square}");
        let max = f64::from(*load.iter().max().unwrap());
        assert!(max / mean < 1.4, "max {max}, mean {mean}");
    }

    proptest! {
        #[test]
        fn every_shard_is_in_range(n in any::<u64>()) {
            prop_assert!(shard_of(n) < SHARD_COUNT);
        }
    }
}

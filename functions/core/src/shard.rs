//! The stable hash that places n in a shard.
//!
//! A shard is the unit of placement: every n lives in exactly one shard, and the shard
//! is part of the storage key. The hash is Fibonacci hashing (Knuth's multiplicative
//! hash by 2^64/φ, top 16 bits): consecutive n land far apart, yet any run of
//! consecutive n, such as the grid's 1..10,000, covers the shard space almost exactly
//! evenly, so every stretch of the placement ring gets its fair share of it. It is a
//! fixed function, so placement never changes between builds, platforms or releases.

/// A shard number, in `0..SHARD_COUNT`.
pub type Shard = u32;

/// How many shards the key space is cut into: enough that each of up to a few dozen
/// nodes holds thousands, so that placement by shard balances as well as placement by n.
pub const SHARD_COUNT: Shard = 65_536;

/// Mixes the bits of `n` so that neighbouring numbers land far apart.
pub fn mix64(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 2^64 / φ, rounded to odd: the multiplier of Fibonacci hashing.
const FIBONACCI: u64 = 0x9E37_79B9_7F4A_7C15;

/// The shard that holds n.
pub fn shard_of(n: u64) -> Shard {
    // The top bits of the product are the well-spread ones; SHARD_COUNT is a power of two.
    (n.wrapping_mul(FIBONACCI) >> (64 - SHARD_COUNT.trailing_zeros())) as Shard
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
    const PINNED: [Shard; 4] = [40_503, 15_470, 52_651, 22_274];

    #[test]
    fn placement_is_pinned() {
        // These values are part of the storage format: changing them strands cached items.
        let pinned = [1u64, 2, 100, 10_000].map(shard_of);
        assert_eq!(pinned, PINNED);
        assert_eq!(mix64(0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn grid_keys_spread_evenly_over_shards() {
        let keys = 1_000_000u64;
        let mut load = vec![0u32; SHARD_COUNT as usize];
        for n in 1..=keys {
            load[shard_of(n) as usize] += 1;
        }
        let mean = keys as f64 / f64::from(SHARD_COUNT);
        // Consecutive keys fill the shards almost exactly evenly (mean 15.26: 14 to 17 each).
        let (min, max) = (load.iter().min().unwrap(), load.iter().max().unwrap());
        assert!(max - min <= 3, "min {min}, max {max}, mean {mean}");
    }

    proptest! {
        #[test]
        fn every_shard_is_in_range(n in any::<u64>()) {
            prop_assert!(shard_of(n) < SHARD_COUNT);
        }
    }
}

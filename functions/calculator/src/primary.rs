//! The primary engine: libprimecount (Gourdon's prime counting algorithm plus a
//! segmented sieve), through the `primecount` crate, built single-threaded.

/// The largest n libprimecount's nth prime accepts.
pub const PRIMECOUNT_MAX_N: u64 = 216_289_611_853_439_384;

unsafe extern "C" {
    /// libprimecount's thread setting (part of its C API; the crate does not wrap it).
    fn primecount_set_num_threads(threads: i32);
}

/// The nth prime by libprimecount, on the calling thread.
pub fn nth_prime(n: u64) -> Result<u64, String> {
    if n == 0 || n > PRIMECOUNT_MAX_N {
        return Err(format!("n = {n} is outside libprimecount's range"));
    }
    // SAFETY: a plain setter of an integer in libprimecount's global settings.
    unsafe { primecount_set_num_threads(1) };
    let answer = primecount::nth_prime(n as i64);
    u64::try_from(answer)
        .ok()
        .filter(|&p| p >= 2)
        .ok_or_else(|| format!("libprimecount answered {answer} for n = {n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_powers_of_ten() {
        // p(10^k), k = 0..=12 (OEIS A006988).
        let pinned = [
            2u64,
            29,
            541,
            7_919,
            104_729,
            1_299_709,
            15_485_863,
            179_424_673,
            2_038_074_743,
            22_801_763_489,
            252_097_800_623,
            2_760_727_302_517,
            29_996_224_275_833,
        ];
        for (k, &p) in pinned.iter().enumerate() {
            assert_eq!(nth_prime(10u64.pow(k as u32)), Ok(p), "n = 10^{k}");
        }
    }

    #[test]
    fn agrees_with_the_sieve_on_the_grid() {
        for n in 1..=10_000 {
            assert_eq!(nth_prime(n), Ok(crate::sieve::nth_prime(n)), "n = {n}");
        }
    }

    #[test]
    fn refuses_n_outside_its_range() {
        assert!(nth_prime(0).is_err());
        assert!(nth_prime(PRIMECOUNT_MAX_N + 1).is_err());
    }
}

//! The cheap plausibility check every primary answer must pass.

/// Whether `prime` can be the nth prime: it is prime (deterministic Miller–Rabin for
/// 64-bit numbers) and lies within the proven bounds on the nth prime.
pub fn plausible_nth_prime(n: u64, prime: u64) -> bool {
    if n == 0 {
        return false;
    }
    let (low, high) = primal_estimate::nth_prime(n);
    (low..=high).contains(&prime) && primal_check::miller_rabin(prime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_answers_pass() {
        for (n, p) in [
            (1, 2),
            (2, 3),
            (100, 541),
            (1_000_000_000_000, 29_996_224_275_833),
        ] {
            assert!(plausible_nth_prime(n, p), "n = {n}");
        }
    }

    #[test]
    fn composites_and_far_primes_fail() {
        assert!(!plausible_nth_prime(100, 543)); // composite, in range
        assert!(!plausible_nth_prime(100, 7_919)); // prime, far out of range
        assert!(!plausible_nth_prime(0, 2));
    }
}

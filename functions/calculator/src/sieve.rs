//! The fallback: the nth prime by walking `primal`'s segmented sieve of Eratosthenes
//! (a port of primesieve's design, with no code of libprimecount's), prime by prime, so
//! that it can stop at a deadline.
//!
//! Chosen by measurement (`make bench-calculator`, docs/benchmarks.md): the walk is 3 to
//! 5 times faster than the segmented sieve written here before it, and within its 4 s
//! budget it reaches n ≈ 5 × 10^8 on a whole core, where that one reached 1.5 × 10^8. primal's own
//! `StreamingSieve::nth_prime` is faster still (1.4 to 3.5 times), but it cannot be
//! stopped: a fallback that overran its budget would keep a core busy after its request
//! had been answered.

use std::time::Instant;

/// How many primes the walk steps between two looks at the clock.
const CHECK_EVERY: u64 = 1 << 16;

/// The nth prime (n ≥ 1; the 1st prime is 2).
///
/// # Panics
/// When n is 0.
pub fn nth_prime(n: u64) -> u64 {
    nth_prime_until(n, None).expect("no deadline was set")
}

/// The nth prime, or `None` when `deadline` passes first (checked every 65,536 primes).
///
/// # Panics
/// When n is 0.
pub fn nth_prime_before(n: u64, deadline: Instant) -> Option<u64> {
    nth_prime_until(n, Some(deadline))
}

/// The first `count` primes, in order.
pub fn first_primes(count: usize) -> Vec<u64> {
    primal_sieve::Primes::all()
        .take(count)
        .map(|p| p as u64)
        .collect()
}

fn nth_prime_until(n: u64, deadline: Option<Instant>) -> Option<u64> {
    assert!(n >= 1, "primes are counted from n = 1");
    let mut primes = primal_sieve::Primes::all();
    let mut left = n;
    loop {
        let step = left.min(CHECK_EVERY);
        let prime = primes.nth((step - 1) as usize)? as u64;
        left -= step;
        if left == 0 {
            return Some(prime);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nth prime by trial division: slow, and obviously right.
    fn nth_prime_by_trial_division(n: u64) -> u64 {
        (2u64..)
            .filter(|&c| (2..).take_while(|d| d * d <= c).all(|d| c % d != 0))
            .nth((n - 1) as usize)
            .unwrap()
    }

    #[test]
    fn known_values() {
        let known = [
            (1, 2),
            (2, 3),
            (3, 5),
            (4, 7),
            (5, 11),
            (6, 13),
            (10, 29),
            (100, 541),
            (1_000, 7_919),
            (10_000, 104_729),
            (100_000, 1_299_709),
            (1_000_000, 15_485_863),
        ];
        for (n, p) in known {
            assert_eq!(nth_prime(n), p, "n = {n}");
        }
    }

    #[test]
    fn agrees_with_trial_division_on_the_first_two_thousand() {
        let expected: Vec<u64> = (1..=2_000).map(nth_prime_by_trial_division).collect();
        let got: Vec<u64> = (1..=2_000).map(nth_prime).collect();
        assert_eq!(got, expected);
        assert_eq!(first_primes(2_000), expected);
    }

    #[test]
    fn steps_past_many_clock_checks() {
        // π(10^7) = 664,579 and the 664,579th prime is 9,999,991: ten checks in, and
        // n = 2 × 65,536 ends exactly on one.
        assert_eq!(nth_prime(664_579), 9_999_991);
        assert_eq!(nth_prime(2 * CHECK_EVERY), 1_742_537);
    }

    #[test]
    fn stops_at_its_deadline() {
        let past = Instant::now();
        assert_eq!(nth_prime_before(1_000_000_000, past), None);
        let later = Instant::now() + std::time::Duration::from_secs(60);
        assert_eq!(nth_prime_before(1_000, later), Some(7_919));
    }

    #[test]
    #[should_panic(expected = "counted from n = 1")]
    fn refuses_zero() {
        nth_prime(0);
    }
}

//! A segmented sieve of Eratosthenes over odd numbers, walking upward until it has
//! counted n primes.

use std::time::Instant;

/// Odd numbers covered by one segment (one byte each): small enough to stay in L2.
const SEGMENT_ODDS: usize = 1 << 17;

/// An upper bound on the nth prime, for n ≥ 1 (Rosser's theorem for n ≥ 6).
pub fn nth_prime_upper_bound(n: u64) -> u64 {
    if n < 6 {
        return 13;
    }
    let x = n as f64;
    (x * (x.ln() + x.ln().ln())).ceil() as u64 + 1
}

/// The primes up to and including `limit`, by a plain sieve.
pub fn primes_up_to(limit: u64) -> Vec<u64> {
    let limit = limit as usize;
    let mut composite = vec![false; limit + 1];
    let mut primes = Vec::new();
    for i in 2..=limit {
        if composite[i] {
            continue;
        }
        primes.push(i as u64);
        let mut multiple = i * i;
        while multiple <= limit {
            composite[multiple] = true;
            multiple += i;
        }
    }
    primes
}

/// The nth prime (n ≥ 1; the 1st prime is 2).
///
/// # Panics
/// When n is 0.
pub fn nth_prime(n: u64) -> u64 {
    nth_prime_until(n, None).expect("no deadline was set")
}

/// The nth prime, or `None` when `deadline` passes first (checked once a segment).
///
/// # Panics
/// When n is 0.
pub fn nth_prime_before(n: u64, deadline: Instant) -> Option<u64> {
    nth_prime_until(n, Some(deadline))
}

fn nth_prime_until(n: u64, deadline: Option<Instant>) -> Option<u64> {
    assert!(n >= 1, "primes are counted from n = 1");
    if n == 1 {
        return Some(2);
    }
    let bound = nth_prime_upper_bound(n);
    let base: Vec<u64> = primes_up_to(bound.isqrt() + 1)
        .into_iter()
        .skip(1) // 2: only odd numbers are sieved
        .collect();
    // `next_odd[i]` is the next odd multiple of base[i] still to cross off.
    let mut next_odd: Vec<u64> = base.iter().map(|&p| p * p).collect();
    let mut remaining = n - 1; // 2 is counted
    let mut is_composite = vec![false; SEGMENT_ODDS];
    let mut low = 3u64; // odd; the segment covers low, low + 2, …
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        let high = low + 2 * SEGMENT_ODDS as u64; // exclusive
        is_composite.fill(false);
        for (p, next) in base.iter().zip(next_odd.iter_mut()) {
            if *next >= high {
                continue;
            }
            let mut m = *next;
            while m < high {
                is_composite[((m - low) / 2) as usize] = true;
                m += 2 * p;
            }
            *next = m;
        }
        for (i, &composite) in is_composite.iter().enumerate() {
            if !composite {
                remaining -= 1;
                if remaining == 0 {
                    return Some(low + 2 * i as u64);
                }
            }
        }
        low = high;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
    }

    #[test]
    fn crosses_segment_boundaries() {
        // π(10^7) = 664,579 and the 664,579th prime is 9,999,991: dozens of segments in.
        assert_eq!(nth_prime(664_579), 9_999_991);
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

    proptest! {
        #[test]
        fn the_bound_is_above_the_prime(n in 1u64..20_000) {
            prop_assert!(nth_prime_upper_bound(n) >= nth_prime(n));
        }
    }
}

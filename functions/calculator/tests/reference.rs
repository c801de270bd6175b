//! Both calculators against the reference implementations: Debian's `primesieve` and
//! `primecount` commands (installed by `make test`).

use std::process::{Child, Command, Stdio};

use primescaler_calculator::{primary, sieve};

fn run(program: &str, args: &[&str]) -> String {
    start(program, args).finish()
}

/// A reference command started, and what it is (its program and arguments).
struct Started {
    child: Child,
    what: String,
}

/// Starts `program`, so that it works beside us on the other core.
fn start(program: &str, args: &[&str]) -> Started {
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {program} (make test installs it): {e}"));
    Started {
        child,
        what: format!("{program} {}", args.join(" ")),
    }
}

impl Started {
    /// What the command printed, once it has exited successfully.
    fn finish(self) -> String {
        let what = self.what;
        let output = self
            .child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("wait for {what}: {e}"));
        assert!(output.status.success(), "{what} failed: {}", output.status);
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }
}

/// The random cases' seed (`REFERENCE_SEED`, or a fresh one), printed so that a failure
/// replays, and a generator seeded with it.
fn seeded() -> (u64, fastrand::Rng) {
    let seed = std::env::var("REFERENCE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("REFERENCE_SEED={seed}");
    (seed, fastrand::Rng::with_seed(seed))
}

/// `count` n drawn log-uniform over 1..=10^`max_exponent`, so that every magnitude is
/// covered.
fn log_uniform(rng: &mut fastrand::Rng, count: usize, max_exponent: u32) -> Vec<u64> {
    (0..count)
        .map(|_| {
            10f64
                .powf(rng.f64() * f64::from(max_exponent))
                .round()
                .max(1.0) as u64
        })
        .collect()
}

#[test]
fn every_grid_n_agrees_with_primesieve() {
    // GIVEN the primes up to p(10,000) = 104,729, listed by primesieve
    let listed: Vec<u64> = run("primesieve", &["104729", "--print"])
        .lines()
        .map(|l| l.trim().parse().expect("a prime per line"))
        .collect();
    assert_eq!(listed.len(), 10_000);

    // WHEN each calculator answers n = 1..=10,000
    // THEN both agree with the list at every n
    for (i, &expected) in listed.iter().enumerate() {
        let n = i as u64 + 1;
        assert_eq!(primary::nth_prime(n), Ok(expected), "primary, n = {n}");
        assert_eq!(sieve::nth_prime(n), expected, "fallback, n = {n}");
    }
}

#[test]
fn a_thousand_random_n_up_to_10_12_agree_with_primecount() {
    // GIVEN 1,000 random n, log-uniform over 1..=10^12 (every magnitude is covered),
    // plus a few uniform ones near the top; the seed is printed to replay a failure
    let (seed, mut rng) = seeded();
    let mut cases = log_uniform(&mut rng, 990, 12);
    cases.extend((0..10).map(|_| rng.u64(1..=1_000_000_000_000)));

    for n in cases {
        // WHEN the primary answers n (while primecount works on it beside)
        let primecount = start("primecount", &[&n.to_string(), "-n"]);
        let ours = primary::nth_prime(n).expect("the primary answers");

        // THEN primecount gives the same prime
        let reference: u64 = primecount
            .finish()
            .trim()
            .parse()
            .expect("primecount prints the prime");
        assert_eq!(ours, reference, "n = {n} (seed {seed})");
    }
}

#[test]
fn random_n_up_to_10_9_agree_with_a_sieve_independent_of_primecount() {
    // GIVEN 40 random n, log-uniform over 1..=10^9, and p(10^9) itself: primecount finds
    // p(n) by counting π(x) with its combinatorial algorithms (and so does our primary,
    // through libprimecount); primesieve's `-n` walks a segmented sieve up to it, which
    // shares none of the counting (libprimecount ends with a short sieve of
    // libprimesieve's, so the two are not wholly independent); the seed is printed to
    // replay a failure
    let (seed, mut rng) = seeded();
    let mut cases = log_uniform(&mut rng, 40, 9);
    cases.push(1_000_000_000);

    for n in cases {
        // WHEN the primary answers n
        let ours = primary::nth_prime(n).expect("the primary answers");

        // THEN primesieve's sieve finds the same nth prime
        let sieved: u64 = run("primesieve", &[&n.to_string(), "-n", "-q"])
            .trim()
            .parse()
            .expect("primesieve prints the nth prime");
        assert_eq!(ours, sieved, "n = {n} (seed {seed})");
    }
}

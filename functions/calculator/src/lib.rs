//! The nth prime.
//!
//! [`sieve::nth_prime`] is a segmented sieve of Eratosthenes: simple, obviously correct,
//! and fast enough for the grid's range. [`SieveCalculator`] runs it on tokio's blocking
//! pool and times it, as the service's [`PrimeCalculator`].

pub mod sieve;

use std::time::Instant;

use primescaler_core::{Computation, ComputeError, PrimeCalculator};

/// The service's calculator: the segmented sieve, run on the blocking pool.
#[derive(Debug, Clone, Copy, Default)]
pub struct SieveCalculator;

impl SieveCalculator {
    /// The name this calculator reports in responses.
    pub const NAME: &'static str = "sieve";
}

impl PrimeCalculator for SieveCalculator {
    async fn compute(&self, n: u64) -> Result<Computation, ComputeError> {
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let prime = sieve::nth_prime(n);
            Computation {
                prime,
                calculator: Self::NAME.to_string(),
                compute_micros: started.elapsed().as_micros() as u64,
            }
        })
        .await
        .map_err(|join| ComputeError(format!("the sieve did not finish: {join}")))
    }
}

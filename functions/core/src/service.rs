//! The calculator port and the service's errors. The get-or-compute rules over the
//! nodes live in the cluster crate.

use std::future::Future;

use thiserror::Error;

use crate::record::Computation;
use crate::store::StoreError;

/// A calculation that did not produce a prime.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("calculation failed: {0}")]
pub struct ComputeError(pub String);

/// Computes nth primes. Implementations decide where the work runs.
pub trait PrimeCalculator {
    /// The nth prime, with the calculator's name and timing.
    fn compute(&self, n: u64) -> impl Future<Output = Result<Computation, ComputeError>> + Send;

    /// How many times this instance fell back to a secondary calculator.
    fn fallback_count(&self) -> u64 {
        0
    }

    /// How many computations this instance ran.
    fn computation_count(&self) -> u64 {
        0
    }
}

/// A failure of the service, by the part that failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ServiceError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No node could be reached.
    #[error("no node could be reached: {0}")]
    NoNodeReachable(String),
    /// The calculator failed.
    #[error(transparent)]
    Compute(#[from] ComputeError),
}

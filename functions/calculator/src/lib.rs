//! The nth prime, for n from 1 to 10^12 and beyond.
//!
//! - [`primary`]: libprimecount (Gourdon's algorithm and a segmented sieve), through the
//!   `primecount` crate, single-threaded. Chosen by measurement: see `docs/benchmarks.md`.
//! - [`sieve`]: the fallback, `primal`'s segmented sieve of Eratosthenes walked prime
//!   by prime, which shares no code with libprimecount and can stop at a deadline.
//! - [`guarded`]: the runner that tries the primary under a time budget, catches its
//!   panics, checks its answer ([`check`]), and falls back to the sieve.
//! - [`process`]: the primary in a child process of the function's own binary, for a
//!   large n, so that it can be killed at its budget's end.
//! - [`fault`]: injected primary failures, to show and test the fallback.

pub mod check;
pub mod fault;
pub mod guarded;
pub mod primary;
pub mod process;
pub mod sieve;

pub use fault::{FaultInjection, FaultKind};
pub use guarded::{FALLBACK_NAME, GuardSettings, GuardedCalculator, PRIMARY_NAME};
pub use process::{PrimaryProcess, answer_if_asked};

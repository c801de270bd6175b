//! The guarded runner: the primary engine under a time budget, its answer checked, and
//! the fallback sieve whenever the primary fails.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use primescaler_core::settings::read_millis;
use primescaler_core::{Computation, ComputeError, PrimeCalculator};

use crate::check::plausible_nth_prime;
use crate::fault::{FaultInjection, FaultKind};
use crate::process::{OWN_PROCESS_FROM, PrimaryProcess};
use crate::{primary, sieve};

/// The name reported when libprimecount answered.
pub const PRIMARY_NAME: &str = primescaler_core::PRIMARY_CALCULATOR;
/// The name reported when the fallback sieve answered.
pub const FALLBACK_NAME: &str = "sieve";

/// The guarded runner's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardSettings {
    /// How long the primary may take before the fallback takes over.
    pub primary_budget: Duration,
    /// How long the fallback may take before the request fails.
    pub fallback_budget: Duration,
    /// Faults injected into the primary.
    pub faults: FaultInjection,
}

impl Default for GuardSettings {
    fn default() -> Self {
        Self {
            primary_budget: Duration::from_secs(5),
            fallback_budget: Duration::from_secs(4),
            faults: FaultInjection::NONE,
        }
    }
}

impl GuardSettings {
    /// Reads `PRIMARY_BUDGET_MS`, `FALLBACK_BUDGET_MS` and the fault settings through
    /// `lookup`; unset values keep their defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let defaults = Self::default();
        Ok(Self {
            primary_budget: read_millis(&lookup, "PRIMARY_BUDGET_MS", defaults.primary_budget)?,
            fallback_budget: read_millis(&lookup, "FALLBACK_BUDGET_MS", defaults.fallback_budget)?,
            faults: FaultInjection::from_lookup(&lookup)?,
        })
    }
}

/// The service's calculator: primary first, fallback on any failure of it.
#[derive(Debug, Default)]
pub struct GuardedCalculator {
    settings: GuardSettings,
    process: Option<PrimaryProcess>,
    fallbacks: AtomicU64,
    computations: AtomicU64,
}

impl GuardedCalculator {
    /// A runner with `settings`.
    pub fn new(settings: GuardSettings) -> Self {
        Self {
            settings,
            process: None,
            fallbacks: AtomicU64::new(0),
            computations: AtomicU64::new(0),
        }
    }

    /// The primary of a large n runs in a child process of `process`, which is killed
    /// when its budget runs out ([`crate::process`]); without it, every n runs on a
    /// thread, which keeps computing past the budget.
    pub fn with_primary_process(self, process: PrimaryProcess) -> Self {
        Self {
            process: Some(process),
            ..self
        }
    }

    /// Runs the primary within its budget, in its own process for a large n (when this
    /// runner has one), else on the blocking pool; answers the prime, checked, or why
    /// the primary failed.
    async fn run_primary(&self, n: u64) -> Result<u64, String> {
        let budget = self.settings.primary_budget;
        let fault = self.settings.faults.strikes();
        let prime = match &self.process {
            Some(process) if fault.is_none() && n >= OWN_PROCESS_FROM => {
                process.nth_prime(n, budget).await?
            }
            _ => Self::on_a_thread(n, budget, fault).await?,
        };
        if plausible_nth_prime(n, prime) {
            Ok(prime)
        } else {
            Err(format!(
                "answered {prime}, which failed the primality check"
            ))
        }
    }

    /// Runs the primary (or the injected `fault`) on the blocking pool within `budget`.
    /// Past it the answer is given up, but the thread runs on.
    async fn on_a_thread(
        n: u64,
        budget: Duration,
        fault: Option<FaultKind>,
    ) -> Result<u64, String> {
        let task = tokio::task::spawn_blocking(move || match fault {
            None => primary::nth_prime(n),
            Some(FaultKind::Error) => Err("injected fault: error".to_string()),
            Some(FaultKind::Panic) => panic!("injected fault: panic"),
            Some(FaultKind::Wrong) => primary::nth_prime(n).map(|p| p + 1),
            Some(FaultKind::Slow) => {
                std::thread::sleep(budget + Duration::from_millis(100));
                primary::nth_prime(n)
            }
        });
        match tokio::time::timeout(budget, task).await {
            Err(_) => Err(format!("exceeded its time budget of {budget:?}")),
            Ok(Err(join)) if join.is_panic() => Err("panicked".to_string()),
            Ok(Err(join)) => Err(format!("did not finish: {join}")),
            Ok(Ok(answer)) => answer,
        }
    }

    /// Runs the fallback sieve on the blocking pool; it stops itself at its budget.
    async fn run_fallback(&self, n: u64) -> Result<u64, ComputeError> {
        let budget = self.settings.fallback_budget;
        let deadline = Instant::now() + budget;
        tokio::task::spawn_blocking(move || sieve::nth_prime_before(n, deadline))
            .await
            .map_err(|join| ComputeError(format!("the fallback did not finish: {join}")))?
            .ok_or_else(|| {
                ComputeError(format!(
                    "the fallback sieve exceeded its budget of {budget:?}"
                ))
            })
    }
}

impl PrimeCalculator for GuardedCalculator {
    async fn compute(&self, n: u64) -> Result<Computation, ComputeError> {
        self.computations.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let (prime, calculator, fallback_reason) = match self.run_primary(n).await {
            Ok(prime) => (prime, PRIMARY_NAME, None),
            Err(reason) => {
                self.fallbacks.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(n, reason = %reason, "primary calculator failed; using the fallback");
                let prime = self.run_fallback(n).await?;
                (prime, FALLBACK_NAME, Some(format!("primary {reason}")))
            }
        };
        Ok(Computation {
            prime,
            calculator: calculator.to_string(),
            compute_micros: started.elapsed().as_micros() as u64,
            fallback_reason,
        })
    }

    fn fallback_count(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    fn computation_count(&self) -> u64 {
        self.computations.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_fault(kind: FaultKind) -> GuardedCalculator {
        GuardedCalculator::new(GuardSettings {
            // A short budget where it is the fault under test; elsewhere one that a loaded
            // machine cannot overrun, so that the failure is the injected one.
            primary_budget: if matches!(kind, FaultKind::Slow) {
                Duration::from_millis(300)
            } else {
                Duration::from_secs(10)
            },
            faults: FaultInjection { rate: 1.0, kind },
            ..GuardSettings::default()
        })
    }

    #[tokio::test]
    async fn the_primary_answers_when_healthy() {
        let calculator = GuardedCalculator::default();
        let answer = calculator.compute(1_000_000).await.unwrap();
        assert_eq!(answer.prime, 15_485_863);
        assert_eq!(answer.calculator, PRIMARY_NAME);
        assert_eq!(answer.fallback_reason, None);
        assert_eq!(calculator.fallback_count(), 0);
    }

    #[tokio::test]
    async fn every_kind_of_primary_failure_falls_back_to_a_correct_answer() {
        for (kind, reason) in [
            (FaultKind::Error, "injected fault: error"),
            (FaultKind::Panic, "panicked"),
            (FaultKind::Wrong, "failed the primality check"),
            (FaultKind::Slow, "time budget"),
        ] {
            let calculator = with_fault(kind);
            let answer = calculator.compute(10_000).await.unwrap();
            assert_eq!(answer.prime, 104_729, "{kind:?}");
            assert_eq!(answer.calculator, FALLBACK_NAME, "{kind:?}");
            let got = answer.fallback_reason.unwrap();
            assert!(got.contains(reason), "{kind:?}: {got}");
            assert_eq!(calculator.fallback_count(), 1);
        }
    }

    #[tokio::test]
    async fn a_fallback_past_its_budget_is_an_error_not_a_guess() {
        let calculator = GuardedCalculator::new(GuardSettings {
            fallback_budget: Duration::from_millis(20),
            faults: FaultInjection {
                rate: 1.0,
                kind: FaultKind::Error,
            },
            ..GuardSettings::default()
        });
        let error = calculator.compute(1_000_000_000_000).await.unwrap_err();
        assert!(error.0.contains("budget"), "{error}");
    }

    #[test]
    fn settings_are_read_from_the_environment() {
        let settings = GuardSettings::from_lookup(|name| match name {
            "PRIMARY_BUDGET_MS" => Some("250".into()),
            "PRIMARY_FAULT_RATE" => Some("0.25".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(settings.primary_budget, Duration::from_millis(250));
        assert_eq!(
            settings.fallback_budget,
            GuardSettings::default().fallback_budget
        );
        assert_eq!(settings.faults.rate, 0.25);
        assert!(GuardSettings::from_lookup(|_| Some("0".into())).is_err());
    }
}

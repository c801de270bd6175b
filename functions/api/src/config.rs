//! The function's configuration, read from its environment.

use primescaler_calculator::GuardSettings;
use primescaler_cluster::ClusterConfig;
use std::time::Duration;

use primescaler_cluster::service::DEFAULT_DEADLINE;

/// How far apart two instances' clocks may be when one judges the age of the other's
/// write (Lambda's clocks are kept within milliseconds; this leaves a wide margin).
pub const CLOCK_MARGIN: std::time::Duration = std::time::Duration::from_secs(1);
use primescaler_core::settings::read_millis;
use primescaler_core::{read_max_n, read_table_name};
use thiserror::Error;

/// A configuration value that cannot be used.
#[derive(Debug, Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    /// A configuration error saying `why`.
    pub fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
}

/// The API function's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    /// The nodes, the local one and the strategy (see [`ClusterConfig`]).
    pub cluster: ClusterConfig,
    /// Every node's table (`TABLE_NAME`, default `primescaler-primes`).
    pub table: String,
    /// The largest n served (`MAX_N`, default 10^12).
    pub max_n: u64,
    /// The credential that `DELETE /cache` and `DELETE /primes/{n}` require, as a bearer
    /// token (`RESET_TOKEN`, locally); `None` leaves them open (local tests). In AWS it
    /// is read at start-up from the secret that [`ApiConfig::reset_token_secret`] names.
    pub reset_token: Option<String>,
    /// The Secrets Manager secret that holds the reset token (`RESET_TOKEN_SECRET`, its
    /// ARN), read once at start-up: the token itself is never in the environment.
    pub reset_token_secret: Option<String>,
    /// The calculators' budgets and injected faults (`PRIMARY_BUDGET_MS`,
    /// `FALLBACK_BUDGET_MS`, `PRIMARY_FAULT_RATE`, `PRIMARY_FAULT_KIND`).
    pub guard: GuardSettings,
    /// How long one request may take, end to end (`REQUEST_DEADLINE_MS`, default 12 s,
    /// under the function's 15 s timeout). It must hold both calculators' budgets and a
    /// read and a write at the node budget.
    pub deadline: Duration,
}

impl ApiConfig {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, which answers a variable's value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let cluster = ClusterConfig::from_lookup(&lookup).map_err(ConfigError)?;
        let table = read_table_name(&lookup);
        let max_n = read_max_n(&lookup).map_err(ConfigError)?;
        let guard = GuardSettings::from_lookup(&lookup).map_err(ConfigError)?;
        let reset_token = lookup("RESET_TOKEN").filter(|t| !t.is_empty());
        let reset_token_secret = lookup("RESET_TOKEN_SECRET").filter(|t| !t.is_empty());
        if reset_token.is_some() && reset_token_secret.is_some() {
            return Err(ConfigError(
                "set RESET_TOKEN or RESET_TOKEN_SECRET, not both".into(),
            ));
        }
        let deadline =
            read_millis(&lookup, "REQUEST_DEADLINE_MS", DEFAULT_DEADLINE).map_err(ConfigError)?;
        let needed = guard.primary_budget + guard.fallback_budget + 2 * cluster.node_timeout;
        if deadline < needed {
            return Err(ConfigError(format!(
                "REQUEST_DEADLINE_MS ({} ms) must hold the calculators' budgets and a read and \
                 a write at NODE_TIMEOUT_MS: at least {} ms",
                deadline.as_millis(),
                needed.as_millis()
            )));
        }
        if cluster.write_grace < deadline + CLOCK_MARGIN {
            return Err(ConfigError(format!(
                "WRITE_GRACE_MS ({} ms) must be at least REQUEST_DEADLINE_MS ({} ms) plus {} ms: \
                 a request's writes are under way until its deadline, and another instance \
                 judges their age by its own clock",
                cluster.write_grace.as_millis(),
                deadline.as_millis(),
                CLOCK_MARGIN.as_millis()
            )));
        }
        Ok(Self {
            cluster,
            table,
            max_n,
            reset_token,
            reset_token_secret,
            guard,
            deadline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use primescaler_core::{DEFAULT_MAX_N, DEFAULT_TABLE};
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<ApiConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ApiConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_only_the_region_is_set() {
        let config = read(&[("AWS_REGION", "eu-west-1")]).unwrap();
        assert_eq!(
            config,
            ApiConfig {
                cluster: ClusterConfig::single("eu-west-1"),
                table: DEFAULT_TABLE.into(),
                max_n: DEFAULT_MAX_N,
                reset_token: None,
                reset_token_secret: None,
                guard: GuardSettings::default(),
                deadline: DEFAULT_DEADLINE,
            }
        );
    }

    #[test]
    fn explicit_values_win() {
        let config = read(&[
            ("AWS_REGION", "us-east-1"),
            ("TABLE_NAME", "t"),
            ("MAX_N", "1000000000000"),
        ])
        .unwrap();
        assert_eq!(
            (config.table.as_str(), config.max_n),
            ("t", 1_000_000_000_000)
        );
    }

    #[test]
    fn a_missing_region_or_bad_limit_is_refused() {
        assert!(read(&[]).is_err());
        assert!(read(&[("AWS_REGION", "us-east-1"), ("MAX_N", "0")]).is_err());
        assert!(read(&[("AWS_REGION", "us-east-1"), ("MAX_N", "ten")]).is_err());
        // Past what the calculator answers within a request's deadline.
        assert!(read(&[("AWS_REGION", "us-east-1"), ("MAX_N", "10000000000001")]).is_err());
        assert!(read(&[("AWS_REGION", "us-east-1"), ("MAX_N", "10000000000000")]).is_ok());
        assert!(read(&[("AWS_REGION", "us-east-1"), ("PRIMARY_FAULT_RATE", "2")]).is_err());
        // A deadline too short for the calculators' budgets.
        assert!(read(&[("AWS_REGION", "us-east-1"), ("REQUEST_DEADLINE_MS", "9000")]).is_err());
        // A write grace that a request's writes, or another instance's clock, could outlast.
        let with_grace = |grace: &'static str| {
            read(&[
                ("AWS_REGION", "us-east-1"),
                ("REQUEST_DEADLINE_MS", "12000"),
                ("WRITE_GRACE_MS", grace),
            ])
        };
        assert!(with_grace("12000").is_err());
        assert!(with_grace("12999").is_err());
        assert!(with_grace("13000").is_ok());
        // The token comes from the environment or from a secret, never both.
        assert!(
            read(&[
                ("AWS_REGION", "us-east-1"),
                ("RESET_TOKEN", "t"),
                (
                    "RESET_TOKEN_SECRET",
                    "arn:aws:secretsmanager:us-east-1:1:secret:t"
                ),
            ])
            .is_err()
        );
    }
}

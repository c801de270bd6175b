//! The function's configuration, read from its environment.

use primescaler_calculator::GuardSettings;
use primescaler_cluster::ClusterConfig;
use primescaler_core::{read_max_n, read_table_name};
use thiserror::Error;

/// A configuration value that cannot be used.
#[derive(Debug, Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

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
    /// token (`RESET_TOKEN`); `None` leaves them open (local tests).
    pub reset_token: Option<String>,
    /// The calculators' budgets and injected faults (`PRIMARY_BUDGET_MS`,
    /// `FALLBACK_BUDGET_MS`, `PRIMARY_FAULT_RATE`, `PRIMARY_FAULT_KIND`).
    pub guard: GuardSettings,
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
        Ok(Self {
            cluster,
            table,
            max_n,
            reset_token,
            guard,
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
                guard: GuardSettings::default(),
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
    }
}

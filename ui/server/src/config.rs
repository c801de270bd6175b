//! The UI function's configuration, read from its environment: the same node settings
//! as the API function's, so that both see the same cluster.

use std::time::Duration;

use primescaler_cluster::ClusterConfig;
use primescaler_core::settings::read_millis;
use primescaler_core::{read_max_n, read_table_name};
use primescaler_dynamo::DEFAULT_GRID_SCAN_SEGMENTS;

/// How long one node's grid scan may take before the node is shown as down.
pub const DEFAULT_SCAN_BUDGET: Duration = Duration::from_secs(3);

/// How long the page waits for a grid read before it is sent without the grid.
pub const DEFAULT_FIRST_PAINT_WAIT: Duration = Duration::from_millis(200);

/// The UI function's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct UiConfig {
    /// The nodes (`NODES`, `NODE_ENDPOINTS`, `LOCAL_NODE`; see [`ClusterConfig`]).
    pub cluster: ClusterConfig,
    /// Every node's table (`TABLE_NAME`).
    pub table: String,
    /// The largest n the API accepts (`MAX_N`), for the page's own validation.
    pub max_n: u64,
    /// One node's grid scan budget (`GRID_SCAN_BUDGET_MS`, default 3 s).
    pub scan_budget: Duration,
    /// Parallel scan segments per node (`GRID_SCAN_SEGMENTS`, 1..=64, default 1).
    pub scan_segments: u16,
    /// How long the page waits for a grid read before it is sent without the grid, to
    /// be filled by the page's first poll (`FIRST_PAINT_WAIT_MS`, default 200 ms).
    pub first_paint_wait: Duration,
    /// A delay before every grid read (`GRID_READ_DELAY_MS`, default none): a fault, to
    /// show and test that the page does not wait on a slow read.
    pub read_delay: Duration,
}

impl UiConfig {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, which answers a variable's value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        Ok(Self {
            cluster: ClusterConfig::from_lookup(&lookup)?,
            table: read_table_name(&lookup),
            max_n: read_max_n(&lookup)?,
            scan_budget: read_millis(&lookup, "GRID_SCAN_BUDGET_MS", DEFAULT_SCAN_BUDGET)?,
            first_paint_wait: read_millis(
                &lookup,
                "FIRST_PAINT_WAIT_MS",
                DEFAULT_FIRST_PAINT_WAIT,
            )?,
            read_delay: read_millis(&lookup, "GRID_READ_DELAY_MS", Duration::ZERO)?,
            scan_segments: match lookup("GRID_SCAN_SEGMENTS") {
                None => DEFAULT_GRID_SCAN_SEGMENTS,
                Some(raw) => raw
                    .trim()
                    .parse()
                    .ok()
                    .filter(|s| (1..=64).contains(s))
                    .ok_or_else(|| {
                        format!(
                            "GRID_SCAN_SEGMENTS must be a whole number from 1 to 64, not {raw:?}"
                        )
                    })?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_same_node_settings_as_the_api() {
        let vars = [
            ("NODES", "us-east-1,eu-west-1"),
            ("LOCAL_NODE", "eu-west-1"),
            ("TABLE_NAME", "grid-table"),
            ("MAX_N", "5000"),
            ("GRID_SCAN_BUDGET_MS", "750"),
            ("GRID_SCAN_SEGMENTS", "4"),
            ("FIRST_PAINT_WAIT_MS", "120"),
            ("GRID_READ_DELAY_MS", "3000"),
        ];
        let config =
            UiConfig::from_lookup(|name| vars.iter().find(|v| v.0 == name).map(|v| v.1.into()))
                .unwrap();
        assert_eq!(config.cluster.names(), vec!["us-east-1", "eu-west-1"]);
        assert_eq!(config.table, "grid-table");
        assert_eq!(config.max_n, 5000);
        assert_eq!(config.scan_budget, Duration::from_millis(750));
        assert_eq!(config.scan_segments, 4);
        assert_eq!(config.first_paint_wait, Duration::from_millis(120));
        assert_eq!(config.read_delay, Duration::from_secs(3));
        assert!(UiConfig::from_lookup(|name| (name == "MAX_N").then(|| "none".into())).is_err());
        assert!(
            UiConfig::from_lookup(|name| (name == "GRID_SCAN_SEGMENTS").then(|| "0".into()))
                .is_err()
        );
    }
}

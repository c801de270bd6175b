//! The cluster's configuration, from one place: the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `NODES` | `AWS_REGION` | the nodes this function can reach, as comma-separated region names |
//! | `MEMBERS` | `NODES` | the ring's nodes until the nodes hold a membership (a change through `PUT /membership` replaces it) |
//! | `LOCAL_NODE` | `AWS_REGION` | the node this function runs beside |
//! | `STRATEGY` | `consistent_hash` | where new records go |
//! | `NODE_ENDPOINTS` | none | `region=url,…`: a DynamoDB endpoint per node (emulators) |
//! | `NODE_TIMEOUT_MS` | `500` | one call's budget beyond a new connection's round trips ([`crate::budget`]) |
//! | `BREAKER_COOLDOWN_MS` | `2000` | how long a failed node is skipped |
//! | `WRITE_GRACE_MS` | `60000` | how long a pointer or hint with nothing behind it may be a write under way |
//! | `MOVE_SETTLE_MS` | `25000` | how long after a membership change the mover waits for requests begun on the old ring |
//! | `REPAIR_RUNS_PER_PASS` | `60` | upkeep runs one anti-entropy pass over a node takes (each reads that share of its records) |

use std::time::Duration;

use primescaler_core::settings::read_millis;

use crate::strategy::Strategy;

/// One node: a region, and where its DynamoDB answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    /// The node's name: its AWS region.
    pub name: String,
    /// An explicit DynamoDB endpoint, for emulators; `None` uses the region's.
    pub endpoint: Option<String>,
}

/// The nodes, the local one, the strategy and the failure budgets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// Every node this function can reach, in configuration order.
    pub nodes: Vec<NodeConfig>,
    /// The ring's nodes until the nodes hold a membership of their own: every node
    /// unless `MEMBERS` names some.
    pub members: Vec<String>,
    /// The index of the local node in `nodes`.
    pub local: usize,
    /// Where new records go.
    pub strategy: Strategy,
    /// The base of a call's budget: what one call to a node may take beyond the round
    /// trips of a new connection ([`crate::budget::CallBudget`]).
    pub node_timeout: Duration,
    /// How long a failed node is skipped before it is probed again.
    pub breaker_cooldown: Duration,
    /// How long a pointer or hint with nothing behind it is taken for a write under way
    /// ([`crate::service::WRITE_GRACE`] unless set; tests of convergence shorten it).
    pub write_grace: Duration,
    /// How long after a membership change the mover waits
    /// ([`crate::service::MOVE_SETTLE`] unless set; tests whose only instance made the
    /// change shorten it).
    pub move_settle: Duration,
    /// How many upkeep runs one repair pass over a node takes
    /// ([`crate::service::REPAIR_RUNS_PER_PASS`] unless set).
    pub repair_runs: u64,
    /// The keys that sign calls to nodes with an explicit endpoint (emulators):
    /// `EMULATOR_ACCESS_KEY_ID` and `EMULATOR_SECRET_ACCESS_KEY`, for an emulator that
    /// enforces IAM; `None` signs with dummy keys.
    pub emulator_keys: Option<(String, String)>,
}

impl ClusterConfig {
    /// One node, `region`, with the default strategy and budgets.
    pub fn single(region: &str) -> Self {
        Self::from_lookup(|name| (name == "AWS_REGION").then(|| region.to_string()))
            .expect("a single region is a valid cluster")
    }

    /// Reads the configuration through `lookup`, which answers a variable's value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let region = lookup("AWS_REGION").or_else(|| lookup("AWS_DEFAULT_REGION"));
        let listed = lookup("NODES")
            .or_else(|| region.clone())
            .ok_or("NODES or AWS_REGION must be set")?;
        let mut nodes: Vec<NodeConfig> = Vec::new();
        for name in listed.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if nodes.iter().any(|n| n.name == name) {
                return Err(format!("NODES names {name} twice"));
            }
            nodes.push(NodeConfig {
                name: name.to_string(),
                endpoint: None,
            });
        }
        if nodes.is_empty() {
            return Err("NODES is empty".into());
        }
        if let Some(endpoints) = lookup("NODE_ENDPOINTS") {
            for pair in endpoints
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                let (name, url) = pair.split_once('=').ok_or_else(|| {
                    format!("NODE_ENDPOINTS entries are region=url, not {pair:?}")
                })?;
                let node = nodes
                    .iter_mut()
                    .find(|n| n.name == name.trim())
                    .ok_or_else(|| format!("NODE_ENDPOINTS names {name}, which is not in NODES"))?;
                node.endpoint = Some(url.trim().to_string());
            }
        }
        let local_name = lookup("LOCAL_NODE")
            .or(region)
            .unwrap_or_else(|| nodes[0].name.clone());
        let local = nodes
            .iter()
            .position(|n| n.name == local_name)
            .ok_or_else(|| format!("the local node {local_name} is not in NODES"))?;
        let members: Vec<String> = match lookup("MEMBERS") {
            None => nodes.iter().map(|n| n.name.clone()).collect(),
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect(),
        };
        if members.is_empty() {
            return Err("MEMBERS is empty".into());
        }
        if let Some(stranger) = members
            .iter()
            .find(|m| !nodes.iter().any(|n| &n.name == *m))
        {
            return Err(format!("MEMBERS names {stranger}, which is not in NODES"));
        }
        let strategy = match lookup("STRATEGY") {
            None => Strategy::default(),
            Some(raw) => raw.trim().parse()?,
        };
        Ok(Self {
            nodes,
            members,
            local,
            strategy,
            node_timeout: read_millis(&lookup, "NODE_TIMEOUT_MS", Duration::from_millis(500))?,
            breaker_cooldown: read_millis(
                &lookup,
                "BREAKER_COOLDOWN_MS",
                Duration::from_millis(2_000),
            )?,
            write_grace: read_millis(&lookup, "WRITE_GRACE_MS", crate::service::WRITE_GRACE)?,
            move_settle: read_millis(&lookup, "MOVE_SETTLE_MS", crate::service::MOVE_SETTLE)?,
            repair_runs: match lookup("REPAIR_RUNS_PER_PASS") {
                None => crate::service::REPAIR_RUNS_PER_PASS,
                Some(raw) => raw
                    .trim()
                    .parse()
                    .ok()
                    .filter(|&runs: &u64| runs >= 1)
                    .ok_or_else(|| {
                        format!("REPAIR_RUNS_PER_PASS is a count of at least 1, not {raw:?}")
                    })?,
            },
            emulator_keys: match (
                lookup("EMULATOR_ACCESS_KEY_ID"),
                lookup("EMULATOR_SECRET_ACCESS_KEY"),
            ) {
                (Some(key), Some(secret)) => Some((key, secret)),
                (None, None) => None,
                _ => {
                    return Err(
                        "EMULATOR_ACCESS_KEY_ID and EMULATOR_SECRET_ACCESS_KEY go together".into(),
                    );
                }
            },
        })
    }

    /// The longest a call's budget can be (the node's round trip unknown, or at its
    /// longest): the store client's own attempt timeout, a backstop that the budget
    /// always ends first.
    pub fn call_ceiling(&self) -> Duration {
        self.node_timeout
            + crate::budget::UNKNOWN_ROUND_TRIP * crate::budget::NEW_CONNECTION_ROUND_TRIPS
    }

    /// The nodes' names, in configuration order.
    pub fn names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<ClusterConfig, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ClusterConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn one_region_is_a_one_node_cluster() {
        let config = read(&[("AWS_REGION", "eu-west-1")]).unwrap();
        assert_eq!(config.names(), vec!["eu-west-1"]);
        assert_eq!(config.local, 0);
        assert_eq!(config.strategy, Strategy::ConsistentHash);
        assert_eq!(config, ClusterConfig::single("eu-west-1"));
    }

    #[test]
    fn nodes_endpoints_local_and_strategy_are_read() {
        let config = read(&[
            ("AWS_REGION", "eu-west-1"),
            ("NODES", "us-east-1, eu-west-1,ap-southeast-2"),
            (
                "NODE_ENDPOINTS",
                "us-east-1=http://127.0.0.1:4566,ap-southeast-2=http://127.0.0.1:4568",
            ),
            ("STRATEGY", "remote_first"),
            ("NODE_TIMEOUT_MS", "250"),
        ])
        .unwrap();
        assert_eq!(
            config.names(),
            vec!["us-east-1", "eu-west-1", "ap-southeast-2"]
        );
        assert_eq!(config.local, 1);
        assert_eq!(
            config.nodes[0].endpoint.as_deref(),
            Some("http://127.0.0.1:4566")
        );
        assert_eq!(config.nodes[1].endpoint, None);
        assert_eq!(config.strategy, Strategy::RemoteFirst);
        assert_eq!(config.node_timeout, Duration::from_millis(250));
        assert_eq!(config.members, config.names());
        let some = read(&[("NODES", "a,b,c"), ("MEMBERS", "c,a")]).unwrap();
        assert_eq!(some.members, vec!["c", "a"]);
    }

    #[test]
    fn inconsistent_settings_are_refused() {
        assert!(read(&[]).is_err());
        assert!(read(&[("NODES", "a,a")]).is_err());
        assert!(read(&[("NODES", "a,b"), ("LOCAL_NODE", "c")]).is_err());
        assert!(read(&[("NODES", "a"), ("NODE_ENDPOINTS", "b=http://x")]).is_err());
        assert!(read(&[("NODES", "a"), ("NODE_ENDPOINTS", "nonsense")]).is_err());
        assert!(read(&[("NODES", "a"), ("STRATEGY", "nearest")]).is_err());
        assert!(read(&[("NODES", "a"), ("BREAKER_COOLDOWN_MS", "0")]).is_err());
        assert!(read(&[("NODES", "a,b"), ("MEMBERS", "c")]).is_err());
        assert!(read(&[("NODES", "a,b"), ("MEMBERS", " ")]).is_err());
    }
}

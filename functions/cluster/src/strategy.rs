//! Where a new record is stored. Reads never depend on the strategy: they start at the
//! home node and go on down the failover order.

use std::str::FromStr;

/// A placement strategy for new records, as the original README lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// On the shard's home node (the default).
    #[default]
    ConsistentHash,
    /// On each node in turn.
    RoundRobin,
    /// On the node this function runs beside.
    LocalFirst,
    /// On the first node of the shard's order that is not the local one.
    RemoteFirst,
}

impl Strategy {
    /// The name used in configuration and responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConsistentHash => "consistent_hash",
            Self::RoundRobin => "round_robin",
            Self::LocalFirst => "local_first",
            Self::RemoteFirst => "remote_first",
        }
    }

    /// The node to store a new record on, among the nodes that are up.
    ///
    /// `order` is the shard's order restricted to up nodes (home first; not empty),
    /// `local` the local node's index, and `turn` a counter that advances per call.
    pub fn target(self, order: &[usize], local: usize, turn: usize) -> usize {
        match self {
            Self::ConsistentHash => order[0],
            Self::RoundRobin => {
                let mut by_index = order.to_vec();
                by_index.sort_unstable();
                by_index[turn % by_index.len()]
            }
            Self::LocalFirst => {
                if order.contains(&local) {
                    local
                } else {
                    order[0]
                }
            }
            Self::RemoteFirst => order
                .iter()
                .copied()
                .find(|&i| i != local)
                .unwrap_or(order[0]),
        }
    }
}

impl FromStr for Strategy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            Self::ConsistentHash,
            Self::RoundRobin,
            Self::LocalFirst,
            Self::RemoteFirst,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| {
            format!(
                "STRATEGY must be consistent_hash, round_robin, local_first or remote_first, not {text:?}"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_strategy_picks_its_node() {
        let order = [2, 0, 1];
        let local = 0;
        assert_eq!(Strategy::ConsistentHash.target(&order, local, 0), 2);
        assert_eq!(Strategy::LocalFirst.target(&order, local, 0), 0);
        assert_eq!(Strategy::RemoteFirst.target(&order, local, 0), 2);
        assert_eq!(Strategy::RemoteFirst.target(&[0, 1], local, 0), 1);
        let turns: Vec<usize> = (0..6)
            .map(|t| Strategy::RoundRobin.target(&order, local, t))
            .collect();
        assert_eq!(turns, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn down_nodes_are_never_picked() {
        // The local node 0 is down: only 1 and 2 are offered.
        assert_eq!(Strategy::LocalFirst.target(&[2, 1], 0, 0), 2);
        assert_eq!(Strategy::RemoteFirst.target(&[0], 0, 0), 0);
    }

    #[test]
    fn names_round_trip() {
        for s in [
            "consistent_hash",
            "round_robin",
            "local_first",
            "remote_first",
        ] {
            assert_eq!(s.parse::<Strategy>().unwrap().as_str(), s);
        }
        assert!("nearest".parse::<Strategy>().is_err());
    }
}

//! PrimeScaler's nodes, free of AWS types.
//!
//! A node is an AWS region with its own table. n → shard ([`primescaler_core::shard_of`])
//! → node on a consistent-hash ring with virtual nodes ([`placement`]); walking on round
//! the ring from a shard gives its failover order. A [`Strategy`] picks where a new
//! record is stored; reads always start at the home node and go on down the order, so a
//! cached n is found whatever the strategy. A [`Breaker`] per node skips nodes that time out or fail, and a
//! [`CallBudget`] per node says how long a call may take, allowing for its distance.
//! [`ClusterService`] holds the get-or-compute rules over all of it, and the upkeep's
//! background passes: hinted handoff (`service::handoff`) and the anti-entropy repair
//! (`service::repair`); [`GridReader`] reads
//! the UI's grid from every node at once; [`what_if`] lays a proposed node set over the
//! grid without changing the cluster. The nodes themselves hold the membership: which
//! configured nodes make up the ring ([`Layout`], `service::members`); a change moves
//! the records whose home changed (`service::mover`).

pub mod breaker;
pub mod budget;
pub mod clock;
pub mod config;
pub mod grid;
pub mod layout;
pub use primescaler_placement::{ring as placement, what_if};
pub mod service;
pub mod strategy;
#[cfg(feature = "testing")]
pub mod testing;

pub use breaker::{Breaker, BreakerState, EarlyProbe};
pub use budget::CallBudget;
pub use config::{ClusterConfig, NodeConfig};
pub use grid::{GridCell, GridRead, GridReader};
pub use layout::Layout;
pub use primescaler_placement::Ring;
pub use service::{
    ClearReport, ClusterCursor, ClusterPage, ClusterService, Node, NodeProbe, NodeReport,
};
pub use strategy::Strategy;

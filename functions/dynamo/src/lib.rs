//! PrimeScaler's DynamoDB adapter.
//!
//! One table per node. An item is one cached nth prime:
//!
//! | attribute        | type | role                                  |
//! |------------------|------|---------------------------------------|
//! | `shard`          | N    | partition key: `shard_of(n)`          |
//! | `n`              | N    | sort key                              |
//! | `prime`          | N    | the nth prime                         |
//! | `calculator`     | S    | which calculator computed it          |
//! | `compute_micros` | N    | how long it took                      |
//! | `computed_at`    | N    | when, in ms since the Unix epoch      |
//!
//! A reset records its time on the node's counters item (`reset.rs`): records computed
//! before it are invisible at once, and swept away in the background. The anti-entropy
//! repair walks every item a bounded slice at a time, from a cursor kept on the same
//! counters item (`walk.rs`). Beside the counters, each node keeps the cluster's
//! membership (`membership.rs`).
//!
//! No type of the AWS SDK crosses this crate's public API except the client itself,
//! which `main` builds once and hands in.

mod attempts;
mod client;
mod item;
mod membership;
mod reset;
mod store;
mod table;
mod walk;

pub use aws_sdk_dynamodb::Client;
pub use client::{ClientSettings, connect};
pub use store::{DEFAULT_GRID_SCAN_SEGMENTS, DynamoStore};
pub use table::{create_table, delete_table};

//! The upkeep function's handler: the cluster's background work, which never runs
//! inside a request.
//!
//! One invocation runs one handoff pass over every node's hints (see
//! `primescaler_cluster::service::handoff`).
//! EventBridge Scheduler invokes it every minute in AWS (template.yaml); `make dev`
//! invokes it every minute too, and `make upkeep` once, on demand.

use primescaler_cluster::service::NodeStore;
use primescaler_core::PrimeCalculator;
use serde_json::{Value, json};

use crate::Deps;

/// Runs one upkeep pass over `deps`' nodes, whatever the event (the schedule's payload
/// names no options), and answers what it did as JSON.
pub async fn upkeep<S, C>(deps: &Deps<S, C>, _event: Value) -> Value
where
    S: NodeStore,
    C: PrimeCalculator + Sync,
{
    let report = deps.service.hand_off().await;
    json!({
        "handed_off": report.handed_off,
        "doubles_removed": report.doubles_removed,
        "pointers_moved": report.pointers_moved,
        "kept": report.kept,
        "unreachable_nodes": report.unreachable,
        "failed_nodes": report.failed,
        "cut_short": report.cut_short,
    })
}

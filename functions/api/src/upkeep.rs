//! The upkeep function's handler: the cluster's background work, which never runs
//! inside a request.
//!
//! One invocation first carries any reset a node missed over to it, and the newest
//! membership to every node, and runs the mover of a membership change under way (see
//! `primescaler_cluster::service::mover`); then one handoff pass over every node's hints
//! (see `primescaler_cluster::service::handoff`); then a slice of the anti-entropy
//! repair's walk over each node (see `primescaler_cluster::service::repair`); then a
//! bounded slice of the sweep of what resets left on each node.
//! EventBridge Scheduler invokes it every minute in AWS (template.yaml); `make dev`
//! invokes it every minute too, and `make upkeep` once, on demand.

use std::time::Instant;

use primescaler_cluster::service::{
    MOVE_BUDGET, MoveReport, NodeStore, REPAIR_BUDGET, RepairReport,
};
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
    let started = Instant::now();
    // Resets first: the mover carries only what the nodes' resets leave visible.
    deps.service.carry_resets().await;
    deps.service.spread_membership().await;
    // Each pass boxed: together they nest this future past the compiler's depth for
    // laying it out.
    let moved = Box::pin(deps.service.move_within(MOVE_BUDGET)).await;
    let handoff = deps
        .service
        .hand_off_within(REPAIR_BUDGET.saturating_sub(started.elapsed()));
    let report = Box::pin(handoff).await;
    // The repair shares handoff's time: what handoff used, it does not get.
    let repair = deps
        .service
        .repair_within(REPAIR_BUDGET.saturating_sub(started.elapsed()));
    let repaired: serde_json::Map<String, Value> = Box::pin(repair)
        .await
        .into_iter()
        .map(|(node, repair)| (node, repair.map_or(Value::Null, repaired)))
        .collect();
    let swept: serde_json::Map<String, Value> = deps
        .service
        .sweep()
        .await
        .into_iter()
        .map(|(node, sweep)| {
            let value = sweep.map_or(
                Value::Null,
                |s| json!({"read": s.read, "removed": s.removed, "done": s.done}),
            );
            (node, value)
        })
        .collect();
    json!({
        "moved": moved.map_or(Value::Null, moved_json),
        "swept": swept,
        "repaired": repaired,
        "handed_off": report.handed_off,
        "doubles_removed": report.doubles_removed,
        "pointers_moved": report.pointers_moved,
        "kept": report.kept,
        "unreachable_nodes": report.unreachable,
        "failed_nodes": report.failed,
        "cut_short": report.cut_short,
    })
}

/// The mover's run, as the upkeep reports it.
fn moved_json(report: MoveReport) -> Value {
    json!({
        "epoch": report.epoch,
        "records": report.moved,
        "pointers": report.pointers_moved,
        "doubles_removed": report.doubles_removed,
        "shards": report.shards,
        "next_shard": report.next_shard,
        "waiting": report.waiting,
    })
}

/// One node's repair slice, as the upkeep reports it.
fn repaired(report: RepairReport) -> Value {
    json!({
        "read": report.read,
        "checked": report.checked,
        "doubles_removed": report.doubles_removed,
        "adopted": report.adopted,
        "dangling_dropped": report.dangling_dropped,
        "straightened": report.straightened,
        "kept": report.kept,
        "wrapped": report.wrapped,
        "cut_short": report.cut_short,
    })
}

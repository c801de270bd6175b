//! Bringing a faulted run to rest, as the upkeep would over time: shared by the
//! simulation and the fault matrix.

use primescaler_core::PrimeCalculator;

use crate::ClusterService;
use std::time::Duration;

use crate::service::{MOVE_BUDGET, NodeStore};

/// As the upkeep: carries missed resets over, finishes a membership change's move, then
/// runs handoff passes until one finds
/// no hint to act on (a hint kept for a write under way, or written again meanwhile,
/// waits for a later pass), eight at most; then repair runs until a whole pass over each
/// node finds nothing to do; then sweeps what resets left.
pub async fn converge<S: NodeStore, C: PrimeCalculator + Sync>(upkeep: &ClusterService<S, C>) {
    upkeep.carry_resets().await;
    finish_move(upkeep).await;
    for _ in 0..8 {
        let pass = upkeep.hand_off().await;
        if pass.handed_off + pass.doubles_removed + pass.kept == 0 {
            break;
        }
    }
    repair_until_quiet(upkeep).await;
    upkeep.sweep().await;
}

/// Mover runs, after the membership is spread to every node, until no change moves
/// records (waiting out the change's settling time); 64 runs at most.
pub async fn finish_move<S: NodeStore, C: PrimeCalculator + Sync>(upkeep: &ClusterService<S, C>) {
    for _ in 0..64 {
        upkeep.spread_membership().await;
        match upkeep.move_within(MOVE_BUDGET).await {
            None => return,
            Some(run) if run.waiting => tokio::time::sleep(Duration::from_secs(1)).await,
            Some(_) => {}
        }
    }
}

/// Repair runs until, on every node, one whole pass of the walk (from one wrap to the
/// next) found nothing to do or keep; 32 runs at most.
pub async fn repair_until_quiet<S: NodeStore, C: PrimeCalculator + Sync>(
    upkeep: &ClusterService<S, C>,
) {
    // Per node: whether the pass under way has been quiet so far (`None`: no pass begun
    // since the last action or miss), and whether one whole pass was.
    let mut quiet_so_far: Vec<Option<bool>> = vec![None; upkeep.nodes().len()];
    let mut settled = vec![false; upkeep.nodes().len()];
    for _ in 0..32 {
        for (i, (_, report)) in upkeep.repair().await.into_iter().enumerate() {
            let Some(report) = report else {
                quiet_so_far[i] = None;
                continue;
            };
            let acted = report.doubles_removed
                + report.adopted
                + report.dangling_dropped
                + report.straightened
                + report.kept
                > 0;
            if acted {
                quiet_so_far[i] = quiet_so_far[i].map(|_| false);
            }
            if report.wrapped {
                settled[i] |= quiet_so_far[i] == Some(true);
                quiet_so_far[i] = Some(true);
            }
        }
        if settled.iter().all(|&s| s) {
            return;
        }
    }
}

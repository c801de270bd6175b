//! Membership changes for the simulation: a node that joins, one that leaves, and a
//! change made while a member is cut off, each racing the requests and the mover.

use std::time::Duration;

use super::Partition;

/// How long the requests of a run with a membership change go on: past the mover's
/// settling time, so that requests race the move itself.
pub const MOVING_SPAN: Duration = Duration::from_secs(40);

/// The change a profile plays: the ring's seed, and the set it changes to, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The ring before the change, as indices into the simulated nodes.
    pub from: Vec<usize>,
    /// The ring after it.
    pub to: Vec<usize>,
    /// When the change is asked for, after the run began.
    pub at: Duration,
}

/// The change `profile` plays over `nodes` simulated nodes (the last of them out of the
/// ring unless it leaves), if any; a member cut off around the change's time is pushed
/// onto `partitions` for "changed while down".
pub fn for_profile(
    profile: &str,
    nodes: usize,
    rng: &mut fastrand::Rng,
    partitions: &mut Vec<Partition>,
) -> Option<Change> {
    let all: Vec<usize> = (0..nodes).collect();
    let three = all[..nodes - 1].to_vec();
    let at = Duration::from_millis(rng.u64(0..2_000));
    let change = match profile {
        "joined" | "changed while down" => Change {
            from: three,
            to: all,
            at,
        },
        "left" => {
            let leaving = rng.usize(0..nodes);
            Change {
                from: all.clone(),
                to: all.into_iter().filter(|&i| i != leaving).collect(),
                at,
            }
        }
        "moved" if rng.bool() => Change {
            from: three,
            to: all,
            at,
        },
        "moved" => Change {
            from: all,
            to: three,
            at,
        },
        _ => return None,
    };
    if profile == "changed while down" {
        // A member other than the first (whose instance asks for the change) is cut off
        // from before the change until after it.
        let from = at.saturating_sub(Duration::from_millis(500));
        partitions.push(Partition {
            node: rng.usize(1..nodes - 1),
            from,
            until: at + Duration::from_millis(rng.u64(1_000..4_000)),
        });
    }
    Some(change)
}

//! A node lost and restored, for the simulation: cut off for a span of time (a
//! [`Partition`]), then back, either empty or as a backup taken before the outage left
//! it, with the records, pointers and hints of that moment and nothing written since.

use std::time::Duration;

use super::{NodeData, Partition, World};

/// What a lost node comes back with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    /// Nothing: its table made again.
    Empty,
    /// A backup taken this long after the world began (before the outage).
    Backup(Duration),
}

/// Plays the loss of `outage.node` during `outage` and its restore at `outage.until`
/// (the world cuts it off meanwhile, as for any partition); answers, once restored, how
/// long after the start it came back.
pub fn start(
    world: &World,
    outage: Partition,
    restored: Restored,
) -> tokio::task::JoinHandle<Duration> {
    let world = world.clone();
    let began = tokio::time::Instant::now();
    tokio::spawn(async move {
        let backup = match restored {
            Restored::Empty => NodeData::default(),
            Restored::Backup(at) => {
                tokio::time::sleep_until(began + at).await;
                world.backup(outage.node)
            }
        };
        tokio::time::sleep_until(began + outage.until).await;
        world.restore(outage.node, backup);
        began.elapsed()
    })
}

/// The loss and restore of a node that the profile plays, if any.
pub fn for_profile(
    profile: &str,
    partitions: &[Partition],
    world: &World,
    rng: &mut fastrand::Rng,
) -> Option<tokio::task::JoinHandle<Duration>> {
    let outage = *partitions.first()?;
    let restored = match profile {
        "restored empty" => Restored::Empty,
        "restored from a backup" => Restored::Backup(Duration::from_millis(
            rng.u64(0..outage.from.as_millis() as u64),
        )),
        _ => return None,
    };
    Some(start(world, outage, restored))
}

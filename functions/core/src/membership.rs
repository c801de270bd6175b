//! The cluster's node set, as the nodes themselves hold it.
//!
//! Every node's table keeps one membership item. The environment only seeds it: once a
//! node holds one, that item says which nodes the ring is made of. A change starts a
//! *transition*: the new set becomes the ring that writes follow, the old one is kept as
//! `previous` so that reads can still find what has not moved yet, and a background
//! mover carries the moving shards' entries over in shard order, keeping its place in
//! `next_shard`. When the mover has passed the last shard, `previous` goes.
//!
//! A newer item replaces an older one only: newer is a later `epoch`, or the same epoch
//! with the mover further on, or, for two changes made at once from the same epoch, the
//! later one (see [`Membership::version`]). So two writers (a change and the mover, or
//! two movers) never set the item back, and two changes that race end as one everywhere
//! once the upkeep has spread the newest.

use std::future::Future;

use crate::record::PrimeRecord;
use crate::shard::{SHARD_COUNT, Shard};
use crate::store::{Epoch, StoreError, StoredEntry};

/// The node set at one epoch, and the transition to it while one is under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Counts the changes: the environment's seed is epoch 0.
    pub epoch: u64,
    /// The nodes of the ring, by name, in the order they were given.
    pub nodes: Vec<String>,
    /// While a transition is under way, the nodes of the ring before it.
    pub previous: Option<Vec<String>>,
    /// The first shard the mover has not finished ([`SHARD_COUNT`] once the move is done).
    pub next_shard: Shard,
    /// Records the mover has carried to their new node in this transition.
    pub moved: u64,
    /// When this epoch began, in ms since the Unix epoch.
    pub changed_at_ms: u64,
}

impl Membership {
    /// The set `nodes` at epoch 0, with nothing to move: what the environment seeds.
    pub fn seed(nodes: Vec<String>) -> Self {
        Self {
            epoch: 0,
            nodes,
            previous: None,
            next_shard: SHARD_COUNT,
            moved: 0,
            changed_at_ms: 0,
        }
    }

    /// The transition from this set to `nodes`, begun at `now_ms`.
    pub fn change_to(&self, nodes: Vec<String>, now_ms: u64) -> Self {
        Self {
            epoch: self.epoch + 1,
            nodes,
            previous: Some(self.nodes.clone()),
            next_shard: 0,
            moved: 0,
            changed_at_ms: now_ms,
        }
    }

    /// Whether a transition is under way.
    pub fn moving(&self) -> bool {
        self.previous.is_some()
    }

    /// What orders two items of the membership: the later epoch, then the mover further
    /// on, then the later change. A node replaces its item only with one of a greater
    /// version.
    pub fn version(&self) -> (u64, Shard, u64) {
        (self.epoch, self.next_shard, self.changed_at_ms)
    }

    /// The same transition with the mover past every shard before `next_shard`, having
    /// moved `moved_now` more records; at [`SHARD_COUNT`] the transition ends.
    pub fn advanced(&self, next_shard: Shard, moved_now: u64) -> Self {
        let done = next_shard >= SHARD_COUNT;
        Self {
            next_shard: next_shard.min(SHARD_COUNT),
            moved: self.moved + moved_now,
            previous: if done { None } else { self.previous.clone() },
            ..self.clone()
        }
    }
}

/// Reads a node's membership item.
pub trait ReadMembership {
    /// The membership the node holds, read consistently (`None`: it holds none yet).
    fn read_membership(
        &self,
    ) -> impl Future<Output = Result<Option<Membership>, StoreError>> + Send;
}

/// Writes a node's membership item.
pub trait WriteMembership {
    /// Stores `membership` unless the node holds one of the same or a greater
    /// [`Membership::version`]; answers whether it was stored.
    fn write_membership(
        &self,
        membership: &Membership,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Reads the entries of shards: what the mover carries.
pub trait ShardEntries {
    /// Every record and pointer the node holds in `shard`, read consistently, each with
    /// the reset epoch it was written under (the caller judges what is visible).
    fn shard_entries(
        &self,
        shard: Shard,
    ) -> impl Future<Output = Result<Vec<(StoredEntry, Epoch)>, StoreError>> + Send;

    /// Every record and pointer the node holds in the shards of `shards`, as
    /// [`Self::shard_entries`], in one pass over the node's table (for a node that must
    /// be emptied whole: cheaper than a read per shard, most of which hold nothing).
    fn range_entries(
        &self,
        shards: std::ops::Range<Shard>,
    ) -> impl Future<Output = Result<Vec<(StoredEntry, Epoch)>, StoreError>> + Send;
}

/// Writes a record where a pointer to it was, in one conditional write: what the mover
/// does when a node that leaves holds a record its arbiter points to, so that a read at
/// the arbiter finds one or the other, never nothing.
pub trait PutRecordOverPointer {
    /// Replaces the entry at `record`'s key, if it is still the pointer to `node` written
    /// at `written_at_ms`, with `record` under `epoch`; answers whether it did.
    fn put_record_over_pointer(
        &self,
        record: &PrimeRecord,
        epoch: Epoch,
        node: &str,
        written_at_ms: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_change_keeps_the_old_set_until_the_mover_passes_the_last_shard() {
        let seed = Membership::seed(names(&["a", "b"]));
        assert!(!seed.moving());
        let change = seed.change_to(names(&["a", "b", "c"]), 5);
        assert!(change.moving());
        assert_eq!(change.previous.as_deref(), Some(&names(&["a", "b"])[..]));
        assert!(change.version() > seed.version());
        let halfway = change.advanced(SHARD_COUNT / 2, 7);
        assert!(halfway.moving() && halfway.version() > change.version());
        let done = halfway.advanced(SHARD_COUNT, 3);
        assert!(!done.moving());
        assert_eq!((done.moved, done.epoch), (10, 1));
        assert!(done.version() > halfway.version());
        // Two changes made at once from one epoch: the later one wins everywhere.
        let rival = seed.change_to(vec!["a".into()], 6);
        assert!(rival.version() > change.version());
    }
}

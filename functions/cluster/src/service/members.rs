//! The membership as an instance sees it: read from the nodes, changed through them.
//!
//! Each node holds the membership item ([`primescaler_core::membership`]). An instance
//! keeps the newest it has read as its [`crate::Layout`]:
//! - beside its requests, every [`MEMBERSHIP_REFRESH`], it reads the item on every node
//!   and keeps the newest version ([`ClusterService::refresh_membership`]);
//! - an instance that has not read it for longer than [`MEMBERSHIP_STALE`] (one just
//!   thawed from a freeze) reads it before its request goes on: on its own node, or on
//!   every node when its own does not answer. (Its own node may have missed a change
//!   while it was down; the upkeep spreads the change to it within the minute.)
//!
//! Until the nodes hold an item, the environment's seed (`MEMBERS`, or every node) is the
//! ring, and the upkeep writes it to them. A change
//! ([`ClusterService::change_membership`]) writes the next epoch to every node that
//! answers; it must land on the local node at least, and the upkeep's spread
//! ([`ClusterService::spread_membership`]) carries it to the nodes that were down.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::future::join_all;
use primescaler_core::{Membership, PrimeCalculator};

use super::{ClusterService, NodeStore};

/// How often an instance reads the membership beside its requests.
pub const MEMBERSHIP_REFRESH: Duration = Duration::from_secs(2);

/// How old an instance's membership may be before a request waits for a fresh read.
pub(super) const MEMBERSHIP_STALE: Duration = Duration::from_secs(10);

/// Why a membership change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipChangeError {
    /// The set names a node this deployment has no client for, is empty, or names one
    /// twice.
    #[error("{0}")]
    Invalid(String),
    /// A transition is under way: one change at a time.
    #[error("a change to epoch {0} is still moving records")]
    Moving(u64),
    /// The set is the current one.
    #[error("the cluster is already made of these nodes")]
    Unchanged,
    /// The local node did not take the change (it is down, or a newer change won).
    #[error("the change did not land: {0}")]
    NotWritten(String),
}

impl<S, C> ClusterService<S, C> {
    /// The same service, its ring seeded with `members` (configured node names) until the
    /// nodes hold a membership: the environment's `MEMBERS`.
    pub fn with_seed_members(self, members: Vec<String>) -> Result<Self, String> {
        let layout = self
            .layout()
            .next(Membership::seed(members), &self.names())?;
        *self.layout.write().expect("layout lock") = Arc::new(layout);
        Ok(self)
    }

    /// Every configured node's name, in configuration order.
    pub fn names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// Takes `membership`, read from the nodes or written to them, for this instance's
    /// layout if it is newer than the one held, or the one held is the environment's seed.
    pub(super) fn adopt(&self, membership: Membership) {
        let mut held = self.layout.write().expect("layout lock");
        if !held.replaced_by(&membership) {
            return;
        }
        match held.next(membership, &self.names()) {
            Ok(layout) => {
                tracing::info!(membership = ?layout.membership(), "membership changed");
                *held = Arc::new(layout.read_from_nodes());
            }
            Err(why) => tracing::error!(%why, "a membership this function cannot lay out"),
        }
    }

    /// Whether the membership is due a read beside the requests (and, if so, marks it
    /// read now, so that one task does it).
    pub fn take_membership_refresh(&self) -> bool {
        let now = crate::clock::now_ms();
        let last = self.refresh_began_ms.load(Ordering::Relaxed);
        now.saturating_sub(last) >= MEMBERSHIP_REFRESH.as_millis() as u64
            && self
                .refresh_began_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

impl<S: NodeStore, C: PrimeCalculator + Sync> ClusterService<S, C> {
    /// Reads the membership on every node that answers and keeps the newest; answers
    /// whether any node answered (only then is the membership fresh).
    pub async fn refresh_membership(&self) -> bool {
        let began = crate::clock::now_ms();
        let read = join_all(
            (0..self.nodes.len()).map(|i| self.guard(i, self.nodes[i].store.read_membership())),
        )
        .await;
        let answered: Vec<Option<Membership>> = read.into_iter().filter_map(Result::ok).collect();
        if answered.is_empty() {
            return false;
        }
        if let Some(newest) = answered
            .into_iter()
            .flatten()
            .max_by_key(Membership::version)
        {
            self.adopt(newest);
        }
        self.layout_read_ms.fetch_max(began, Ordering::Relaxed);
        true
    }

    /// Before a request: when this instance's membership is older than
    /// [`MEMBERSHIP_STALE`], reads the local node's, or, if it does not answer, every
    /// node's. Until one answers, every request tries again.
    pub(super) async fn ensure_fresh_membership(&self) {
        let last = self.layout_read_ms.load(Ordering::Relaxed);
        let began = crate::clock::now_ms();
        if began.saturating_sub(last) < MEMBERSHIP_STALE.as_millis() as u64 {
            return;
        }
        let local = self.local;
        let read = self.nodes[local].store.read_membership();
        match self.guard(local, read).await {
            Ok(held) => {
                if let Some(membership) = held {
                    self.adopt(membership);
                }
                self.layout_read_ms.fetch_max(began, Ordering::Relaxed);
            }
            Err(_) => {
                self.refresh_membership().await;
            }
        }
    }

    /// Starts the transition to `nodes`: the next epoch, written to every node that
    /// answers. Answers the membership written.
    pub async fn change_membership(
        &self,
        nodes: Vec<String>,
    ) -> Result<Membership, MembershipChangeError> {
        self.refresh_membership().await;
        let current = self.layout().membership().clone();
        if current.moving() {
            return Err(MembershipChangeError::Moving(current.epoch));
        }
        let mut asked = nodes.clone();
        let mut held = current.nodes.clone();
        asked.sort_unstable();
        held.sort_unstable();
        if asked == held {
            return Err(MembershipChangeError::Unchanged);
        }
        let next = current.change_to(nodes, crate::clock::now_ms());
        self.layout()
            .next(next.clone(), &self.names())
            .map_err(MembershipChangeError::Invalid)?;
        let written = self.write_everywhere(&next).await;
        if !written[self.local] {
            return Err(MembershipChangeError::NotWritten(format!(
                "the local node {} did not take it",
                self.local_name()
            )));
        }
        self.adopt(next.clone());
        Ok(next)
    }

    /// Writes `membership` to every node that holds an older one (or none); answers, per
    /// node, whether this write stored it.
    pub(super) async fn write_everywhere(&self, membership: &Membership) -> Vec<bool> {
        join_all((0..self.nodes.len()).map(|i| async move {
            let written = self.nodes[i].store.write_membership(membership);
            self.guard(i, written).await.is_ok_and(|stored| stored)
        }))
        .await
    }

    /// The upkeep's part: reads every node's membership and writes the newest to the
    /// nodes that hold an older one (they were down when it changed), or none: the
    /// environment's seed is written once, so that from then on the nodes' item, not a
    /// function's configuration, says what the ring is (a stack updated with another
    /// node list changes no ring). Answers the newest.
    pub async fn spread_membership(&self) -> Membership {
        self.refresh_membership().await;
        let newest = self.layout().membership().clone();
        self.write_everywhere(&newest).await;
        newest
    }
}

//! [`Layout`]: a membership laid over the nodes this function knows.
//!
//! The configuration names every node a function can reach (its store client is built
//! once, in `main`); the membership the nodes hold says which of them make up the ring.
//! A layout maps the ring's nodes to the configured ones, so that an order of a shard
//! is a list of indices into the service's nodes, whatever the membership. During a
//! transition it keeps the previous ring too, for the reads that must still find what
//! has not moved.

use std::sync::{Arc, Mutex};

use primescaler_core::{Membership, Shard};

use crate::placement::Ring;

/// The rings built lately, by their nodes' names: a ring of 4,096 points per node takes
/// a millisecond or more to build, and every layout of a transition, every instance and
/// the simulation's checker ask for the same few.
static RINGS: Mutex<Vec<(Vec<String>, Arc<Ring>)>> = Mutex::new(Vec::new());

/// How many rings [`RINGS`] keeps.
const RINGS_KEPT: usize = 8;

/// The ring over `names`, built once while it is among the last few asked for.
pub fn ring_over(names: &[String]) -> Arc<Ring> {
    let mut kept = RINGS.lock().expect("rings lock");
    if let Some(at) = kept.iter().position(|(held, _)| held == names) {
        let found = kept.remove(at);
        let ring = Arc::clone(&found.1);
        kept.push(found);
        return ring;
    }
    let ring = Arc::new(Ring::new(names));
    if kept.len() == RINGS_KEPT {
        kept.remove(0);
    }
    kept.push((names.to_vec(), Arc::clone(&ring)));
    ring
}

/// One ring over some of the configured nodes.
#[derive(Debug, Clone)]
struct Placed {
    /// Shared by the layouts of one transition, which differ only in the mover's place.
    ring: Arc<Ring>,
    /// The ring's nodes, by name.
    names: Vec<String>,
    /// The configured index of each of the ring's nodes.
    members: Vec<usize>,
}

impl Placed {
    fn over(names: &[String], configured: &[String]) -> Result<Self, String> {
        let members = names
            .iter()
            .map(|name| {
                configured.iter().position(|c| c == name).ok_or_else(|| {
                    format!("the membership names {name}, which this function has no client for")
                })
            })
            .collect::<Result<Vec<usize>, String>>()?;
        if members.is_empty() {
            return Err("the membership has no nodes".into());
        }
        Ok(Self {
            ring: ring_over(names),
            names: names.to_vec(),
            members,
        })
    }

    /// This ring if it is over `names`, else the ring over them.
    fn reuse_or_over(&self, names: &[String], configured: &[String]) -> Result<Self, String> {
        if self.names == names {
            Ok(self.clone())
        } else {
            Self::over(names, configured)
        }
    }

    fn home(&self, shard: Shard) -> usize {
        self.members[self.ring.home(shard)]
    }

    fn order(&self, shard: Shard) -> Vec<usize> {
        self.ring
            .order(shard)
            .into_iter()
            .map(|i| self.members[i])
            .collect()
    }
}

/// A membership, its ring and, during a transition, the ring before it.
#[derive(Debug, Clone)]
pub struct Layout {
    membership: Membership,
    /// Whether the membership was read from the nodes (else it is the environment's
    /// seed, which any item the nodes hold replaces).
    from_nodes: bool,
    current: Placed,
    previous: Option<Placed>,
}

impl Layout {
    /// `membership` over the nodes configured as `configured` (by name, in configuration
    /// order); refused when it names a node that is not configured.
    pub fn new(membership: Membership, configured: &[String]) -> Result<Self, String> {
        let current = Placed::over(&membership.nodes, configured)?;
        let previous = match &membership.previous {
            Some(names) => Some(Placed::over(names, configured)?),
            None => None,
        };
        Ok(Self {
            membership,
            from_nodes: false,
            current,
            previous,
        })
    }

    /// `membership` over the same configured nodes as this layout, reusing its rings where
    /// the node sets are the same (a layout is made again at each step of a move).
    pub fn next(&self, membership: Membership, configured: &[String]) -> Result<Self, String> {
        let current = self.current.reuse_or_over(&membership.nodes, configured)?;
        let previous = match &membership.previous {
            None => None,
            Some(names) => Some(match &self.previous {
                Some(held) => held.reuse_or_over(names, configured)?,
                None => self.current.reuse_or_over(names, configured)?,
            }),
        };
        Ok(Self {
            membership,
            from_nodes: false,
            current,
            previous,
        })
    }

    /// This layout, its membership read from the nodes.
    pub fn read_from_nodes(self) -> Self {
        Self {
            from_nodes: true,
            ..self
        }
    }

    /// Whether `membership`, read from the nodes, is to replace this layout's: it is
    /// newer, or this one is the environment's seed and the nodes hold an item.
    pub fn replaced_by(&self, membership: &Membership) -> bool {
        match membership.version().cmp(&self.membership.version()) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => !self.from_nodes,
            std::cmp::Ordering::Less => false,
        }
    }

    /// The membership laid out.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// The ring of the membership (indices are positions in `membership().nodes`).
    pub fn ring(&self) -> &Ring {
        &self.current.ring
    }

    /// `shard`'s failover order on the ring, as configured node indices: writes follow it.
    pub fn order(&self, shard: Shard) -> Vec<usize> {
        self.current.order(shard)
    }

    /// `shard`'s order before the transition under way, when its first node differs from
    /// the current order's: where a read looks next when the new home has nothing.
    pub fn previous_order(&self, shard: Shard) -> Option<Vec<usize>> {
        self.previous_home(shard)?;
        self.previous.as_ref().map(|p| p.order(shard))
    }

    /// `shard`'s home before the transition under way, when it is not its home now.
    pub fn previous_home(&self, shard: Shard) -> Option<usize> {
        let previous = self.previous.as_ref()?.home(shard);
        (previous != self.current.home(shard)).then_some(previous)
    }

    /// `shard`'s home: the first node of its order.
    pub fn home(&self, shard: Shard) -> usize {
        self.current.home(shard)
    }

    /// The configured nodes of the ring before the transition under way that are not in
    /// the ring now: the nodes the mover empties.
    pub fn leaving(&self) -> impl Iterator<Item = usize> + '_ {
        let members = self.previous.as_ref().map_or(&[][..], |p| &p.members[..]);
        members
            .iter()
            .copied()
            .filter(|i| !self.current.members.contains(i))
    }

    /// Whether configured node `i` is in the ring.
    pub fn is_member(&self, i: usize) -> bool {
        self.current.members.contains(&i)
    }

    /// Whether configured node `i` is in the ring, or in the ring before a transition.
    pub fn involves(&self, i: usize) -> bool {
        self.current.members.contains(&i)
            || self
                .previous
                .as_ref()
                .is_some_and(|p| p.members.contains(&i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use primescaler_core::SHARD_COUNT;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn orders_name_configured_nodes_and_only_the_members() {
        let configured = names(&["a", "b", "c", "d"]);
        let layout = Layout::new(Membership::seed(names(&["d", "b"])), &configured).unwrap();
        for shard in (0..SHARD_COUNT).step_by(97) {
            let mut order = layout.order(shard);
            order.sort_unstable();
            assert_eq!(order, vec![1, 3]);
            assert_eq!(layout.previous_order(shard), None);
        }
        assert!(Layout::new(Membership::seed(names(&["e"])), &configured).is_err());
    }

    #[test]
    fn during_a_transition_only_the_shards_whose_home_changed_look_back() {
        let configured = names(&["a", "b", "c", "d"]);
        let change = Membership::seed(names(&["a", "b", "c"])).change_to(configured.clone(), 1);
        let layout = Layout::new(change, &configured).unwrap();
        let mut looked_back = 0;
        for shard in 0..SHARD_COUNT {
            if let Some(previous) = layout.previous_order(shard) {
                looked_back += 1;
                // Only the new node takes shards over: the old home is another node.
                assert_eq!(layout.order(shard)[0], 3);
                assert_ne!(previous[0], 3);
            }
        }
        // About a quarter of the shards move to the fourth node.
        let share = f64::from(looked_back) / f64::from(SHARD_COUNT);
        assert!((0.2..0.3).contains(&share), "{share}");
    }
}

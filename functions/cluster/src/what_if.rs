//! What a change of the node set would do to the grid, without making it: each cell's
//! home under a proposed set of nodes, how many cells would move home, and, for the
//! lesson, how many would move under naive `hash(n) mod N` placement instead.
//!
//! Adding one node to N moves about 1/(N + 1) of the keys on the ring, all onto the new
//! node; mod-N placement moves about N/(N + 1) of them, nearly all.

use primescaler_core::shard::mix64;
use primescaler_core::{GRID_MAX_N, shard_of};

use crate::placement::Ring;

/// The most nodes a what-if may name.
pub const MAX_WHAT_IF_NODES: usize = 32;

/// A proposed node set, laid over the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatIf {
    /// For each n = 1..=[`GRID_MAX_N`], its home's index in the proposed list.
    pub cells: Vec<u32>,
    /// How many cells' home (by name) differs from the current nodes' placement.
    pub moved: usize,
    /// How many would differ under `hash(n) mod N` placement of both lists.
    pub moved_mod_n: usize,
}

/// n's home under naive placement over `nodes` nodes: `hash(n) mod N`.
pub fn mod_n_home(n: u64, nodes: usize) -> usize {
    (mix64(n) % nodes as u64) as usize
}

/// The grid under `proposed`, against the placement over `current`; nodes are compared
/// by name, so a node that keeps its name keeps its cells.
///
/// # Panics
/// When either list is empty.
pub fn what_if<S: AsRef<str>, T: AsRef<str>>(current: &[S], proposed: &[T]) -> WhatIf {
    let (now, then) = (Ring::new(current), Ring::new(proposed));
    let name_now = |i: usize| current[i].as_ref();
    let name_then = |i: usize| proposed[i].as_ref();
    let mut cells = Vec::with_capacity(GRID_MAX_N as usize);
    let (mut moved, mut moved_mod_n) = (0, 0);
    for n in 1..=GRID_MAX_N {
        let shard = shard_of(n);
        let home = then.home(shard);
        cells.push(home as u32);
        if name_then(home) != name_now(now.home(shard)) {
            moved += 1;
        }
        if name_then(mod_n_home(n, proposed.len())) != name_now(mod_n_home(n, current.len())) {
            moved_mod_n += 1;
        }
    }
    WhatIf {
        cells,
        moved,
        moved_mod_n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const THREE: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

    #[test]
    fn the_current_set_moves_nothing_and_matches_the_placement() {
        let same = what_if(&THREE, &THREE);
        assert_eq!((same.moved, same.moved_mod_n), (0, 0));
        let ring = Ring::new(&THREE);
        for n in 1..=GRID_MAX_N {
            assert_eq!(
                same.cells[(n - 1) as usize] as usize,
                ring.home(shard_of(n))
            );
        }
    }

    #[test]
    fn adding_a_fourth_node_moves_about_a_quarter_where_mod_n_moves_most() {
        let four = [THREE.as_slice(), &["us-west-2"]].concat();
        let added = what_if(&THREE, &four);
        // Ideal 10,000 / 4 = 2,500 onto the ring's new node; mod N moves about 3/4.
        assert!((2_000..=3_000).contains(&added.moved), "{}", added.moved);
        assert!(added.moved_mod_n > 7_000, "{}", added.moved_mod_n);
        assert_eq!(
            added.cells.iter().filter(|&&c| c == 3).count(),
            added.moved,
            "every moved cell goes to the new node"
        );
    }

    #[test]
    fn the_order_of_names_changes_nothing_on_the_ring() {
        let shuffled = ["ap-southeast-2", "us-east-1", "eu-west-1"];
        let again = what_if(&THREE, &shuffled);
        assert_eq!(again.moved, 0);
    }

    proptest! {
        #[test]
        fn adding_a_node_moves_cells_only_onto_it(
            names in proptest::collection::hash_set("[a-z]{2}-[a-z]{4,9}-[0-9]", 1..8),
        ) {
            let names: Vec<String> = names.into_iter().collect();
            let mut grown = names.clone();
            grown.push("zz-newcomer-1".into());
            let before = what_if(&names, &names);
            let after = what_if(&names, &grown);
            let onto_new = after.cells.iter().filter(|&&c| c as usize == names.len()).count();
            prop_assert_eq!(after.moved, onto_new);
            for (i, &cell) in after.cells.iter().enumerate() {
                prop_assert!(cell as usize == names.len() || cell == before.cells[i]);
            }
        }

        #[test]
        fn removing_a_node_moves_only_its_cells(
            names in proptest::collection::hash_set("[a-z]{2}-[a-z]{4,9}-[0-9]", 2..8),
            removed in any::<prop::sample::Index>(),
        ) {
            let names: Vec<String> = names.into_iter().collect();
            let gone = removed.index(names.len());
            let kept: Vec<String> = names.iter().enumerate()
                .filter(|&(i, _)| i != gone).map(|(_, n)| n.clone()).collect();
            let before = what_if(&names, &names);
            let after = what_if(&names, &kept);
            let its_cells = before.cells.iter().filter(|&&c| c as usize == gone).count();
            prop_assert_eq!(after.moved, its_cells);
            for (i, &cell) in after.cells.iter().enumerate() {
                if before.cells[i] as usize != gone {
                    prop_assert_eq!(&kept[cell as usize], &names[before.cells[i] as usize]);
                }
            }
        }
    }
}

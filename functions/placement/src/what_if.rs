//! What a change of the node set would do to the grid, without making it: each cell's
//! home under a proposed set of nodes, how many cells would move home, and, for the
//! lesson, how many would move under naive `hash(n) mod N` placement instead.
//!
//! Adding one node to N moves about 1/(N + 1) of the keys on the ring, all onto the new
//! node; mod-N placement moves about N/(N + 1) of them, nearly all.

use primescaler_core::shard::mix64;
use primescaler_core::{GRID_MAX_N, shard_of};

use crate::ring::Ring;

/// The most nodes a what-if may name.
pub const MAX_WHAT_IF_NODES: usize = 32;

/// Why a proposed node list is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidNodes {
    /// It names no node.
    Empty,
    /// It names more than [`MAX_WHAT_IF_NODES`] nodes (how many it names).
    TooMany(usize),
    /// This name is not shaped like a region name.
    NotARegion(String),
    /// This name comes twice.
    Repeated(String),
}

impl std::fmt::Display for InvalidNodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvalidNodes::Empty => write!(f, "nodes names no node"),
            InvalidNodes::TooMany(count) => {
                write!(f, "nodes names {count} nodes; at most {MAX_WHAT_IF_NODES}")
            }
            InvalidNodes::NotARegion(name) => {
                write!(
                    f,
                    "nodes must be region names such as us-east-1, not {name:?}"
                )
            }
            InvalidNodes::Repeated(name) => write!(f, "nodes names {name} twice"),
        }
    }
}

/// Checks a proposed node list: 1 to [`MAX_WHAT_IF_NODES`] distinct region names. The
/// API (`GET /placement`) and the page's what-if control check by this one rule.
pub fn check_node_names<S: AsRef<str>>(names: &[S]) -> Result<(), InvalidNodes> {
    if names.is_empty() {
        return Err(InvalidNodes::Empty);
    }
    if names.len() > MAX_WHAT_IF_NODES {
        return Err(InvalidNodes::TooMany(names.len()));
    }
    for (i, name) in names.iter().enumerate() {
        let name = name.as_ref();
        if !is_region_name(name) {
            return Err(InvalidNodes::NotARegion(name.to_string()));
        }
        if names[..i].iter().any(|earlier| earlier.as_ref() == name) {
            return Err(InvalidNodes::Repeated(name.to_string()));
        }
    }
    Ok(())
}

/// Whether `name` has the shape of an AWS region name (`us-east-1`, `ap-southeast-2`,
/// `us-gov-west-1`): two to four lowercase words then a number of one or two digits,
/// joined by hyphens, at most 32 characters.
pub fn is_region_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    name.len() <= 32
        && (2..=4).contains(&words.len())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

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
    what_if_on(&Ring::new(current), current, &Ring::new(proposed), proposed)
}

/// [`what_if`], on the rings over `current` (`now`) and `proposed` (`then`) already
/// built: the page keeps both while a what-if is open.
pub fn what_if_on<S: AsRef<str>, T: AsRef<str>>(
    now: &Ring,
    current: &[S],
    then: &Ring,
    proposed: &[T],
) -> WhatIf {
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
    fn node_lists_are_checked_by_one_rule() {
        assert_eq!(check_node_names(&THREE), Ok(()));
        assert_eq!(check_node_names(&["us-gov-west-1"]), Ok(()));
        let none: [&str; 0] = [];
        assert_eq!(check_node_names(&none), Err(InvalidNodes::Empty));
        for bad in [
            "",
            "US-east-1",
            "useast1",
            "us-east-",
            "us--1",
            "us-east-100",
            "a-b-c-d-e-1",
        ] {
            assert_eq!(
                check_node_names(&[bad]),
                Err(InvalidNodes::NotARegion(bad.into())),
                "{bad:?}"
            );
        }
        assert_eq!(
            check_node_names(&["us-east-1", "eu-west-1", "us-east-1"]),
            Err(InvalidNodes::Repeated("us-east-1".into()))
        );
        let many: Vec<String> = (0..33).map(|i| format!("zz-node-{i}")).collect();
        assert_eq!(check_node_names(&many), Err(InvalidNodes::TooMany(33)));
        assert_eq!(check_node_names(&many[..32]), Ok(()));
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

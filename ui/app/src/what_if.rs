//! "What if": add a node or remove one *without* changing the running cluster, and see
//! on the grid every cell whose home would move, and where to. Beside it, how many move,
//! the least any placement could move, and what naive `hash(n) mod N` would move.
//!
//! The overlay comes from [`primescaler_placement::what_if`], the code behind
//! `GET /placement` and the functions' own placement, run here in the browser, and is
//! drawn on the grid's [`Overlay`].

use leptos::prelude::*;
use primescaler_core::GRID_MAX_N;
use primescaler_placement::what_if::{check_node_names, mod_n_home, what_if_on};

use crate::grid::{Grid, GridMode, NODE_STYLES};
use crate::overlay::{Mark, Overlay, node_mark};
use crate::panels::group_digits;
use crate::ring::styles_of;

/// The what-if the page holds, shared through context.
#[derive(Clone, Copy)]
pub struct Proposal {
    /// The proposed node list; `None` while no what-if is open.
    pub nodes: RwSignal<Option<Vec<String>>>,
    /// Whether the grid shows what `hash(n) mod N` would move instead of the ring.
    pub mod_n: RwSignal<bool>,
    /// What the proposed set (the grid's own while none is) would move: read by the
    /// overlay, the counts and the inspector alike, computed once per change, when read.
    pub moves: Memo<Moves>,
}

impl Proposal {
    /// No what-if open, over `grid`'s nodes.
    pub fn new(grid: Grid) -> Self {
        let nodes = RwSignal::new(None::<Vec<String>>);
        let moves = Memo::new(move |_| {
            let current = grid.nodes.get();
            let proposed = nodes.get().unwrap_or_else(|| current.clone());
            Moves::of(&current, &proposed)
        });
        Self {
            nodes,
            mod_n: RwSignal::new(false),
            moves,
        }
    }

    /// The proposed node list, or the grid's while none is proposed.
    pub fn names(&self, grid: Grid) -> Vec<String> {
        self.nodes.get().unwrap_or_else(|| grid.nodes.get())
    }
}

/// What a proposed node list would do to the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moves {
    /// For each n (index n - 1): the index in the proposed list of the node its home
    /// would move to on the ring, or `None` when it stays.
    pub ring: Vec<Option<u32>>,
    /// The same under `hash(n) mod N`, comparing the current and proposed lists.
    pub mod_n: Vec<Option<u32>>,
    /// How many cells move on the ring.
    pub moved: usize,
    /// How many would move under `hash(n) mod N`.
    pub moved_mod_n: usize,
    /// The least any placement must move: the removed nodes' cells, or the added nodes'
    /// even share of the grid, whichever is more.
    pub ideal: usize,
}

impl Moves {
    /// What `proposed` would move, against the placement over `current`.
    pub fn of(current: &[String], proposed: &[String]) -> Self {
        let current_ring = crate::ring::ring_for(current);
        let laid = what_if_on(
            &current_ring,
            current,
            &crate::ring::ring_for(proposed),
            proposed,
        );
        let mut ring = Vec::with_capacity(GRID_MAX_N as usize);
        let mut mod_n = Vec::with_capacity(GRID_MAX_N as usize);
        let mut on_removed = 0;
        for n in 1..=GRID_MAX_N {
            let now = &current[current_ring.home(primescaler_core::shard_of(n))];
            let then = laid.cells[(n - 1) as usize];
            ring.push((proposed[then as usize] != *now).then_some(then));
            let mod_now = &current[mod_n_home(n, current.len())];
            let mod_then = mod_n_home(n, proposed.len());
            mod_n.push((proposed[mod_then] != *mod_now).then_some(mod_then as u32));
            on_removed += usize::from(!proposed.contains(now));
        }
        // The removed nodes' cells must move; the added nodes must take their even share.
        // The same cells can do both (a node swapped for another), hence the larger.
        let added = proposed.iter().filter(|p| !current.contains(p)).count();
        let ideal = on_removed.max(GRID_MAX_N as usize * added / proposed.len());
        Self {
            ring,
            mod_n,
            moved: laid.moved,
            moved_mod_n: laid.moved_mod_n,
            ideal,
        }
    }
}

/// Draws the what-if overlay while the grid is in its what-if mode: each cell that
/// would move, in the colour and shape of the node it would move to.
fn paint_overlay(grid: Grid, proposal: Proposal, overlay: Overlay) {
    Effect::new(move |_| {
        if grid.mode.get() != GridMode::WhatIf {
            return;
        }
        let current = grid.nodes.get();
        let proposed = proposal.nodes.get().unwrap_or_else(|| current.clone());
        let styles = styles_of(&current, &proposed);
        let marks = proposal.moves.with(|moves| {
            let to = if proposal.mod_n.get() {
                &moves.mod_n
            } else {
                &moves.ring
            };
            to.iter()
                .map(|to| to.map_or_else(Mark::default, |to| node_mark(styles[to as usize])))
                .collect()
        });
        overlay.show(marks);
    });
}

/// The what-if control: the proposed node list with a remove button per node, a field to
/// add one, the comparison with `hash mod N`, and the counts.
#[component]
pub fn WhatIfPanel() -> impl IntoView {
    let grid = expect_context::<Grid>();
    let proposal = expect_context::<Proposal>();
    paint_overlay(grid, proposal, expect_context::<Overlay>());
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let listed = move || proposal.nodes.get().unwrap_or_else(|| grid.nodes.get());

    let propose = move |nodes: Vec<String>| match check_node_names(&nodes) {
        Ok(()) => {
            crate::dom::measure_start("what-if-open");
            error.set(None);
            proposal.nodes.set(Some(nodes));
            grid.mode.set(GridMode::WhatIf);
            crate::dom::measure_after_paint("what-if-open");
        }
        Err(why) => error.set(Some(format!("{why}."))),
    };
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut nodes = listed();
        nodes.push(name.get_untracked().trim().to_string());
        propose(nodes);
        if error.get_untracked().is_none() {
            name.set(String::new());
        }
    };
    let close = move |_| {
        proposal.nodes.set(None);
        error.set(None);
        if grid.mode.get_untracked() == GridMode::WhatIf {
            grid.mode.set(GridMode::Nodes);
        }
    };

    let rows = move || {
        let nodes = listed();
        let styles = styles_of(&grid.nodes.get(), &nodes);
        let last = nodes.len() == 1;
        nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let without: Vec<String> = nodes.iter().filter(|n| *n != node).cloned().collect();
                let label = format!("Remove {node}");
                let proposed_only = !grid.nodes.with(|g| g.contains(node));
                view! {
                    <li class="flex items-center gap-2" data-what-if-node=node.clone()>
                        <span class=format!("swatch n{}", styles[i] % NODE_STYLES) aria-hidden="true"></span>
                        <span class="font-medium">{node.clone()}</span>
                        {proposed_only.then(|| view! { <span class="badge-new">"proposed"</span> })}
                        <button type="button" class="button-quiet ml-auto text-sm" aria-label=label
                            disabled=last on:click=move |_| propose(without.clone())>
                            "Remove"
                        </button>
                    </li>
                }
            })
            .collect::<Vec<_>>()
    };
    let figures = move || {
        proposal.nodes.with(Option::is_some).then_some(())?;
        let moves = proposal.moves.get();
        let mod_n = proposal.mod_n.get();
        Some(view! {
            <dl id="what-if-figures" class="facts">
                <dt>"Ring: cells that move"</dt>
                <dd id="what-if-moved" class:font-semibold=!mod_n>{group_digits(moves.moved as u64)}</dd>
                <dt>"The least possible"</dt>
                <dd id="what-if-ideal">{group_digits(moves.ideal as u64)}</dd>
                <dt>"hash(n) mod N would move"</dt>
                <dd id="what-if-moved-mod-n" class:font-semibold=mod_n>{group_digits(moves.moved_mod_n as u64)}</dd>
            </dl>
        })
    };

    view! {
        <section id="what-if" class="panel" aria-labelledby="what-if-title">
            <h2 id="what-if-title" class="panel-title">"What if a node joined or left?"</h2>
            <p class="text-sm text-slate-700">
                "Try a node set here; the cluster itself does not change. The grid marks each cell whose home would move, in the colour of the node it would move to."
            </p>
            <ul id="what-if-nodes" class="flex flex-col gap-1 my-2">{rows}</ul>
            <form class="flex gap-2" on:submit=add novalidate>
                <label for="what-if-name" class="sr-only">"Region name to add"</label>
                <input id="what-if-name" class="field w-full" placeholder="us-west-2" autocomplete="off"
                    aria-describedby="what-if-error"
                    aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                    prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
                <button id="what-if-add" type="submit" class="button">"Add"</button>
            </form>
            <p id="what-if-error" class="error-text" role="alert">{move || error.get().unwrap_or_default()}</p>
            <fieldset class="text-sm flex gap-4" aria-label="Placement to show">
                <label>
                    <input type="radio" name="what-if-by" id="what-if-by-ring"
                        prop:checked=move || !proposal.mod_n.get()
                        on:change=move |_| proposal.mod_n.set(false) />
                    " consistent hashing (ring)"
                </label>
                <label>
                    <input type="radio" name="what-if-by" id="what-if-by-mod-n"
                        prop:checked=move || proposal.mod_n.get()
                        on:change=move |_| proposal.mod_n.set(true) />
                    " hash(n) mod N"
                </label>
            </fieldset>
            <div aria-live="polite">{figures}</div>
            <button id="what-if-close" type="button" class="button-quiet mt-2"
                disabled=move || proposal.nodes.get().is_none() on:click=close>
                "Back to the real cluster"
            </button>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use primescaler_placement::Ring;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn adding_a_node_marks_only_cells_that_go_to_it_and_counts_as_the_api_does() {
        let current = names(&["us-east-1", "eu-west-1", "ap-southeast-2"]);
        let proposed = names(&["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]);
        let moves = Moves::of(&current, &proposed);
        // Against the two rings' homes, built apart from the page's cache.
        let (now, then) = (Ring::new(&current), Ring::new(&proposed));
        for n in 1..=GRID_MAX_N {
            let shard = primescaler_core::shard_of(n);
            let moves_to = (proposed[then.home(shard)] != current[now.home(shard)])
                .then_some(then.home(shard) as u32);
            assert_eq!(moves.ring[(n - 1) as usize], moves_to, "n = {n}");
        }
        assert_eq!(moves.ring.iter().flatten().count(), moves.moved);
        assert!(moves.ring.iter().flatten().all(|&to| to == 3));
        assert_eq!(moves.mod_n.iter().flatten().count(), moves.moved_mod_n);
        assert_eq!(moves.ideal, 2_500);
    }

    #[test]
    fn swapping_a_node_needs_no_more_than_its_cells_to_move() {
        let current = names(&["us-east-1", "eu-west-1", "ap-southeast-2"]);
        let proposed = names(&["us-east-1", "ap-southeast-2", "us-west-2"]);
        let moves = Moves::of(&current, &proposed);
        let ring = crate::ring::ring_for(&current);
        let on_removed = (1..=GRID_MAX_N)
            .filter(|&n| ring.home(primescaler_core::shard_of(n)) == 1)
            .count();
        assert_eq!(moves.ideal, on_removed.max(10_000 / 3));
        assert!(moves.ideal < 4_000, "{}", moves.ideal);
    }

    #[test]
    fn removing_a_node_moves_its_cells_and_the_ideal_is_their_count() {
        let current = names(&["us-east-1", "eu-west-1", "ap-southeast-2"]);
        let proposed = names(&["us-east-1", "ap-southeast-2"]);
        let moves = Moves::of(&current, &proposed);
        let ring = crate::ring::ring_for(&current);
        let on_removed = (1..=GRID_MAX_N)
            .filter(|&n| ring.home(primescaler_core::shard_of(n)) == 1)
            .count();
        assert_eq!(moves.moved, on_removed);
        assert_eq!(moves.ideal, on_removed);
    }
}

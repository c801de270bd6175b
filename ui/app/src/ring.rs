//! The ring view: the placement ring beside the grid, drawn from the very
//! [`primescaler_placement::Ring`] the functions store by.
//!
//! It shows:
//! - each node's arcs round the ring, sampled at [`BINS`] places, in its legend colour;
//! - each node's share of the 65,536 shards against the even share, with its shape;
//! - for the pointed or focused cell, its path: n → shard → its place on the ring → the
//!   first node point clockwise (the home) → the failover order, and the node that holds it;
//! - the ring zoomed in round that place, where the rule "first point clockwise" shows.
//!
//! While a what-if is open it draws the proposed ring instead.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use primescaler_placement::Ring;

use crate::grid::{CellState, Grid, Inspected};
use crate::ring_picture::{CellPath, RingPicture, needle_svg, path_html, ring_svg, shares_html};
use crate::what_if::Proposal;

#[cfg(doc)]
use crate::ring_picture::BINS;

/// How many rings [`ring_for`] keeps: the grid's, and the one proposed.
const RINGS_KEPT: usize = 2;

thread_local! {
    /// The rings built last, by their node names, the newest last: the grid's pointer
    /// moves often, the node sets seldom.
    static RINGS: RefCell<Vec<(Vec<String>, Rc<Ring>)>> = const { RefCell::new(Vec::new()) };
}

/// The ring over `names`, built once while it is among the last [`RINGS_KEPT`] used.
pub fn ring_for(names: &[String]) -> Rc<Ring> {
    RINGS.with(|rings| {
        let mut rings = rings.borrow_mut();
        let ring = match rings.iter().position(|(built_for, _)| built_for == names) {
            Some(i) => rings.remove(i).1,
            None => Rc::new(Ring::new(names)),
        };
        rings.push((names.to_vec(), Rc::clone(&ring)));
        if rings.len() > RINGS_KEPT {
            rings.remove(0);
        }
        ring
    })
}

/// The style index (colour and shape) of each of `names`: a node the grid knows keeps its
/// own, a node only proposed takes the next ones after the grid's.
pub fn styles_of(grid_nodes: &[String], names: &[String]) -> Vec<usize> {
    let mut extra = grid_nodes.len();
    names
        .iter()
        .map(|name| match grid_nodes.iter().position(|g| g == name) {
            Some(i) => i,
            None => {
                extra += 1;
                extra - 1
            }
        })
        .collect()
}

/// The ring view, with its open/close control. Closed, it costs nothing.
#[component]
pub fn RingView() -> impl IntoView {
    let grid = expect_context::<Grid>();
    let proposal = expect_context::<Proposal>();
    let Inspected(inspected) = expect_context::<Inspected>();
    let open = RwSignal::new(false);
    // The ring drawn: the proposed node set while a what-if is open, else the grid's.
    let names = Memo::new(move |_| proposal.names(grid));
    let styles = Memo::new(move |_| styles_of(&grid.nodes.get(), &names.get()));
    let picture = Memo::new(move |_| open.get().then(|| RingPicture::of(&ring_for(&names.get()))));
    let path = Memo::new(move |_| {
        picture.with(Option::is_some).then_some(())?;
        Some(CellPath::of(&ring_for(&names.get()), inspected.get()?))
    });
    let toggle = move |_| {
        crate::dom::measure_start("ring-open");
        open.update(|o| *o = !*o);
        crate::dom::measure_after_paint("ring-open");
    };
    let ring_html = move || {
        picture.with(|p| {
            p.as_ref()
                .map(|p| ring_svg(p, &names.get(), &styles.get()))
                .unwrap_or_default()
        })
    };
    let needle_html = move || path.with(|p| p.as_ref().map(needle_svg).unwrap_or_default());
    let shares = move || {
        picture.with(|p| {
            p.as_ref()
                .map(|p| shares_html(&p.shares, &names.get(), &styles.get()))
                .unwrap_or_default()
        })
    };
    let told = move || {
        grid.track();
        path.with(|p| match p {
            None => "Point at a cell to see its path round the ring.".to_string(),
            Some(path) => {
                let holder = match grid.state(path.n) {
                    Some(CellState::Cached { node, .. }) => Some(grid.node_name(node)),
                    _ => None,
                };
                let proposed = proposal.nodes.with(Option::is_some);
                path_html(
                    path,
                    &names.get(),
                    &styles.get(),
                    holder.as_deref(),
                    proposed,
                )
            }
        })
    };

    view! {
        <section id="ring" class="panel" aria-labelledby="ring-heading">
            <div class="flex items-center justify-between gap-2">
                <h2 id="ring-heading" class="panel-title">"The ring"</h2>
                <button id="ring-toggle" type="button" class="button-quiet" aria-controls="ring-body"
                    aria-expanded=move || if open.get() { "true" } else { "false" } on:click=toggle>
                    {move || if open.get() { "Hide the ring" } else { "Show the ring" }}
                </button>
            </div>
            <p class="text-sm text-slate-700">
                "Every node puts 4,096 points on a ring; each n's shard belongs to the first point clockwise. "
                {move || proposal.nodes.get().is_some().then_some("Showing the what-if node set.")}
            </p>
            <div id="ring-body" class="flex flex-col items-center gap-2" hidden=move || !open.get()>
                <div class="ring-stack">
                    <div inner_html=ring_html></div>
                    <div class="ring-needle-layer" inner_html=needle_html></div>
                </div>
                <ul id="ring-shares" class="flex w-full flex-col gap-1 text-sm" inner_html=shares></ul>
                <div id="ring-path" class="text-sm" inner_html=told></div>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposed_nodes_keep_the_grids_styles_and_new_ones_take_the_next() {
        let grid: Vec<String> = ["us-east-1", "eu-west-1", "ap-southeast-2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let proposed: Vec<String> = ["eu-west-1", "us-west-2", "us-east-1", "sa-east-1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(styles_of(&grid, &proposed), vec![1, 3, 0, 4]);
    }
}

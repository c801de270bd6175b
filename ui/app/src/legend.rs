//! The lines around the grid: the legend of nodes, how the grid keeps up, and the
//! inspected cell.

use leptos::prelude::*;

use primescaler_core::shard_of;

use crate::grid::{Asked, CellState, Grid, GridMode, Inspected, NODE_STYLES};
use crate::what_if::Proposal;

/// What the grid's cells are coloured by: the node that holds them, what a proposed node
/// set would move, or where each answer came from.
#[component]
pub fn GridModePicker() -> impl IntoView {
    let grid = expect_context::<Grid>();
    let option = move |id: &'static str, mode: GridMode, label: &'static str| {
        view! {
            <label class="flex items-center gap-1">
                <input type="radio" name="grid-mode" id=id
                    prop:checked=move || grid.mode.get() == mode
                    on:change=move |_| {
                        crate::dom::measure_start(id);
                        grid.mode.set(mode);
                        crate::dom::measure_after_paint(id);
                    } />
                {label}
            </label>
        }
    };
    view! {
        <fieldset id="grid-mode" class="flex flex-wrap items-center gap-x-4 text-sm">
            <legend class="sr-only">"Colour the cells by"</legend>
            <span class="font-medium">"Colour by:"</span>
            {option("grid-mode-nodes", GridMode::Nodes, "node")}
            {option("grid-mode-what-if", GridMode::WhatIf, "what if")}
            {option("grid-mode-served", GridMode::ServedFrom, "served from")}
        </fieldset>
    }
}

/// The line under the grid that tells the inspected cell's n, prime and node.
#[component]
pub fn Inspector() -> impl IntoView {
    let grid = expect_context::<Grid>();
    let proposal = expect_context::<Proposal>();
    let Inspected(inspected) = expect_context::<Inspected>();
    let text = move || {
        let Some(n) = inspected.get() else {
            return "Point at a cell, or tab into the grid and use the arrow keys.".to_string();
        };
        let state = grid.tracked_state(n);
        let mut text = match state {
            Some(CellState::Cached { prime, node, .. }) => {
                format!("n = {n}: prime {prime}, on node {}", grid.node_name(node))
            }
            Some(CellState::Pending) => format!("n = {n}: working…"),
            _ => format!("n = {n}: not cached. Click or press Enter to compute it."),
        };
        // What the overlay draws for it, in words.
        match grid.mode.get() {
            GridMode::Nodes => {}
            GridMode::WhatIf => {
                let names = proposal.names(grid);
                let mod_n = proposal.mod_n.get();
                let to = proposal.moves.with(|m| {
                    let to = if mod_n { &m.mod_n } else { &m.ring };
                    to.get((n - 1) as usize).copied().flatten()
                });
                text += &match to {
                    Some(to) => format!(" · would move to {}", names[to as usize]),
                    None => " · would stay where it lives".to_string(),
                };
            }
            GridMode::ServedFrom => {
                let names = grid.nodes.get();
                let home = &names[crate::ring::ring_for(&names).home(shard_of(n))];
                if let Some(CellState::Cached {
                    node, by_fallback, ..
                }) = state
                {
                    text += &if grid.node_name(node) == *home {
                        " · at its home".to_string()
                    } else {
                        format!(" · away from its home, {home}")
                    };
                    if by_fallback {
                        text += " · computed by the fallback";
                    }
                }
                text += match grid.with_asked(|a| a.get((n - 1) as usize).copied()) {
                    Some(Asked::Hit) => " · this page: a hit",
                    Some(Asked::Computed) => " · this page: computed",
                    Some(Asked::NotStored) => " · this page: computed, not stored",
                    _ => "",
                };
            }
        }
        text
    };
    view! {
        <p id="inspector" class="text-sm text-slate-700 min-h-5" aria-live="polite">
            {text}
        </p>
    }
}

/// The legend: each node's colour and shape, name, cell count, and whether it is down.
#[component]
pub fn Legend() -> impl IntoView {
    let grid = expect_context::<Grid>();
    let entries = move || {
        let down = grid.down.get();
        let counts = grid.counts.get();
        grid.nodes
            .get()
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let is_down = down.contains(&i);
                let count = counts.get(i).copied().unwrap_or(0);
                let hook = name.clone();
                view! {
                    <li class="flex items-center gap-2" data-legend-node=hook>
                        <span class=format!("swatch n{}", i % NODE_STYLES) aria-hidden="true"></span>
                        <span class="font-medium">{name}</span>
                        <span class="text-slate-600">{count}" cells"</span>
                        {is_down.then(|| view! { <span class="badge-down">"down"</span> })}
                    </li>
                }
            })
            .collect::<Vec<_>>()
    };
    let total = move || grid.counts.get().iter().sum::<usize>();
    view! {
        <div class="flex flex-wrap items-center gap-x-6 gap-y-1 text-sm" aria-label="Nodes legend">
            <p>
                <span id="active-count" class="font-semibold">{total}</span>
                " of 10,000 cached"
            </p>
            <ul class="flex flex-wrap gap-x-4 gap-y-1">{entries}</ul>
        </div>
    }
}

/// How the grid keeps up: live every second while it changes, less often while it stands
/// still. States the current interval, so that a viewer knows how soon a change shows.
#[component]
pub fn LiveStatus() -> impl IntoView {
    let grid = expect_context::<Grid>();
    let actions = expect_context::<crate::actions::Actions>();
    let every = move || actions.poll_every_ms.get();
    let text = move || {
        if grid.unread.get() {
            return "Loading the grid…".to_string();
        }
        let ms = every();
        if ms <= crate::live::ACTIVE_EVERY_MS {
            "Live: checking for changes every second".to_string()
        } else {
            format!("Quiet: checking for changes every {} s", ms.div_ceil(1000))
        }
    };
    view! {
        <p id="live-status" class="text-sm text-slate-700" role="status" data-every-ms=every>{text}</p>
    }
}

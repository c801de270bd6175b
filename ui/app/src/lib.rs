//! PrimeScaler's page: the live 100×100 grid of cached primes, and the controls that
//! compute, evict, reset and scale out.
//!
//! The server renders [`App`] from a scan of every node (feature `ssr`); the browser
//! hydrates the same view (feature `hydrate`) from the [`model::PageState`] embedded in
//! the page, then polls `GET /grid` with the snapshot's ETag ([`live::PollSchedule`]:
//! each second while the grid changes, backing off to every 15 s while it stands still,
//! and every second again after the page's own actions), so that other sessions' changes
//! appear within about a second while the grid is busy, and within the stated interval
//! when it was quiet. The grid's cells are plain server markup that hydration leaves
//! alone; an update paints only the cells that changed.

pub mod actions;
pub mod clear;
pub mod client;
pub mod dom;
pub mod grid;
pub mod grid_view;
pub mod legend;
pub mod live;
pub mod model;
pub mod overlay;
pub mod panels;
pub mod ring;
pub mod ring_picture;
pub mod served;
pub mod tour;
pub mod what_if;

use leptos::prelude::*;

use crate::actions::Actions;
use crate::grid::{Grid, Inspected};
use crate::grid_view::GridView;
use crate::legend::{GridModePicker, Inspector, Legend, LiveStatus};
use crate::model::PageState;
use crate::overlay::Overlay;
use crate::panels::{BulkPanel, ComputeForm, NodePanel, ResultPanel, TokenField};
use crate::ring::RingView;
use crate::served::ServedLegend;
use crate::tour::Tour;
use crate::what_if::{Proposal, WhatIfPanel};

/// The whole page body, from the state it starts with.
#[component]
pub fn App(
    /// The grid and limits the server read.
    initial: PageState,
) -> impl IntoView {
    let grid = Grid::new(&initial.grid);
    let actions = Actions::new(grid, initial.max_n, initial.strategy.clone());
    provide_context(grid);
    provide_context(actions);
    provide_context(Inspected(RwSignal::new(None)));
    provide_context(Proposal::new(grid));
    let tour_step = RwSignal::new(None::<usize>);

    let overlay = Overlay::new();
    provide_context(overlay);
    Effect::new(move |_| {
        dom::mark_hydrated();
        overlay::warm_up(overlay, grid.nodes.get_untracked());
        // The first poll at once: the page may have been sent before its grid was read,
        // or served from a cache.
        actions.poll_now();
    });

    let notice = move || actions.notice.get();
    let down_warning = move || {
        let down = grid.down.get();
        (!down.is_empty()).then(|| {
            let names: Vec<String> = down.iter().map(|&d| grid.node_name(d)).collect();
            view! {
                <p id="down-warning" class="notice-error" role="status">
                    "Not answering: " {names.join(", ")}
                    ". Their cells show as empty; requests fail over to the next node."
                </p>
            }
        })
    };

    view! {
        <header class="flex flex-wrap items-center justify-between gap-4 border-b border-slate-300 px-3 py-3 lg:px-6">
            <div>
                <h1 class="text-xl font-bold">"PrimeScaler"</h1>
                <p class="text-sm text-slate-700">
                    "One serverless invocation per n, placed on nodes by consistent hashing."
                </p>
            </div>
            <div class="flex gap-2">
                <button id="tour-button" type="button" class="button-quiet" on:click=move |_| tour_step.set(Some(0))>
                    "Tour"
                </button>
                <button id="reset-button" type="button" class="button-danger" on:click=move |_| actions.reset()>
                    "Reset system"
                </button>
            </div>
        </header>
        <main class="flex flex-col gap-6 p-3 lg:flex-row lg:p-6">
            <section class="flex flex-col gap-2" aria-labelledby="grid-title">
                <h2 id="grid-title" class="sr-only">"The grid"</h2>
                <GridModePicker />
                <Legend />
                <ServedLegend />
                <LiveStatus />
                <GridView on_toggle=Callback::new(move |n| actions.toggle(n)) />
                <Inspector />
            </section>
            <div class="flex w-full max-w-md flex-col gap-4">
                <div id="notice" role="status" aria-live="polite">
                    {move || notice().map(|n| view! {
                        <p class=if n.is_error { "notice-error" } else { "notice-info" }>{n.text}</p>
                    })}
                    {down_warning}
                </div>
                <Tour step=tour_step />
                <ComputeForm />
                <ResultPanel />
                <BulkPanel />
                <RingView />
                <WhatIfPanel />
                <NodePanel />
                <TokenField />
            </div>
        </main>
    }
}

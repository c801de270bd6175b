//! The grid's element: 10,000 cells of server markup that hydration leaves alone, the
//! handlers that serve them all, and the overlay canvas laid over them.

use leptos::prelude::*;

use crate::grid::{Grid, Inspected};
use crate::model::{GRID_CELLS, GRID_SIDE};

/// The grid of 10,000 cells. One handler per event serves every cell; the arrow keys
/// move a roving focus (only one cell is in the tab order), and Enter or Space acts on
/// the focused cell.
#[component]
pub fn GridView(
    /// Called with n when a cell is clicked or activated from the keyboard.
    on_toggle: Callback<u64>,
) -> impl IntoView {
    let grid = expect_context::<Grid>();
    let actions = expect_context::<crate::actions::Actions>();
    let Inspected(inspected) = expect_context::<Inspected>();
    let overlay = expect_context::<crate::overlay::Overlay>();
    let focused = StoredValue::new(1u64);
    let rove = move |next: u64| {
        let old = focused.get_value();
        focused.set_value(next);
        crate::dom::rove_focus(old, next);
    };

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let n = focused.get_value();
        let column = (n - 1) % GRID_SIDE;
        let next = match ev.key().as_str() {
            "Enter" | " " => {
                ev.prevent_default();
                on_toggle.run(n);
                return;
            }
            "ArrowRight" if n < GRID_CELLS => n + 1,
            "ArrowLeft" if n > 1 => n - 1,
            "ArrowDown" if n + GRID_SIDE <= GRID_CELLS => n + GRID_SIDE,
            "ArrowUp" if n > GRID_SIDE => n - GRID_SIDE,
            "Home" => n - column,
            "End" => n - column + GRID_SIDE - 1,
            "PageDown" => (n + 10 * GRID_SIDE).min(GRID_CELLS),
            "PageUp" => n.saturating_sub(10 * GRID_SIDE).max(1),
            _ => return,
        };
        ev.prevent_default();
        rove(next);
        crate::dom::focus_cell(next);
        inspected.set(Some(next));
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if let Some(n) = crate::dom::event_cell(ev.target()) {
            rove(n);
            crate::dom::focus_cell(n);
            on_toggle.run(n);
        }
    };
    let on_point = move |target: Option<web_sys::EventTarget>| {
        if let Some(n) = crate::dom::event_cell(target) {
            inspected.set(Some(n));
        }
    };
    let on_focus = move |target: Option<web_sys::EventTarget>| {
        if let Some(n) = crate::dom::event_cell(target) {
            inspected.set(Some(n));
        }
    };
    // The browser keeps the server's cells while hydrating, so only the server builds them.
    let cells = if cfg!(feature = "ssr") {
        grid.markup()
    } else {
        String::new()
    };

    view! {
        <div class="grid-stack">
        <div
            id="grid"
            role="grid"
            aria-label="n = 1 to 10,000; a filled cell is cached on the node its colour and shape show"
            aria-describedby="inspector"
            class="grid-board"
            class:bulk=move || actions.progress.get().running
            on:keydown=on_keydown
            on:click=on_click
            on:mouseover=move |ev| on_point(ev.target())
            on:focusin=move |ev| on_focus(ev.target())
            on:focusout=move |_| {
                // The overlay drops the focused cell's outline.
                if grid.mode.get_untracked() != crate::grid::GridMode::Nodes {
                    overlay.refresh();
                }
            }
            inner_html=cells
        ></div>
        <crate::overlay::OverlayCanvas />
        </div>
    }
}

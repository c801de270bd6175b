//! The few browser APIs the page uses directly. These run only in the browser: from
//! event handlers, effects and tasks, never while the server renders.

use std::cell::RefCell;

use wasm_bindgen::JsCast;

/// Where the page keeps the reset token between visits.
const TOKEN_KEY: &str = "primescaler.reset-token";

/// Where this browser remembers that the tour was finished or closed.
const TOUR_KEY: &str = "primescaler.tour-done";

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

/// Milliseconds since the page started loading (`performance.now()`).
pub fn now_ms() -> f64 {
    window().performance().map_or(0.0, |p| p.now())
}

/// A uniformly random whole number in `0..bound`.
pub fn random_below(bound: u64) -> u64 {
    (js_sys::Math::random() * bound as f64) as u64 % bound.max(1)
}

thread_local! {
    /// The grid's cell elements in n order, looked up once.
    static CELLS: RefCell<Vec<web_sys::Element>> = const { RefCell::new(Vec::new()) };
}

/// The grid cell element for `n`.
fn cell(n: u64) -> Option<web_sys::Element> {
    let index = usize::try_from(n.checked_sub(1)?).ok()?;
    CELLS.with(|cells| {
        let mut cells = cells.borrow_mut();
        if cells.is_empty() {
            let found = window()
                .document()?
                .query_selector_all("#grid [data-n]")
                .ok()?;
            *cells = (0..found.length())
                .filter_map(|i| found.item(i)?.dyn_into::<web_sys::Element>().ok())
                .collect();
        }
        cells.get(index).cloned()
    })
}

/// Paints the grid cell for `n`: its classes, and `data-node` (removed when `None`).
pub fn paint_cell(n: u64, class: &str, node: Option<&str>) {
    let Some(cell) = cell(n) else { return };
    cell.set_class_name(class);
    let _ = match node {
        Some(name) => cell.set_attribute("data-node", name),
        None => cell.remove_attribute("data-node"),
    };
}

/// Starts the performance measure `name` (a mark `name-start`).
pub fn measure_start(name: &str) {
    if let Some(performance) = window().performance() {
        let _ = performance.mark(&format!("{name}-start"));
    }
}

/// Ends the performance measure `name` now.
pub fn measure_now(name: &str) {
    if let Some(performance) = window().performance() {
        let _ = performance.measure_with_start_mark(name, &format!("{name}-start"));
    }
}

/// Ends the performance measure `name` once the browser has painted what the current
/// task changed: the measure (`performance.getEntriesByName(name)`) then holds the
/// task, the reactive updates it set off, and the style, layout and paint they cost.
pub fn measure_after_paint(name: &str) {
    let name = name.to_string();
    leptos::prelude::request_animation_frame(move || {
        leptos::prelude::set_timeout(
            move || {
                if let Some(performance) = window().performance() {
                    let _ = performance.measure_with_start_mark(&name, &format!("{name}-start"));
                }
            },
            std::time::Duration::ZERO,
        );
    });
}

/// Moves the grid's one tab stop from the cell for `from` to the cell for `to`.
pub fn rove_focus(from: u64, to: u64) {
    if let Some(old) = cell(from) {
        let _ = old.remove_attribute("tabindex");
    }
    if let Some(new) = cell(to) {
        let _ = new.set_attribute("tabindex", "0");
    }
}

/// Moves the keyboard focus to the grid cell for `n`.
pub fn focus_cell(n: u64) {
    if let Some(cell) = cell(n).and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = cell.focus();
    }
}

/// The n of the grid cell an event happened on (or inside), if any.
pub fn event_cell(target: Option<web_sys::EventTarget>) -> Option<u64> {
    target?
        .dyn_into::<web_sys::Element>()
        .ok()?
        .closest("[data-n]")
        .ok()??
        .get_attribute("data-n")?
        .parse()
        .ok()
}

/// The n of the grid cell that has the keyboard focus, if one has.
pub fn focused_cell() -> Option<u64> {
    let active = window().document()?.active_element()?;
    event_cell(Some(active.into()))
}

/// Asks the person to confirm `question`.
pub fn confirm(question: &str) -> bool {
    window().confirm_with_message(question).unwrap_or(false)
}

/// The reset token saved for this tab's session, or an empty string.
pub fn load_token() -> String {
    window()
        .session_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(TOKEN_KEY).ok().flatten())
        .unwrap_or_default()
}

/// Saves the reset token for this tab's session, gone when the tab closes (an empty
/// token removes it).
pub fn save_token(token: &str) {
    if let Some(storage) = window().session_storage().ok().flatten() {
        let _ = if token.is_empty() {
            storage.remove_item(TOKEN_KEY)
        } else {
            storage.set_item(TOKEN_KEY, token)
        };
    }
}

/// Whether this browser finished or closed the tour before.
pub fn tour_done() -> bool {
    window()
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(TOUR_KEY).ok().flatten())
        .is_some()
}

/// Remembers, in this browser, that the tour was finished or closed.
pub fn remember_tour_done() {
    if let Some(storage) = window().local_storage().ok().flatten() {
        let _ = storage.set_item(TOUR_KEY, "true");
    }
}

/// Sets the attribute `name` of the element with id `id` to `value`, or removes it.
pub fn set_attribute_of(id: &str, name: &str, value: Option<&str>) {
    if let Some(element) = window().document().and_then(|d| d.get_element_by_id(id)) {
        let _ = match value {
            Some(value) => element.set_attribute(name, value),
            None => element.remove_attribute(name),
        };
    }
}

/// Moves the keyboard focus to the element with id `id`, once the current updates are
/// in the page.
pub fn focus_element(id: &str) {
    let id = id.to_string();
    leptos::prelude::request_animation_frame(move || {
        if let Some(element) = window()
            .document()
            .and_then(|d| d.get_element_by_id(&id))
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = element.focus();
        }
    });
}

/// Sets the attribute `name` (to "true") on the page's root element.
pub fn set_attribute_of_root(name: &str) {
    if let Some(root) = window().document().and_then(|d| d.document_element()) {
        let _ = root.set_attribute(name, "true");
    }
}

/// Marks the page interactive: `data-hydrated` on `<html>`, and a `hydrated`
/// performance mark that time-to-interactive measurements read.
pub fn mark_hydrated() {
    if let Some(root) = window().document().and_then(|d| d.document_element()) {
        let _ = root.set_attribute("data-hydrated", "true");
    }
    if let Some(performance) = window().performance() {
        let _ = performance.mark("hydrated");
    }
}

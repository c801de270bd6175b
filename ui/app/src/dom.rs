//! The few browser APIs the page uses directly. These run only in the browser: from
//! event handlers, effects and tasks, never while the server renders.

use wasm_bindgen::JsCast;

/// Where the page keeps the reset token between visits.
const TOKEN_KEY: &str = "primescaler.reset-token";

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

/// Moves the keyboard focus to the grid cell for `n`.
pub fn focus_cell(n: u64) {
    let found = window()
        .document()
        .and_then(|d| {
            d.query_selector(&format!("[data-n=\"{n}\"]"))
                .ok()
                .flatten()
        })
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(cell) = found {
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

/// Asks the person to confirm `question`.
pub fn confirm(question: &str) -> bool {
    window().confirm_with_message(question).unwrap_or(false)
}

/// The reset token saved on this browser, or an empty string.
pub fn load_token() -> String {
    window()
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(TOKEN_KEY).ok().flatten())
        .unwrap_or_default()
}

/// Saves the reset token on this browser (an empty token removes it).
pub fn save_token(token: &str) {
    if let Some(storage) = window().local_storage().ok().flatten() {
        let _ = if token.is_empty() {
            storage.remove_item(TOKEN_KEY)
        } else {
            storage.set_item(TOKEN_KEY, token)
        };
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

//! PrimeScaler's page in the browser: hydrates the server-rendered grid.
//!
//! The server embeds the [`PageState`] it rendered from in `<script id="page-state">`;
//! [`hydrate`] reads it back so that the browser builds exactly the view the server
//! sent, then takes over the `#app` element.

use leptos::prelude::*;
use primescaler_ui_app::App;
use primescaler_ui_app::model::PageState;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::wasm_bindgen;

/// Hydrates `#app` from the embedded page state. The page's module script calls it once
/// the wasm is loaded.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let document = leptos::prelude::document();
    let state: PageState = document
        .get_element_by_id("page-state")
        .and_then(|script| script.text_content())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default();
    let root = document
        .get_element_by_id("app")
        .expect("the page has an #app element")
        .unchecked_into::<web_sys::HtmlElement>();
    leptos::mount::hydrate_from(root, move || view! { <App initial=state /> }).forget();
}

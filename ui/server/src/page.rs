//! The page's HTML shell, its one inline script, and the Content-Security-Policy that
//! lets that script run and nothing else inline.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use leptos::prelude::*;
use primescaler_ui_app::App;
use primescaler_ui_app::model::PageState;
use sha2::{Digest, Sha256};

use crate::AssetVersion;

/// The inline module script that loads the wasm (tried three times: a throttled or cold
/// function may fail one fetch) and hydrates the page.
fn boot_script(version: &AssetVersion) -> String {
    let v = version.as_str();
    format!(
        r#"
import init, {{ hydrate }} from "/pkg/primescaler.js?v={v}";
// A failed fetch of the wasm (a throttled or cold function) is tried twice more.
for (let attempt = 1; ; attempt++) {{
  try {{ await init({{ module_or_path: "/pkg/primescaler_bg.wasm?v={v}" }}); break; }}
  catch (error) {{ if (attempt === 3) throw error; await new Promise((r) => setTimeout(r, 300 * attempt)); }}
}}
hydrate();
"#
    )
}

/// The page's Content-Security-Policy: scripts and wasm from this origin and the one
/// inline boot script (by its SHA-256, so the page stays cacheable, unlike a nonce);
/// styles, fetches and images from this origin (and the `data:` favicon); no frames,
/// plugins, forms elsewhere or `<base>`. A script injected into the page does not run.
pub fn content_security_policy(version: &AssetVersion) -> String {
    let digest = STANDARD.encode(Sha256::digest(boot_script(version).as_bytes()));
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval' 'sha256-{digest}'; \
         style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The page for `state`: the server render of [`App`] inside the HTML shell.
pub fn render_page(state: &PageState, version: &AssetVersion) -> String {
    // Leptos' reactive system spawns its tasks on tokio (an error means it already does).
    let _ = any_spawner::Executor::init_tokio();
    let initial = state.clone();
    let body = Owner::new().with(move || view! { <App initial=initial /> }.to_html());
    let v = version.as_str();
    // Until the page's code is built (a first `make dev` serves the grid before it builds
    // the wasm), the page says so and reloads itself every few seconds.
    let (code_head, notice, boot) = if version.has_page_code() {
        (
            format!(
                r#"<link rel="modulepreload" href="/pkg/primescaler.js?v={v}">
<link rel="preload" href="/pkg/primescaler_bg.wasm?v={v}" as="fetch" type="application/wasm" crossorigin>"#
            ),
            String::new(),
            format!(r#"<script type="module">{}</script>"#, boot_script(version)),
        )
    } else {
        (
            format!(r#"<meta http-equiv="refresh" content="{BUILDING_RELOAD_SECONDS}">"#),
            format!(
                r#"<p id="building" role="status" class="m-2 rounded bg-amber-100 p-2 text-sm">This grid is live, but the page's code is still being built (make dev builds it after the functions): its controls and live updates come when it is ready. The page reloads itself every {BUILDING_RELOAD_SECONDS} seconds until then.</p>"#
            ),
            String::new(),
        )
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PrimeScaler</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/pkg/primescaler.css?v={v}">
{code_head}
</head>
<body class="bg-white text-slate-900">
{notice}
<div id="app">{body}</div>
<script id="page-state" type="application/json">{state}</script>
{boot}
</body>
</html>
"#,
        state = state.to_script_json(),
    )
}

/// How often a page served before its code is built reloads itself.
const BUILDING_RELOAD_SECONDS: u32 = 10;

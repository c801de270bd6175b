//! PrimeScaler's UI function.
//!
//! One axum [`Router`] serves:
//! - `GET /`: the page, server-rendered from a scan of every node, with the state it was
//!   rendered from embedded for hydration;
//! - `GET /grid`: the same scan as JSON, with an ETag, for the page's live updates;
//! - `GET /pkg/{file}`: the page's wasm, JS and CSS, embedded in the binary.
//!
//! The same router runs in Lambda and under `cargo lambda watch` (through
//! `lambda_http`), or as a plain local server on [`UI_PORT`] (`primescaler_serve`).
//! Responses are compressed.

mod assets;
mod config;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::prelude::*;
use primescaler_cluster::GridReader;
use primescaler_core::ScanUpTo;
use primescaler_dynamo::{ClientSettings, DynamoStore, connect};
use primescaler_ui_app::App;
use primescaler_ui_app::model::{CachedCell, GRID_CELLS, GridSnapshot, PageState};
use serde::Deserialize;
use tower_http::compression::CompressionLayer;

pub use assets::{ASSET_FILES, AssetVersion};
pub use config::UiConfig;

/// What every request shares: the grid reader over every node, and the API's limit.
pub struct UiDeps<S> {
    /// Reads the grid from every node.
    pub reader: GridReader<S>,
    /// The largest n the API accepts (for the page's own validation).
    pub max_n: u64,
}

/// The UI's dependencies in Lambda and locally: every node's DynamoDB table.
pub type LiveUiDeps = UiDeps<DynamoStore>;

impl LiveUiDeps {
    /// Connects to every node named by `config`.
    pub async fn connect(config: &UiConfig) -> Self {
        let mut nodes = Vec::with_capacity(config.cluster.nodes.len());
        for node in &config.cluster.nodes {
            let settings = ClientSettings::for_node(&node.name, node.endpoint.as_deref());
            let store = DynamoStore::new(connect(&settings).await, &config.table)
                .with_scan_segments(config.scan_segments);
            nodes.push((node.name.clone(), store));
        }
        Self {
            reader: GridReader::new(nodes, config.scan_budget),
            max_n: config.max_n,
        }
    }
}

impl<S: ScanUpTo + Sync> UiDeps<S> {
    /// Reads the grid from every node.
    pub async fn snapshot(&self) -> GridSnapshot {
        let read = self.reader.read(GRID_CELLS).await;
        let cells = read
            .cells
            .into_iter()
            .map(|c| CachedCell {
                n: c.n,
                prime: c.prime,
                node: c.node,
            })
            .collect();
        GridSnapshot::new(self.reader.names().to_vec(), read.down, cells)
    }
}

/// The router of the UI function over `deps`, with compression.
pub fn router<S: ScanUpTo + Send + Sync + 'static>(deps: Arc<UiDeps<S>>) -> Router {
    Router::new()
        .route("/", get(page::<S>))
        .route("/grid", get(grid::<S>))
        .route("/pkg/{file}", get(asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CompressionLayer::new())
        .with_state(deps)
}

/// The page for `state`: the server render of [`App`] inside the HTML shell.
pub fn render_page(state: &PageState, version: &AssetVersion) -> String {
    // Leptos' reactive system spawns its tasks on tokio (an error means it already does).
    let _ = any_spawner::Executor::init_tokio();
    let initial = state.clone();
    let body = Owner::new().with(move || view! { <App initial=initial /> }.to_html());
    let v = version.as_str();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PrimeScaler</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/pkg/primescaler.css?v={v}">
<link rel="modulepreload" href="/pkg/primescaler.js?v={v}">
<link rel="preload" href="/pkg/primescaler_bg.wasm?v={v}" as="fetch" type="application/wasm" crossorigin>
</head>
<body class="bg-white text-slate-900">
<div id="app">{body}</div>
<script id="page-state" type="application/json">{state}</script>
<script type="module">
import init, {{ hydrate }} from "/pkg/primescaler.js?v={v}";
// A failed fetch of the wasm (a throttled or cold function) is tried twice more.
for (let attempt = 1; ; attempt++) {{
  try {{ await init({{ module_or_path: "/pkg/primescaler_bg.wasm?v={v}" }}); break; }}
  catch (error) {{ if (attempt === 3) throw error; await new Promise((r) => setTimeout(r, 300 * attempt)); }}
}}
hydrate();
</script>
</body>
</html>
"#,
        state = state.to_script_json(),
    )
}

async fn page<S: ScanUpTo + Sync>(State(deps): State<Arc<UiDeps<S>>>) -> Response {
    let state = PageState {
        grid: deps.snapshot().await,
        max_n: deps.max_n,
    };
    let html = render_page(&state, &AssetVersion::current());
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

async fn grid<S: ScanUpTo + Sync>(
    State(deps): State<Arc<UiDeps<S>>>,
    headers: HeaderMap,
) -> Response {
    let snapshot = deps.snapshot().await;
    let etag = HeaderValue::from_str(&snapshot.version).expect("a version is a valid header");
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if headers.get(header::IF_NONE_MATCH) == Some(&etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), cache]).into_response();
    }
    let body = serde_json::to_string(&snapshot).expect("a snapshot serialises");
    (
        [
            (header::ETAG, etag),
            cache,
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        body,
    )
        .into_response()
}

/// The `?v=` of an asset link.
#[derive(Deserialize)]
struct AssetQuery {
    v: Option<String>,
}

async fn asset(Path(file): Path<String>, Query(query): Query<AssetQuery>) -> Response {
    match assets::response(&file, query.v.as_deref()) {
        Some(response) => response,
        None => not_found().await,
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"error":"not_found","message":"no such page"}"#,
    )
        .into_response()
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"error":"method_not_allowed","message":"the page, /grid and /pkg/ answer GET only"}"#,
    )
        .into_response()
}

/// Where the UI listens without the Lambda runtime API: `UI_PORT`, default 3000.
pub const UI_PORT: primescaler_serve::LocalPort = primescaler_serve::LocalPort {
    variable: "UI_PORT",
    default: 3000,
};

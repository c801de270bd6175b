//! PrimeScaler's UI function.
//!
//! One axum [`Router`] serves:
//! - `GET /`: the page, server-rendered from the grid snapshot this instance shares
//!   ([`live::LiveGrid`]), with the state it was rendered from embedded for hydration.
//!   It never waits long for a read: past [`UiConfig::first_paint_wait`] it is sent
//!   with the grid still to come, and the page fetches it;
//! - `GET /grid`: the shared snapshot as JSON, with an ETag, for the page's live
//!   updates, cacheable for a second by any cache on the way;
//! - `GET /pkg/{file}`: the page's wasm, JS and CSS, embedded in the binary.
//!
//! The same router runs in Lambda and under `cargo lambda watch` (through
//! `lambda_http`), or as a plain local server on [`UI_PORT`] (`primescaler_serve`).
//! Responses are compressed.

mod assets;
mod config;
pub mod live;
mod page;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use primescaler_cluster::GridReader;
use primescaler_core::{ReadCounters, ScanGrid};
use primescaler_dynamo::{ClientSettings, DynamoStore, connect};
use primescaler_ui_app::model::{GridSnapshot, PageState};
use serde::Deserialize;
use tower_http::compression::CompressionLayer;

pub use assets::{ASSET_FILES, AssetVersion};
pub use config::UiConfig;
pub use live::LiveGrid;
pub use page::{content_security_policy, render_page};

/// What every request shares: the grid snapshot over every node, and the API's settings
/// that the page shows.
pub struct UiDeps<S> {
    /// The grid, read from every node and shared by every viewer.
    pub grid: LiveGrid<S>,
    /// The largest n the API accepts (for the page's own validation).
    pub max_n: u64,
    /// The placement strategy, for the node panel.
    pub strategy: String,
    /// How long the page waits for a grid read before it is sent without the grid.
    pub first_paint_wait: Duration,
}

/// The UI's dependencies in Lambda and locally: every node's DynamoDB table.
pub type LiveUiDeps = UiDeps<DynamoStore>;

impl LiveUiDeps {
    /// Connects to every node named by `config`.
    pub async fn connect(config: &UiConfig) -> Self {
        let mut nodes = Vec::with_capacity(config.cluster.nodes.len());
        for node in &config.cluster.nodes {
            let settings = ClientSettings::for_node(&node.name, node.endpoint.as_deref())
                .with_emulator_keys(config.cluster.emulator_keys.as_ref());
            let store = DynamoStore::new(connect(&settings).await, &config.table)
                .with_scan_segments(config.scan_segments);
            nodes.push((node.name.clone(), store));
        }
        Self::new(GridReader::new(nodes, config.scan_budget), config)
    }
}

impl<S: ScanGrid + ReadCounters + Sync> UiDeps<S> {
    /// The dependencies over `reader`, with `config`'s settings.
    pub fn new(reader: GridReader<S>, config: &UiConfig) -> Self {
        Self {
            grid: LiveGrid::new(reader, config.read_delay),
            max_n: config.max_n,
            strategy: config.cluster.strategy.as_str().to_string(),
            first_paint_wait: config.first_paint_wait,
        }
    }
}

/// The bounds of a store the UI function reads.
pub trait UiStore: ScanGrid + ReadCounters + Send + Sync + 'static {}

impl<T: ScanGrid + ReadCounters + Send + Sync + 'static> UiStore for T {}

/// The router of the UI function over `deps`, with compression.
pub fn router<S: UiStore>(deps: Arc<UiDeps<S>>) -> Router {
    Router::new()
        .route("/", get(page::<S>))
        .route("/grid", get(grid::<S>))
        .route("/pkg/{file}", get(asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CompressionLayer::new())
        .with_state(deps)
}

/// The snapshot the page is rendered from: the shared one when fresh; else a new read
/// (or the one under way), waited for up to `first_paint_wait`; past that the last
/// snapshot, or none yet.
///
/// A read given up on is dropped with the response, not left running: Lambda freezes
/// the instance once it has answered, and a read thawed minutes later would find every
/// node's budget spent, take the nodes for down and share a snapshot of blank nodes.
/// The page's first poll of `/grid` reads again (what the dropped read had learnt of
/// each node it finished stays).
async fn first_paint_grid<S: UiStore>(deps: &UiDeps<S>) -> Option<Arc<GridSnapshot>> {
    if !deps.grid.is_stale() {
        return deps.grid.latest();
    }
    match tokio::time::timeout(deps.first_paint_wait, deps.grid.current()).await {
        Ok(snapshot) => Some(snapshot),
        Err(_) => deps.grid.latest(),
    }
}

async fn page<S: UiStore>(State(deps): State<Arc<UiDeps<S>>>) -> Response {
    let grid = first_paint_grid(&deps).await;
    // A page without its grid is for this moment only: no cache may keep it.
    let cache = if grid.is_some() {
        "public, max-age=1"
    } else {
        "no-store"
    };
    let state = PageState {
        grid: grid.map_or_else(
            || GridSnapshot::unread(deps.grid.names().to_vec()),
            |g| (*g).clone(),
        ),
        max_n: deps.max_n,
        strategy: deps.strategy.clone(),
    };
    // One reading of the assets for both: the policy must hash the very script the page
    // holds, even while `make ui` rewrites them.
    let version = AssetVersion::current();
    let html = render_page(&state, &version);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CACHE_CONTROL, cache.to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                content_security_policy(&version),
            ),
        ],
        html,
    )
        .into_response()
}

async fn grid<S: UiStore>(State(deps): State<Arc<UiDeps<S>>>, headers: HeaderMap) -> Response {
    let snapshot = deps.grid.current().await;
    let etag = HeaderValue::from_str(&snapshot.version).expect("a version is a valid header");
    // Any cache may answer for a second: every viewer then costs the origin nothing more.
    let cache = (
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=1"),
    );
    if headers.get(header::IF_NONE_MATCH) == Some(&etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), cache]).into_response();
    }
    let body = serde_json::to_string(&*snapshot).expect("a snapshot serialises");
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

async fn asset(
    Path(file): Path<String>,
    Query(query): Query<AssetQuery>,
    headers: HeaderMap,
) -> Response {
    let brotli = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(assets::accepts_brotli);
    match assets::response(&file, query.v.as_deref(), brotli) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use primescaler_core::{GridScan, NodeFigures, StoreError};

    /// A node whose grid takes `SLOW_READ` to read.
    struct SlowNode;

    const SLOW_READ: Duration = Duration::from_millis(600);

    impl ScanGrid for SlowNode {
        async fn scan_grid(&self) -> Result<GridScan, StoreError> {
            tokio::time::sleep(SLOW_READ).await;
            Ok(GridScan::default())
        }
    }

    impl ReadCounters for SlowNode {
        async fn read_counters(&self) -> Result<NodeFigures, StoreError> {
            Ok(NodeFigures {
                grid_version: 1,
                ..NodeFigures::default()
            })
        }
    }

    #[tokio::test]
    async fn a_page_sent_without_its_grid_leaves_no_read_running() {
        // GIVEN a node whose grid is slow to read, and a page that waits 50 ms for it
        let reader = GridReader::new(vec![("a".to_string(), SlowNode)], Duration::from_secs(5));
        let deps = UiDeps {
            grid: LiveGrid::new(reader, Duration::ZERO),
            max_n: 10,
            strategy: "consistent_hash".into(),
            first_paint_wait: Duration::from_millis(50),
        };

        // WHEN the page is rendered
        let snapshot = first_paint_grid(&deps).await;

        // THEN it goes without the grid
        assert!(snapshot.is_none());

        // AND no read finishes after it (in Lambda it would be frozen with the
        // instance, and thaw with every node's budget spent)
        tokio::time::sleep(SLOW_READ + Duration::from_millis(300)).await;
        assert_eq!(deps.grid.reads(), 0);
    }
}

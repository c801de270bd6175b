//! The page's wasm, JS and CSS. Release builds embed them in the binary; debug builds
//! read them from `target/site/pkg` on each request, so that `make ui` refreshes a
//! running `make dev`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

/// The files the page loads.
pub const ASSET_FILES: [&str; 3] = ["primescaler.js", "primescaler_bg.wasm", "primescaler.css"];

/// The built site, as `make ui` leaves it.
#[derive(RustEmbed)]
#[folder = "../../target/site/pkg"]
#[allow_missing = true]
struct Site;

/// A digest of the page's assets: their links carry it as `?v=`, so that a browser may
/// keep them for a year and still never use a stale one. It also says whether the page's
/// code (its JS and wasm) is there: a debug build serves the page before `make ui` has
/// built it (`make dev` starts the functions first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetVersion {
    digest: String,
    page_code: bool,
}

impl AssetVersion {
    /// The version of the assets as they are now.
    pub fn current() -> Self {
        let mut digest = String::new();
        for file in ASSET_FILES {
            if let Some(found) = Site::get(file) {
                digest.extend(
                    found.metadata.sha256_hash()[..4]
                        .iter()
                        .map(|b| format!("{b:02x}")),
                );
            }
        }
        if digest.is_empty() {
            return Self::none();
        }
        Self {
            digest,
            page_code: Site::get("primescaler.js").is_some()
                && Site::get("primescaler_bg.wasm").is_some(),
        }
    }

    /// The version when no asset is built yet (`none`).
    pub fn none() -> Self {
        Self {
            digest: "none".into(),
            page_code: false,
        }
    }

    /// The version as text.
    pub fn as_str(&self) -> &str {
        &self.digest
    }

    /// Whether the page's JS and wasm are built, so that the page can hydrate.
    pub fn has_page_code(&self) -> bool {
        self.page_code
    }
}

fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The answer for `/pkg/{file}?v={version}`, or `None` when there is no such asset.
/// A link with the current version may be cached for a year; any other is revalidated.
pub fn response(file: &str, version: Option<&str>) -> Option<Response> {
    if !ASSET_FILES.contains(&file) {
        return None;
    }
    let found = Site::get(file)?;
    let cache = if version == Some(AssetVersion::current().as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let etag = format!(
        "\"{}\"",
        found.metadata.sha256_hash()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    Some(
        (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(file)),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
                (
                    header::ETAG,
                    HeaderValue::from_str(&etag).expect("hex is a valid header"),
                ),
            ],
            found.data.into_owned(),
        )
            .into_response(),
    )
}

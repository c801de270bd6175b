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

/// Whether an `Accept-Encoding` header accepts Brotli (`br`, with no `q=0`).
pub fn accepts_brotli(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        parts
            .next()
            .is_some_and(|name| name.eq_ignore_ascii_case("br"))
            && parts.all(|param| match param.strip_prefix("q=") {
                Some(weight) => weight.trim().parse::<f32>().is_ok_and(|q| q > 0.0),
                None => true,
            })
    })
}

/// The answer for `/pkg/{file}?v={version}`, or `None` when there is no such asset.
/// A link with the current version may be cached for a year; any other is revalidated.
/// When the browser accepts Brotli and `make ui` left a Brotli copy of this very file
/// (`{file}.{sha}.br`, by infra/precompress.mjs), that copy is sent, already compressed.
pub fn response(file: &str, version: Option<&str>, brotli: bool) -> Option<Response> {
    if !ASSET_FILES.contains(&file) {
        return None;
    }
    let found = Site::get(file)?;
    let sha: String = found.metadata.sha256_hash()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let packed = brotli
        .then(|| Site::get(&format!("{file}.{sha}.br")))
        .flatten();
    let cache = if version == Some(AssetVersion::current().as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let etag = if packed.is_some() {
        format!("\"{sha}-br\"")
    } else {
        format!("\"{sha}\"")
    };
    let mut response = (
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
            (header::VARY, HeaderValue::from_static("accept-encoding")),
        ],
        packed.as_ref().unwrap_or(&found).data.to_vec(),
    )
        .into_response();
    if packed.is_some() {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::accepts_brotli;

    #[test]
    fn brotli_is_accepted_when_named_without_a_zero_weight() {
        assert!(accepts_brotli("gzip, deflate, br, zstd"));
        assert!(accepts_brotli("br;q=0.5, gzip"));
        assert!(!accepts_brotli("gzip, deflate"));
        assert!(!accepts_brotli("br;q=0, gzip"));
        assert!(!accepts_brotli("br;q=0.0"));
        assert!(!accepts_brotli("brotli"));
        assert!(accepts_brotli("GZIP, BR"));
        assert!(!accepts_brotli(""));
    }
}

#!/usr/bin/env bash
# Builds the UI's browser half into target/site/pkg, the steps cargo-leptos would run:
#   1. the hydrate crate for wasm32 (profile wasm-release). A profile without LTO and
#      wasm-opt was tried for make dev: from nothing it built in 111 to 131 s against
#      107 s for this one (the dependencies dominate), so both use this one;
#   2. wasm-bindgen: infra/bindgen (page-bindgen), the library the CLI wraps, pinned to
#      the wasm-bindgen crate's version and built in this workspace. With the CLI
#      installed by `cargo install`, this script took 273 s from nothing; with this,
#      129 to 152 s;
#   3. wasm-opt -Oz (npm binaryen);
#   4. Tailwind CSS (npm tailwindcss), from ui/style/main.css and the class names in ui/app;
#   5. a Brotli copy of each (infra/precompress.mjs, quality 11), which the UI function
#      sends to browsers that accept it: 20% smaller than gzip on the wasm.
# It installs what is missing first: the wasm32 target and ui/node_modules.
# `infra/build-ui.sh css` does step 4 alone (seconds), so that a page served before its
# code is built is styled.
set -euo pipefail
cd "$(dirname "$0")/.."
# The page's code is built as `make dev` builds it, with rustc: not with the clippy-driver
# that `make test` compiles the workspace's crates with (infra/test.sh), unless
# PRIMESCALER_UI_LINT=1 says to keep it. make test sets that beside its wrapper, so that
# its lints (-D warnings) reach the wasm32 crates as `cargo clippy --target
# wasm32-unknown-unknown` would check them, without checking every dependency a second
# time, and so that its smoke step's `make dev` reuses this build.
if [[ "${PRIMESCALER_UI_LINT:-}" != 1 ]]; then
  unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
fi

SITE=target/site/pkg
WASM=target/wasm32-unknown-unknown/wasm-release/primescaler_ui_frontend.wasm

# Written beside, then moved in whole: a running `make dev` may serve it meanwhile.
css() {
  mkdir -p "$SITE"
  (cd ui && node_modules/.bin/tailwindcss --input style/main.css --output "../$SITE/.primescaler.css" --minify 2>/dev/null)
  mv "$SITE/.primescaler.css" "$SITE/primescaler.css"
  node infra/precompress.mjs "$SITE" primescaler.css
}

if [[ ! -f ui/node_modules/.package-lock.json || ui/package-lock.json -nt ui/node_modules/.package-lock.json ]]; then
  echo "build-ui: installing ui/node_modules (Tailwind, binaryen, playwright-core)"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
fi
if [[ "${1:-}" == css ]]; then
  css
  exit 0
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "build-ui: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
# No `-p`: resolved over the workspace, so that `cargo test` reuses this build.
cargo build --quiet --bin page-bindgen
# The frontend turns on the app's `hydrate`: the features `make lint` checks wasm32 with.
cargo build --quiet -p primescaler-ui-frontend --target wasm32-unknown-unknown --profile wasm-release
mkdir -p "$SITE"
# The JS goes last: a debug build of the UI function serves the page's code (and the page
# hydrates) once both are there.
if [[ ! -f "$SITE/primescaler.js" || "$WASM" -nt "$SITE/primescaler_bg.wasm" ]]; then
  staging="target/site/staging"
  rm -rf "$staging" && mkdir -p "$staging"
  target/debug/page-bindgen "$WASM" "$staging" primescaler
  ui/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-reference-types --enable-multivalue --enable-mutable-globals \
    "$staging/primescaler_bg.wasm" -o "$staging/primescaler_bg.wasm"
  rm -f "$SITE/primescaler.js"
  mv "$staging/primescaler_bg.wasm" "$SITE/primescaler_bg.wasm"
  mv "$staging/primescaler.js" "$SITE/primescaler.js"
fi
node infra/precompress.mjs "$SITE" primescaler_bg.wasm primescaler.js
css
echo "build-ui: $(du -b "$SITE/primescaler_bg.wasm" | cut -f1) bytes of wasm, $(du -b "$SITE/primescaler.js" | cut -f1) of JS, $(du -b "$SITE/primescaler.css" | cut -f1) of CSS in $SITE"

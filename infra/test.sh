#!/usr/bin/env bash
# `make test`: every check, ordered so that the workspace is compiled once.
#
#   1. formatting (cargo fmt --check);
#   2. the page's code (infra/build-ui.sh, PRIMESCALER_UI_LINT=1), while the test tools
#      (moto, cfn-lint, the SAM CLI: pip, mostly waiting on the network) install beside
#      it. Its wasm32 crates are compiled with clippy-driver and its lints
#      (-D warnings, the hydrate feature), as in step 3; a separate
#      `cargo clippy --target wasm32-unknown-unknown`
#      checked their dependencies a second time: about a minute. The smoke step's
#      `make dev` reuses this build (the variable stays exported); a `make dev` after
#      `make test` builds the page's crates again, with rustc (step 3 says why);
#   3. cargo test, with clippy's lints inside its build: clippy-driver, the compiler that
#      `cargo clippy` runs, compiles the workspace's own crates with the same lints
#      (-D warnings), for every target `cargo clippy --all-targets` checks. A separate
#      `cargo clippy` checked every dependency a second time: 3 m 24 s from nothing.
#      The tests then run code compiled by clippy-driver: rustc with clippy's lints, MIR
#      optimisations off (LLVM's stay) and `--cfg clippy` (which no code here reads). A
#      `make dev` after `make test` in the same checkout compiles the workspace's own
#      crates again (not their dependencies): the compiler is part of their hash;
#   4. the template checks (cfn-lint, sam validate);
#   5. the smoke test of `make dev` (tests/dev_smoke.sh), whose builds reuse those of
#      steps 2 and 3: the same compiler, and the same features
#      (tests/tests/shared_build.rs).
#
# Each step is announced with the time since the start. `make lint` and `make unit` still
# run clippy and the tests on their own.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
log() {
  local t=$(($(date +%s) - start))
  printf '[test %dm%02ds] %s\n' $((t / 60)) $((t % 60)) "$*"
}

mkdir -p target
log "installing the test tools in the background (moto, cfn-lint, SAM CLI: target/test-tools.log)"
make -s test-tools >target/test-tools.log 2>&1 &
tools=$!
# Not left running if a step before its end fails.
trap 'kill "$tools" 2>/dev/null || true' EXIT

log "formatting (cargo fmt --check)"
cargo fmt --all --check

# From here on, cargo compiles the workspace's crates with clippy-driver (their
# dependencies with plain rustc, as `cargo clippy` does), the page's code
# included (PRIMESCALER_UI_LINT), here and in the smoke step.
RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)" || {
  log "FAIL clippy-driver not found (rustup component add clippy)"
  exit 1
}
export RUSTC_WORKSPACE_WRAPPER
# `cargo clippy -- -D warnings` hands its arguments to clippy-driver the same way.
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

log "the page's code, with clippy's lints (infra/build-ui.sh: about 2 minutes the first time)"
export PRIMESCALER_UI_LINT=1
infra/build-ui.sh

if ! wait "$tools"; then
  cat target/test-tools.log
  log "FAIL installing the test tools"
  exit 1
fi

log "cargo test: the workspace's build with clippy's lints, every target (about 4 minutes the first time)"
cargo test --quiet --all-targets --no-run
# The binaries of the packages without integration tests, built above in test mode only
# (`cargo clippy --all-targets` checks both); their dependencies are built already.
cargo build --quiet --bins
log "cargo test: unit, handler and integration tests"
cargo test

log "the template (cfn-lint, sam validate)"
make -s template

log "smoke test of make dev, with the browser suite (about 4 minutes)"
tests/dev_smoke.sh

log "every check passed"

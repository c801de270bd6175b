#!/usr/bin/env bash
# The UI benchmark: builds the page (make ui), starts the local stack (three emulator
# nodes, dynalite unless EMULATOR says otherwise; the functions in release mode), runs
# tests/src/bin/ui_bench.rs (the grid at scale, first paint, page weight, time to
# interactive and bulk fill in headless Chromium), writes docs/benchmarks.md, and stops
# the stack. `infra/bench-ui.sh soak` runs the memory soak instead; `infra/bench-ui.sh
# twin` (with PROFILE=aws) the page's first paint on the deployed twin, with the
# template's budgets. Loopback only; every loop is bounded.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PORT="${BENCH_PORT:-9520}" EMULATOR_PORT="${BENCH_EMULATOR_PORT:-4720}"
source infra/bench-stack.sh
if [ "${1:-}" = twin ]; then
  [ "${PROFILE:-}" = aws ] || { echo "bench-ui.sh twin runs under PROFILE=aws" >&2; exit 1; }
  # The template's budgets, as deployed: this run measures the twin, not the emulators.
  unset NODE_TIMEOUT_MS REQUEST_DEADLINE_MS GRID_SCAN_BUDGET_MS
fi

infra/build-ui.sh
cargo build -q --release -p primescaler-tests --bin ui_bench
start_bench_stack "$root/target/bench-ui.log"
target/release/ui_bench "$@"

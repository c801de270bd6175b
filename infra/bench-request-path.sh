#!/usr/bin/env bash
# The request-path benchmark: starts the local stack (three emulator nodes, dynalite unless EMULATOR says otherwise, the functions in
# release mode under cargo lambda watch, and the API binary on its own beside it, serving
# plain HTTP), runs tests/src/bin/request_path_bench.rs against it, writes
# docs/benchmarks.md, and stops the stack. Loopback only; every loop is bounded.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PORT="${BENCH_PORT:-9510}" EMULATOR_PORT="${BENCH_EMULATOR_PORT:-4710}"
source infra/bench-stack.sh

cargo build -q --release -p primescaler-tests --bin request_path_bench
start_bench_stack "$root/target/bench-request-path.log"
start_direct_api "$root/target/bench-request-path-api.log"
target/release/request_path_bench

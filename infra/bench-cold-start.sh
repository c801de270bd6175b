#!/usr/bin/env bash
# The cold-start benchmark: builds the API function and a bare hello world in release
# (x86_64 for timing, arm64 through cargo lambda for size), then times their init.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_LC_SYS_NO_JITTER_ENTROPY=1
cargo build --release -p primescaler-api -p primescaler-hello
cargo lambda build --release --arm64 -p primescaler-api -p primescaler-hello
cargo build --release -p primescaler-tests --bin cold_start_bench
target/release/cold_start_bench

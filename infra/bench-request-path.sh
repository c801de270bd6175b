#!/usr/bin/env bash
# The request-path benchmark: starts the local stack (three moto nodes, the functions in
# release mode), runs tests/src/bin/request_path_bench.rs against it, writes
# docs/benchmarks.md, and stops the stack. Loopback only; every loop is bounded.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

export PORT="${BENCH_PORT:-9510}"
export EMULATOR_PORT="${BENCH_EMULATOR_PORT:-4710}"
export WATCH_RELEASE=1
# Under a 64-way fill the emulators answer slowly; the bench measures speed, not failover.
export NODE_TIMEOUT_MS=5000
export RESET_TOKEN="bench-$$"
export WATCH_CONCURRENCY="${WATCH_CONCURRENCY:-8}"
export NODES="us-east-1,eu-west-1,ap-southeast-2"
log="$root/target/bench-request-path.log"
mkdir -p target

cargo build -q --release -p primescaler-tests --bin request_path_bench

setsid infra/dev.sh >"$log" 2>&1 &
dev_pid=$!
trap 'kill -TERM "$dev_pid" 2>/dev/null || true; wait "$dev_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1200); do
  grep -q "PrimeScaler API:" "$log" && break
  kill -0 "$dev_pid" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 1
done
grep -q "PrimeScaler API:" "$log" || { cat "$log"; echo "the stack never became ready"; exit 1; }

BENCH_API="http://127.0.0.1:$PORT" \
  NODE_ENDPOINTS="us-east-1=http://127.0.0.1:$EMULATOR_PORT,eu-west-1=http://127.0.0.1:$((EMULATOR_PORT + 1)),ap-southeast-2=http://127.0.0.1:$((EMULATOR_PORT + 2))" \
  LOCAL_NODE=us-east-1 AWS_REGION=us-east-1 TABLE_NAME=primescaler-primes NODE_TIMEOUT_MS=5000 \
  target/release/request_path_bench

# Sourced by the benchmark scripts: starts the local stack (three moto nodes, the
# functions in release mode under `cargo lambda watch`) in the background, waits until
# it answers, and stops it when the script exits. Sets BENCH_API and the node settings
# that a benchmark binary reads.
#   start_bench_stack LOG   (PORT and EMULATOR_PORT may be set before)

export PORT="${PORT:-9510}"
export EMULATOR_PORT="${EMULATOR_PORT:-4710}"
export WATCH_RELEASE=1
# Under a 64-way fill the emulators answer slowly; the benchmarks measure speed, not failover.
export NODE_TIMEOUT_MS=5000
# moto takes about a second to scan a node's third of a full grid; let it finish.
export GRID_SCAN_BUDGET_MS=20000
export RESET_TOKEN="bench-$$"
export WATCH_CONCURRENCY="${WATCH_CONCURRENCY:-8}"
export NODES="us-east-1,eu-west-1,ap-southeast-2"

start_bench_stack() {
  local log="$1"
  mkdir -p "$(dirname "$log")"
  setsid infra/dev.sh >"$log" 2>&1 &
  bench_stack_pid=$!
  trap 'kill -TERM "$bench_stack_pid" 2>/dev/null || true; wait "$bench_stack_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1200); do
    grep -q "PrimeScaler API:" "$log" && break
    kill -0 "$bench_stack_pid" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 1
  done
  grep -q "PrimeScaler API:" "$log" || { cat "$log"; echo "the stack never became ready"; exit 1; }
  export BENCH_API="http://127.0.0.1:$PORT"
  export NODE_ENDPOINTS="us-east-1=http://127.0.0.1:$EMULATOR_PORT,eu-west-1=http://127.0.0.1:$((EMULATOR_PORT + 1)),ap-southeast-2=http://127.0.0.1:$((EMULATOR_PORT + 2))"
  export LOCAL_NODE=us-east-1 AWS_REGION=us-east-1 TABLE_NAME=primescaler-primes
}

# Sourced by the benchmark scripts: starts the local stack (three emulator nodes, the
# functions in release mode under `cargo lambda watch`) in the background, waits until
# it answers, and stops it when the script exits. Sets BENCH_API and the node settings
# that a benchmark binary reads.
#   start_bench_stack LOG   (PORT and EMULATOR_PORT may be set before)
#   start_direct_api LOG    after it: the API binary on its own, with no Lambda runtime
#                           API, serving plain HTTP on PORT + 2 (sets BENCH_API_DIRECT)

export PORT="${PORT:-9510}"
export EMULATOR_PORT="${EMULATOR_PORT:-4710}"
export WATCH_RELEASE="${WATCH_RELEASE:-1}"
# Under a 64-way fill the emulators answer slowly; the benchmarks measure speed, not failover.
export NODE_TIMEOUT_MS=5000
# A request's deadline must hold the calculators' budgets and a read and a write at that
# node timeout: the API refuses to start otherwise.
export REQUEST_DEADLINE_MS=20000
# moto (EMULATOR=moto) takes about a second to scan a node's third of a full grid; let it finish.
export GRID_SCAN_BUDGET_MS=20000
export RESET_TOKEN="bench-$$"
export WATCH_CONCURRENCY="${WATCH_CONCURRENCY:-8}"
export NODES="us-east-1,eu-west-1,ap-southeast-2"
# Its own logs and pids, so that a `make dev` or smoke test run meanwhile leaves them be.
export DEV_STATE="$PWD/target/bench-dev"

start_bench_stack() {
  local log="$1"
  mkdir -p "$(dirname "$log")"
  setsid infra/dev.sh >"$log" 2>&1 &
  bench_stack_pid=$!
  trap stop_bench_stack EXIT
  for _ in $(seq 1200); do
    grep -q "the page is interactive" "$log" && break
    kill -0 "$bench_stack_pid" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 1
  done
  grep -q "the page is interactive" "$log" || { cat "$log"; echo "the stack never became ready"; exit 1; }
  export BENCH_API="http://127.0.0.1:$PORT"
  export NODE_ENDPOINTS="us-east-1=http://127.0.0.1:$EMULATOR_PORT,eu-west-1=http://127.0.0.1:$((EMULATOR_PORT + 1)),ap-southeast-2=http://127.0.0.1:$((EMULATOR_PORT + 2))"
  export LOCAL_NODE=us-east-1 AWS_REGION=us-east-1 TABLE_NAME=primescaler-primes
}

stop_bench_stack() {
  [ -z "${direct_api_pid:-}" ] || kill -TERM "$direct_api_pid" 2>/dev/null || true
  kill -TERM "$bench_stack_pid" 2>/dev/null || true
  wait "$bench_stack_pid" 2>/dev/null || true
}

start_direct_api() {
  local log="$1" port=$((PORT + 2))
  cargo build -q --release -p primescaler-api --bin api
  API_PORT="$port" target/release/api >"$log" 2>&1 </dev/null &
  direct_api_pid=$!
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break
    kill -0 "$direct_api_pid" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.1
  done
  curl -sf -o /dev/null "http://127.0.0.1:$port/health" || { cat "$log"; echo "the API binary never answered"; exit 1; }
  export BENCH_API_DIRECT="http://127.0.0.1:$port"
}

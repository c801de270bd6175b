#!/usr/bin/env bash
# Runs PrimeScaler locally: a DynamoDB emulator, its tables, and the functions under
# `cargo lambda watch`. Stays in the foreground; Ctrl-C, SIGTERM, or the end of the
# process named by DEV_PARENT_PID (the `make` that started it) stops everything.
#
# Settings (environment):
#   PORT               the API's port (default 9000)
#   EMULATOR           moto (default) or localstack (needs Docker)
#   EMULATOR_HOST      where the emulator listens (default 127.0.0.1; 0.0.0.0 for sam local)
#   EMULATOR_PORT      the emulator's port (default 4566)
#   NODE_REGION        the node's region (default us-east-1)
#   TABLE_NAME         the node's table (default primescaler-primes)
#   MAX_N              the largest n served (default 10^12)
#   WATCH_CONCURRENCY  function instances cargo lambda watch may run at once (default 4)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

PORT="${PORT:-9000}"
EMULATOR="${EMULATOR:-moto}"
EMULATOR_HOST="${EMULATOR_HOST:-127.0.0.1}"
EMULATOR_PORT="${EMULATOR_PORT:-4566}"
NODE_REGION="${NODE_REGION:-us-east-1}"
WATCH_CONCURRENCY="${WATCH_CONCURRENCY:-4}"
LOCALSTACK_IMAGE="localstack/localstack:4.5"
state="$root/target/dev"
mkdir -p "$state"

export AWS_REGION="$NODE_REGION"
export AWS_DEFAULT_REGION="$NODE_REGION"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:${EMULATOR_PORT}"
export TABLE_NAME="${TABLE_NAME:-primescaler-primes}"
export MAX_N="${MAX_N:-1000000000000}"
export NODES="$NODE_REGION"
export PATH="$root/.venv/bin:$PATH"

groups=()
container=""
stopping=0

log() { printf '[dev] %s\n' "$*" >&2; }

cleanup() {
  [ "$stopping" = 1 ] && return
  stopping=1
  log "stopping"
  for pgid in "${groups[@]}"; do
    kill -TERM -- "-$pgid" 2>/dev/null || true
  done
  [ -n "$container" ] && docker rm -f "$container" >/dev/null 2>&1 || true
  for _ in $(seq 50); do
    alive=0
    for pgid in "${groups[@]}"; do
      kill -0 -- "-$pgid" 2>/dev/null && alive=1
    done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pgid in "${groups[@]}"; do
    kill -KILL -- "-$pgid" 2>/dev/null || true
  done
  log "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts "$@" in a process group of its own, logging to target/dev/$name.log.
start_group() {
  local name="$1"
  shift
  setsid "$@" >"$state/$name.log" 2>&1 </dev/null &
  groups+=("$!")
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local what="$1" seconds="$2"
  shift 2
  for _ in $(seq $((seconds * 10))); do
    "$@" && return 0
    for pgid in "${groups[@]}"; do
      kill -0 -- "-$pgid" 2>/dev/null || { log "$what exited; see target/dev/*.log"; return 1; }
    done
    sleep 0.1
  done
  log "$what did not come up within ${seconds}s; see target/dev/*.log"
  return 1
}

for port in "$PORT" "$EMULATOR_PORT"; do
  if port_busy "$port"; then
    log "port $port is already in use: stop what holds it, or set PORT / EMULATOR_PORT"
    exit 1
  fi
done

case "$EMULATOR" in
  moto)
    command -v moto_server >/dev/null || { log "moto_server is missing: run 'make tools'"; exit 1; }
    start_group emulator moto_server -H "$EMULATOR_HOST" -p "$EMULATOR_PORT"
    ;;
  localstack)
    container="primescaler-dev-$$"
    docker run -d --rm --name "$container" -p "$EMULATOR_PORT:4566" \
      -e SERVICES=dynamodb "$LOCALSTACK_IMAGE" >/dev/null
    ;;
  *)
    log "EMULATOR must be moto or localstack, not $EMULATOR"
    exit 1
    ;;
esac
wait_for "the emulator" 60 port_busy "$EMULATOR_PORT"
log "emulator ($EMULATOR) at $AWS_ENDPOINT_URL_DYNAMODB"

cargo run -q -p primescaler-bootstrap --bin create-tables

start_group functions cargo lambda watch --invoke-port "$PORT" --concurrency "$WATCH_CONCURRENCY"
log "building the functions (the first build takes a few minutes)"
wait_for "cargo lambda watch" 900 curl -sf -o /dev/null "http://127.0.0.1:$PORT/health"

log "PrimeScaler is running"
echo "PrimeScaler API: http://localhost:$PORT/  (try http://localhost:$PORT/primes/100)"

parent="${DEV_PARENT_PID:-}"
while true; do
  for pgid in "${groups[@]}"; do
    kill -0 -- "-$pgid" 2>/dev/null || { log "a service exited; see target/dev/*.log"; exit 1; }
  done
  if [ -n "$parent" ] && ! kill -0 "$parent" 2>/dev/null; then
    exit 0
  fi
  sleep 1
done

#!/usr/bin/env bash
# Runs PrimeScaler locally: one DynamoDB emulator per node (region), their tables, and
# the functions (API, UI and upkeep) under `cargo lambda watch`, on one port, and the upkeep run every minute. Any node's emulator can be stopped (and
# started again) while it runs, to watch failover. Stays in the foreground; Ctrl-C, SIGTERM, or the end of the
# process named by DEV_PARENT_PID (the `make` that started it) stops everything.
#
# Settings (environment):
#   PROFILE            local (default): every node on loopback, under a millisecond away;
#                      aws: the deployed twin (docs/twin.md): each node behind a relay at
#                      the round trip between LOCAL_NODE's region and its own, with the
#                      template's default budgets
#   PORT               the API's port (default 9000)
#   EMULATOR           dynalite (default), moto, or localstack (needs Docker)
#   EMULATOR_HOST      where the emulators listen (default 127.0.0.1; 0.0.0.0 for sam local)
#   EMULATOR_PORT      the first node's emulator port; the next nodes take the next ports (default 4566)
#   NODES              the nodes of the ring, as regions (default us-east-1,eu-west-1,ap-southeast-2)
#   SPARE_NODES        more nodes, started but outside the ring until `make node-add NODE=…`
#                      (default none; each takes the next emulator port after NODES')
#   LOCAL_NODE         the node the functions run beside (default: the first)
#   STRATEGY           consistent_hash (default), round_robin, local_first or remote_first
#   TABLE_NAME         every node's table (default primescaler-primes)
#   MAX_N              the largest n served (default 10^12)
#   GRID_SCAN_BUDGET_MS  the UI's time budget for one node's grid scan (default 10000)
#   WATCH_CONCURRENCY  function instances cargo lambda watch may run at once (default 4)
#   WATCH_RELEASE      1: build the functions in release mode (for benchmarks)
#   DEV_STATE          where logs and pids go (default target/dev)
#   RESET_TOKEN        the bearer token DELETE /cache and DELETE /primes/{n} need
#                      (default: a fresh development token, printed at start)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

PORT="${PORT:-9000}"
EMULATOR="${EMULATOR:-dynalite}"
EMULATOR_HOST="${EMULATOR_HOST:-127.0.0.1}"
EMULATOR_PORT="${EMULATOR_PORT:-4566}"
ring_nodes="${NODES:-us-east-1,eu-west-1,ap-southeast-2}"
# The ring's nodes seed the membership (MEMBERS); the functions have a client for the
# spares too (NODES), so that a membership change can add them.
export MEMBERS="$ring_nodes"
export NODES="$ring_nodes${SPARE_NODES:+,$SPARE_NODES}"
IFS=',' read -r -a node_list <<<"$NODES"
export LOCAL_NODE="${LOCAL_NODE:-${node_list[0]}}"
export STRATEGY="${STRATEGY:-consistent_hash}"
PROFILE="${PROFILE:-local}"
case "$PROFILE" in
  # An emulator under load answers more slowly than DynamoDB: a base budget of 1 s.
  local) export NODE_TIMEOUT_MS="${NODE_TIMEOUT_MS:-1000}" ;;
  # The template's defaults (NodeTimeoutMs, BreakerCooldownMs).
  aws)
    export NODE_TIMEOUT_MS="${NODE_TIMEOUT_MS:-500}"
    export BREAKER_COOLDOWN_MS="${BREAKER_COOLDOWN_MS:-2000}"
    ;;
  *) echo "PROFILE must be local or aws, not $PROFILE" >&2; exit 1 ;;
esac
# Where the twin's function processes get their cgroups (infra/twin-run.sh).
TWIN_CGROUP="primescaler-twin-$$"
# An emulator scans more slowly than DynamoDB (moto: about a second for a third of a full
# grid, more under load), so the UI gives each node longer locally than the 3 s it gives
# a DynamoDB table.
export GRID_SCAN_BUDGET_MS="${GRID_SCAN_BUDGET_MS:-10000}"
export RESET_TOKEN="${RESET_TOKEN:-dev-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}"
WATCH_CONCURRENCY="${WATCH_CONCURRENCY:-4}"
# The integration tests' LocalStack runs the same (tests/src/localstack.rs), built here
# on the project's Docker engine (infra/cloud).
LOCALSTACK_IMAGE="localstack/localstack:4.5"
[ "$EMULATOR" != localstack ] || source infra/cloud/docker.sh
# Logs and pids (a benchmark's stack keeps its own, beside a `make dev` or smoke test).
state="${DEV_STATE:-$root/target/dev}"
mkdir -p "$state"

export AWS_REGION="$LOCAL_NODE"
export AWS_DEFAULT_REGION="$LOCAL_NODE"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
unset AWS_ENDPOINT_URL_DYNAMODB
endpoints=()
node_ports=()
relay_ports=()
routes=()
for i in "${!node_list[@]}"; do
  node_ports+=("$((EMULATOR_PORT + i))")
  reached_on="$((EMULATOR_PORT + i))"
  if [ "$PROFILE" = aws ]; then
    # The functions reach each node through its relay, 100 ports above its emulator.
    reached_on="$((EMULATOR_PORT + 100 + i))"
    relay_ports+=("$reached_on")
    routes+=("${node_list[$i]}=127.0.0.1:$reached_on>127.0.0.1:$((EMULATOR_PORT + i))")
  fi
  endpoints+=("${node_list[$i]}=http://127.0.0.1:$reached_on")
done
export NODE_ENDPOINTS="$(IFS=,; echo "${endpoints[*]}")"
export TABLE_NAME="${TABLE_NAME:-primescaler-primes}"
export MAX_N="${MAX_N:-1000000000000}"
export PATH="$root/.venv/bin:$PATH"

groups=()
emulator_groups=()
containers=()
stopping=0
nodes_started=0

# Each line carries the time since start, so that a slow first run never looks hung.
log() { printf '[dev %dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }

# A frozen process takes no signal, not even SIGKILL, until it is thawed: each instance's
# runtime relay thaws it when it stops, and this makes sure.
thaw_twin() {
  local state
  [ "$PROFILE" = aws ] || return 0
  for state in /sys/fs/cgroup/freezer/"$TWIN_CGROUP"/*/freezer.state; do
    [ -f "$state" ] && echo THAWED >"$state" 2>/dev/null || true
  done
}

cleanup() {
  [ "$stopping" = 1 ] && return
  stopping=1
  log "stopping"
  thaw_twin
  # A node started again by infra/node.sh has a group make dev did not start. Read only
  # once this run wrote the files: an earlier run's may name reused process ids.
  if [ "$nodes_started" = 1 ]; then
    for pid in "$state"/emulator-*.pid; do
      [ -f "$pid" ] && emulator_groups+=("$(cat "$pid")")
    done
  fi
  for pgid in "${groups[@]}" "${emulator_groups[@]}"; do
    kill -TERM -- "-$pgid" 2>/dev/null || true
  done
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  [ "$EMULATOR" != localstack ] || docker_down
  for _ in $(seq 50); do
    alive=0
    for pgid in "${groups[@]}" "${emulator_groups[@]}"; do
      kill -0 -- "-$pgid" 2>/dev/null && alive=1
    done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pgid in "${groups[@]}" "${emulator_groups[@]}"; do
    kill -KILL -- "-$pgid" 2>/dev/null || true
  done
  # make node-up has nothing to start once make dev is gone.
  if [ "$nodes_started" = 1 ]; then
    rm -f "$state"/emulator-*.pid "$state"/emulator-*.cmd "$state/reset-token" "$state/port"
  fi
  thaw_twin
  # The twin's cgroups, once their processes are gone (an emptied group may be busy
  # for a moment).
  if [ "$PROFILE" = aws ]; then
    for controller in cpu memory freezer; do
      dir="/sys/fs/cgroup/$controller/$TWIN_CGROUP"
      for _ in $(seq 20); do
        if [ ! -d "$dir" ] || rmdir "$dir"/*/ "$dir" 2>/dev/null; then
          break
        fi
        sleep 0.1
      done
    done
  fi
  log "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ "$EMULATOR" = localstack ]; then
  docker_up
  infra/cloud/images.sh
fi

# Starts "$@" in a process group of its own, logging to target/dev/$name.log; its pid
# goes to target/dev/$name.pid.
start_group() {
  local name="$1"
  shift
  setsid "$@" >"$state/$name.log" 2>&1 </dev/null &
  echo "$!" >"$state/$name.pid"
  last_group="$!"
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

for port in "$PORT" "${node_ports[@]}" "${relay_ports[@]}"; do
  if port_busy "$port"; then
    log "port $port is already in use: stop what holds it, or set PORT / EMULATOR_PORT"
    exit 1
  fi
done

# Starts node $1's emulator: the command after it, kept (one argument a line) for
# infra/node.sh, which starts it again.
start_node() {
  local node="$1"
  shift
  printf '%s\n' "$@" >"$state/emulator-$node.cmd"
  start_group "emulator-$node" "$@"
  emulator_groups+=("$last_group")
}

# Starts node $1's emulator on port $2.
start_emulator() {
  local node="$1" port="$2"
  case "$EMULATOR" in
    dynalite)
      [ -f infra/node_modules/dynalite/cli.js ] || { log "dynalite is missing: run 'make tools'"; exit 1; }
      # On disk: a node stopped and started again (make node-down, make node-up) comes
      # back with its records, as a region does after an outage.
      start_node "$node" node infra/dynalite.js --host "$EMULATOR_HOST" --port "$port" \
        --path "$state/nodes/$node" --createTableMs 0 --deleteTableMs 0 --updateTableMs 0
      ;;
    moto)
      command -v moto_server >/dev/null || { log "moto_server is missing: run 'make test-tools'"; exit 1; }
      start_node "$node" "$(command -v moto_server)" -H "$EMULATOR_HOST" --port "$port"
      ;;
    localstack)
      containers+=("primescaler-dev-$node-$$")
      docker run -d --rm --name "primescaler-dev-$node-$$" -p "127.0.0.1:$port:4566" \
        -e SERVICES=dynamodb "$LOCALSTACK_IMAGE" >/dev/null
      ;;
    *)
      log "EMULATOR must be dynalite, moto or localstack, not $EMULATOR"
      exit 1
      ;;
  esac
}

# Each make dev starts with empty nodes, and forgets an earlier run's node processes.
rm -rf "$state/nodes" "$state"/emulator-*.pid "$state"/emulator-*.cmd
# What make node-add and node-remove need to reach this run's API.
(umask 077; printf '%s\n' "$RESET_TOKEN" >"$state/reset-token")
printf '%s\n' "$PORT" >"$state/port"
nodes_started=1
for i in "${!node_list[@]}"; do
  start_emulator "${node_list[$i]}" "${node_ports[$i]}"
done
# LocalStack's port is taken by Docker's proxy at once, and its DynamoDB (a JVM) starts
# at the first call: it is ready when a ListTables is answered.
dynamodb_answers() {
  [[ "$(curl -s --max-time 20 -X POST "http://127.0.0.1:$1/" -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
    -d '{}' 2>/dev/null)" == *TableNames* ]]
}
for i in "${!node_list[@]}"; do
  if [ "$EMULATOR" = localstack ]; then
    wait_for "the ${node_list[$i]} emulator (LocalStack)" 180 dynamodb_answers "${node_ports[$i]}"
  else
    wait_for "the ${node_list[$i]} emulator" 60 port_busy "${node_ports[$i]}"
  fi
done
log "nodes ($EMULATOR): $NODE_ENDPOINTS"

if [ "$PROFILE" = aws ]; then
  log "the deployed twin: building its relays (infra/twin)"
  cargo build -q --bin twin
  TWIN_FROM="$LOCAL_NODE" TWIN_ROUTES="$(IFS=,; echo "${routes[*]}")" start_group twin target/debug/twin
  groups+=("$last_group")
  for port in "${relay_ports[@]}"; do
    wait_for "the twin's relay on port $port" 30 port_busy "$port"
  done
  sed 's/^/[dev] /' "$state/twin.log" >&2
fi

log "creating the tables (the first build compiles the AWS SDK: about 2 minutes on 2 cores)"
# Not `-p primescaler-bootstrap`: with no package named, cargo resolves features over the
# whole workspace, as `cargo lambda watch` does for the functions, so that their build
# reuses every crate this one compiles (the AWS SDK first) instead of compiling it again.
cargo run -q --bin create-tables
if [ "${WATCH_RELEASE:-0}" = 1 ]; then
  # A release build of the UI function embeds the page's code, so it comes first.
  log "building the page's code (release functions embed it)"
  infra/build-ui.sh
else
  log "styling the page (Tailwind)"
  infra/build-ui.sh css
fi

watch_flags=(--invoke-port "$PORT" --concurrency "$WATCH_CONCURRENCY")
# Each function instance polls the runtime API through a relay of its own
# (infra/twin-run.sh, docs/local.md): cargo lambda watch 1.9.2 loses a result that it
# does not get whole, and the relay passes each on whole. Under the twin, the instance
# also gets a Lambda function's CPU share, memory and freeze.
if [ "${WATCH_RELEASE:-0}" = 1 ]; then
  log "the runtime relay (infra/twin), in release mode"
  cargo build -q --release --bin twin-runtime
  export TWIN_RUNTIME="$root/target/release/twin-runtime"
else
  log "the runtime relay (infra/twin)"
  cargo build -q --bin twin-runtime
  export TWIN_RUNTIME="$root/target/debug/twin-runtime"
fi
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$root/infra/twin-run.sh"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$root/infra/twin-run.sh"
if [ "$PROFILE" = aws ]; then
  export TWIN_LIMITS=1 TWIN_CGROUP
fi
# Benchmarks build once and ignore later edits to the tree.
[ "${WATCH_RELEASE:-0}" = 1 ] && watch_flags+=(--release --ignore-changes)
start_group functions cargo lambda watch "${watch_flags[@]}"
groups+=("$last_group")
log "building the functions (the first build: about 2 minutes more)"
wait_for "cargo lambda watch" 900 curl -sf -o /dev/null "http://127.0.0.1:$PORT/health"
wait_for "the UI function" 900 curl -sf -o /dev/null "http://127.0.0.1:$PORT/grid"

log "PrimeScaler is running ($PROFILE): nodes $NODES, strategy $STRATEGY, local node $LOCAL_NODE"
if [ "$EMULATOR" != localstack ]; then
  for i in "${!node_list[@]}"; do
    log "take node ${node_list[$i]} down: make node-down NODE=${node_list[$i]} (back: make node-up NODE=${node_list[$i]})"
  done
  log "change the ring: make node-remove NODE=<node>, make node-add NODE=<node> (GET /membership shows it)"
fi
echo "Reset token (DELETE needs 'Authorization: Bearer <token>'): $RESET_TOKEN"
echo "PrimeScaler UI: http://localhost:$PORT/"
echo "PrimeScaler API: http://localhost:$PORT/primes/100  (and /cache, /stats, /nodes, /membership, /health)"

# The grid is live now; the page's code (wasm) comes next, and the page, which says so
# meanwhile, reloads itself until it is there.
if [ -f target/site/pkg/primescaler.js ]; then
  log "updating the page's code"
else
  log "building the page's code (the first build: about 2 minutes more; the page reloads itself until it is there)"
fi
if infra/build-ui.sh >&2; then
  log "the page is interactive: http://localhost:$PORT/"
else
  log "the page's code did not build (see above): the grid is still served; fix it and run 'make ui'"
fi

parent="${DEV_PARENT_PID:-}"
# The upkeep function's schedule, as EventBridge Scheduler runs it in AWS: one handoff
# pass every minute, logged to $state/upkeep.log (`make upkeep` runs one now).
next_upkeep=$((SECONDS + 60))
while true; do
  if [ "$SECONDS" -ge "$next_upkeep" ]; then
    next_upkeep=$((SECONDS + 60))
    { printf '[upkeep %s] ' "$(date -u +%H:%M:%S)"; PORT="$PORT" infra/upkeep.sh; } >>"$state/upkeep.log" 2>&1 &
  fi
  for pgid in "${groups[@]}"; do
    kill -0 -- "-$pgid" 2>/dev/null || { log "a service exited; see target/dev/*.log"; exit 1; }
  done
  if [ -n "$parent" ] && ! kill -0 "$parent" 2>/dev/null; then
    exit 0
  fi
  sleep 1
done

#!/usr/bin/env bash
# `make cloud`: the app as `sam local start-api` runs it, each function in a container of
# its own, against LocalStack nodes, one container per region.
#   1. the project's Docker engine (docker.sh) and its images (images.sh), once;
#   2. `sam build` of the real functions with the template's BuildMethod, for x86_64
#      (Architecture=x86_64: arm64 would run under an emulated CPU; docs/emulators.md);
#   3. the nodes, through the integration tests' LocalStack fixture (cloud_nodes), on a
#      Docker network of their own, each with the app's table;
#   4. `sam local start-api` on 127.0.0.1:PORT, with warm containers, and the upkeep
#      every minute (`sam local invoke`, as its schedule would).
# It stops everything it started on SIGINT or SIGTERM.
#
# Environment:
#   PORT          the app's port (3000)
#   NODES         the regions (us-east-1,eu-west-1,ap-southeast-2); the first is local
#   RESET_TOKEN   the token of DELETE /cache (one is made up and printed when unset)
#   CLOUD_READY   a file to write the app's URL to once it answers (make test-cloud)
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/cloud/docker.sh
# sam and cargo-lambda, as `make tools` and `make test-tools` install them.
export PATH="$PWD/.venv/bin:$PATH"

PORT="${PORT:-3000}"
NODES="${NODES:-us-east-1,eu-west-1,ap-southeast-2}"
RESET_TOKEN="${RESET_TOKEN:-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
LOCAL_NODE="${NODES%%,*}"
NETWORK=primescaler-cloud
PREFIX=primescaler-cloud
TABLE=primescaler-primes
SAM_RAPID_IMAGE=public.ecr.aws/lambda/provided:al2023-rapid-x86_64
export SAM_CLI_TELEMETRY=0
state=target/cloud
mkdir -p "$state"
log() { echo "[cloud] $*" >&2; }
nodes_pid="" sam_pid="" upkeep_pid=""

# Stops process group $1 (a leader started with setsid): TERM, then KILL after 20 s.
stop_group() {
  local pgid=$1 waited=0
  [ -n "$pgid" ] || return 0
  kill -TERM -- "-$pgid" 2>/dev/null
  while kill -0 -- "-$pgid" 2>/dev/null && [ "$waited" -lt 100 ]; do
    sleep 0.2
    waited=$((waited + 1))
  done
  kill -KILL -- "-$pgid" 2>/dev/null
  wait "$pgid" 2>/dev/null
}

# Removes every node container by name: the fixture removes its own, but not when it is
# killed outright.
remove_nodes() {
  docker ps -aq --filter "name=^$PREFIX-" | xargs -r docker rm -f >/dev/null 2>&1
}

stop_all() {
  trap - EXIT INT TERM
  set +e
  stop_group "$upkeep_pid"
  stop_group "$sam_pid"
  # The function containers sam left, then the nodes.
  docker ps -aq --filter "ancestor=$SAM_RAPID_IMAGE" | xargs -r docker rm -f >/dev/null 2>&1
  stop_group "$nodes_pid"
  remove_nodes
  docker_down
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

docker_up
infra/cloud/images.sh

log "building the page's code"
infra/build-ui.sh
log "sam build: the functions for x86_64, with the template's BuildMethod (rust-cargolambda)"
AWS_LC_SYS_NO_JITTER_ENTROPY=1 sam build --template template.yaml --parameter-overrides Architecture=x86_64 \
  --build-dir "$state/build" --cache-dir "$state/cache" >"$state/build.log" 2>&1 ||
  { tail -20 "$state/build.log" >&2; log "sam build failed ($state/build.log)"; exit 1; }

# The network: its published ports on 127.0.0.1 alone (a network's own setting; the
# engine's --ip covers only the default bridge).
if ! docker network inspect "$NETWORK" >/dev/null 2>&1; then
  docker network create -o com.docker.network.bridge.host_binding_ipv4=127.0.0.1 "$NETWORK" >/dev/null
fi
# Nodes left by a run that was killed outright.
remove_nodes
# After the build, not beside it: on 2 cores, three JVMs starting beside rustc could
# outlast the fixture's wait.
log "building the nodes' fixture"
cargo build -q --bin cloud_nodes
log "starting the nodes: LocalStack, one container per region ($NODES)"
: >"$state/nodes.txt"
CLOUD_NODES="$NODES" CLOUD_NETWORK="$NETWORK" CLOUD_PREFIX="$PREFIX" TABLE_NAME="$TABLE" \
  setsid target/debug/cloud_nodes >"$state/nodes.txt" 2>"$state/nodes.log" &
nodes_pid=$!
until grep -qx ready "$state/nodes.txt"; do
  kill -0 "$nodes_pid" 2>/dev/null || { cat "$state/nodes.log" >&2; log "the nodes did not start"; exit 1; }
  sleep 0.5
done
sed 's/^/[cloud] /' "$state/nodes.txt" >&2

# Every function's environment: the nodes by their names on the network. Values go in
# through the environment, not pasted into the program.
NODE_ENDPOINTS=$(awk '$1 == "node" { printf "%s%s=%s", sep, $2, $4; sep = "," }' "$state/nodes.txt") \
  NODES="$NODES" LOCAL_NODE="$LOCAL_NODE" TABLE_NAME="$TABLE" RESET_TOKEN="$RESET_TOKEN" \
  python3 -c '
import json, os, sys
common = {k: os.environ[k] for k in ("NODES", "LOCAL_NODE", "NODE_ENDPOINTS", "TABLE_NAME")}
common.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
api = dict(common, RESET_TOKEN=os.environ["RESET_TOKEN"], RESET_TOKEN_SECRET="")
json.dump({"ApiFunction": api, "UiFunction": common, "UpkeepFunction": common}, open(sys.argv[1], "w"), indent=1)
' "$state/env.json"

sam_args=(--template "$state/build/template.yaml" --env-vars "$state/env.json"
  --parameter-overrides Architecture=x86_64 --docker-network "$NETWORK" --skip-pull-image
  --region "$LOCAL_NODE")
log "sam local start-api on http://127.0.0.1:$PORT"
setsid sam local start-api "${sam_args[@]}" --host 127.0.0.1 --port "$PORT" \
  --warm-containers EAGER >"$state/sam.log" 2>&1 &
sam_pid=$!

# The upkeep's schedule, as sam local runs none: a group of its own, so that stopping it
# stops an invocation under way too.
setsid bash -c 'while sleep 60; do
    echo "{\"task\":\"upkeep\"}" | sam local invoke UpkeepFunction "$@" --event - || true
  done' upkeep "${sam_args[@]}" >>"$state/upkeep.log" 2>&1 &
upkeep_pid=$!

for _ in $(seq 600); do
  curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/health" && break
  kill -0 "$sam_pid" 2>/dev/null || { tail -20 "$state/sam.log" >&2; log "sam local stopped"; exit 1; }
  sleep 0.5
done
curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/health" ||
  { tail -20 "$state/sam.log" >&2; log "sam local did not answer"; exit 1; }
log "ready: http://127.0.0.1:$PORT/ (logs in $state/)"
log "Reset token: $RESET_TOKEN"
[ -z "${CLOUD_READY:-}" ] || echo "http://127.0.0.1:$PORT" >"$CLOUD_READY"
wait "$sam_pid"

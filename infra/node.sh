#!/usr/bin/env bash
# `make node-down NODE=…` / `make node-up NODE=…`: stops or starts again one node's
# emulator under a running `make dev`, as a region goes down and comes back. dynalite keeps
# each node's tables on disk (target/dev/nodes/<node>, emptied when `make dev` starts), so
# a node comes back with every record it had; moto keeps nothing, and comes back empty.
# `make node-add NODE=…` / `make node-remove NODE=…`: changes the ring through the API
# (PUT /membership, with the run's reset token): the upkeep then moves the records whose
# home changed (docs/membership.md). A node to add must be one make dev has a client for:
# one of its NODES, or of its SPARE_NODES.
# It acts on the `make dev` whose state is in DEV_STATE (target/dev).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# From the root, as make dev (relative paths in DEV_STATE and in the node's command).
cd "$root"
state="${DEV_STATE:-$root/target/dev}"
action="${1:-}" node="${2:-}"
cmd="$state/emulator-$node.cmd"
pid="$state/emulator-$node.pid"

fail() { echo "[node] $*" >&2; exit 1; }
usage="usage: make node-down|node-up|node-add|node-remove NODE=<region>"
[ -n "$node" ] || fail "$usage"
# (A change of the ring needs only the API; a node's emulator, the command it started.)
[ "$action" = add ] || [ "$action" = remove ] || [ -f "$cmd" ] || fail "no node $node under make dev (nodes: $(cd "$state" 2>/dev/null && ls emulator-*.cmd 2>/dev/null | sed 's/emulator-//; s/\.cmd//' | tr '\n' ' '))"
running() { [ -f "$pid" ] && kill -0 -- "-$(cat "$pid")" 2>/dev/null; }

case "$action" in
  down)
    running || fail "$node is already down"
    kill -TERM -- "-$(cat "$pid")"
    for _ in $(seq 50); do running || break; sleep 0.1; done
    running && kill -KILL -- "-$(cat "$pid")"
    rm -f "$pid"
    echo "[node] $node is down; bring it back with: make node-up NODE=$node"
    ;;
  up)
    running && fail "$node is already up"
    # The command make dev started it with, one argument a line; the same port and path.
    mapfile -t args <"$cmd"
    setsid "${args[@]}" >>"$state/emulator-$node.log" 2>&1 </dev/null &
    echo "$!" >"$pid"
    port="$(sed -n '/^--port$/{n;p}' "$cmd")"
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "$node did not come back on port $port (see $state/emulator-$node.log)"
    echo "[node] $node is up on port $port"
    ;;
  add | remove)
    [ -f "$state/reset-token" ] || fail "no make dev is running (its state is in $state)"
    port="${PORT:-$(cat "$state/port")}"
    api="http://127.0.0.1:$port"
    token="$(cat "$state/reset-token")"
    current="$(curl -sf "$api/membership")" || fail "the API does not answer at $api"
    # The ring with NODE added at its end, or taken out.
    body="$(ACTION="$action" NODE="$node" python3 -c '
import json, os, sys
now = json.load(sys.stdin)
nodes = [n for n in now["nodes"] if n != os.environ["NODE"]]
if os.environ["ACTION"] == "add":
    nodes.append(os.environ["NODE"])
print(json.dumps({"nodes": nodes}))' <<<"$current")"
    answer="$(curl -s -X PUT "$api/membership" -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' -d "$body")"
    case "$answer" in
      *'"moving":true'*) ;;
      *) fail "the change was refused: $answer" ;;
    esac
    echo "[node] the ring is changing to $(sed 's/.*"nodes":\(\[[^]]*\]\).*/\1/' <<<"$answer"); the upkeep moves the records (each minute, or now: make upkeep; see GET $api/membership)"
    echo "[node] deployed, the same change is: $( [ "$action" = add ] && echo "make deploy-regions REGIONS=<every region, $node included>, then ")curl -X PUT https://<api>/membership -H 'Authorization: Bearer <token>' -d '$body'"
    ;;
  *) fail "$usage" ;;
esac

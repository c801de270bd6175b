#!/usr/bin/env bash
# `make node-down NODE=…` / `make node-up NODE=…`: stops or starts again one node's
# emulator under a running `make dev`, as a region goes down and comes back. dynalite keeps
# each node's tables on disk (target/dev/nodes/<node>, emptied when `make dev` starts), so
# a node comes back with every record it had; moto keeps nothing, and comes back empty.
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
[ -n "$node" ] || fail "usage: make node-down NODE=<region>, make node-up NODE=<region>"
[ -f "$cmd" ] || fail "no node $node under make dev (nodes: $(cd "$state" 2>/dev/null && ls emulator-*.cmd 2>/dev/null | sed 's/emulator-//; s/\.cmd//' | tr '\n' ' '))"
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
  *) fail "usage: make node-down NODE=<region>, make node-up NODE=<region>" ;;
esac

#!/usr/bin/env bash
# Invokes the upkeep function (one handoff pass over every node's hints) once, under the
# `cargo lambda watch` of `make dev`, as EventBridge Scheduler does in AWS every minute,
# and prints what it did. `make dev` runs it every minute itself.
#
#   PORT  the port of `make dev` (default 9000)
set -euo pipefail

port="${PORT:-9000}"
invoke() {
  curl -sS --max-time 120 -X POST -H 'Content-Type: application/json' \
    -d '{"task":"upkeep"}' \
    "http://127.0.0.1:$port/2015-03-31/functions/upkeep/invocations"
  echo
}

invoke

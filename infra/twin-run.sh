#!/usr/bin/env bash
# The functions' cargo runner under `make dev`. `cargo lambda watch` starts each function
# with `cargo run`, and cargo starts the binary through this runner
# (CARGO_TARGET_<triple>_RUNNER).
#
# Always (with TWIN_RUNTIME, the `twin-runtime` binary, and a runtime API to poll): the
# instance polls the runtime API through a `twin-runtime` of its own, which takes each
# result whole before it passes it on (`cargo lambda watch` 1.9.2 answers a result before
# it has read it, and a result larger than one read was then lost: docs/local.md), and
# answers an invocation whose instance ended before its result.
#
# Under the deployed twin (TWIN_LIMITS=1, `make dev PROFILE=aws`, docs/twin.md), the
# relay also gives each invocation the function's deadline and cuts it off at the
# function's timeout, and the instance gets Lambda's limits for a function of
# TWIN_MEMORY_MB (256, the template's MemorySize), in cgroups of its own: its CPU share,
# as a CFS quota (1,769 MB is one vCPU), its memory limit, and the freeze between
# invocations (its relay freezes its freezer group while it waits for the next one).
# cgroup v1 only: where a controller is not writable, the runner says so and that limit
# is not applied.
set -euo pipefail

limits="${TWIN_LIMITS:-0}"
memory_mb="${TWIN_MEMORY_MB:-256}"
name="$(basename "$1")"
group="${TWIN_CGROUP:-primescaler-twin}/$name-$$"
period=100000
# The template's Timeout: the upkeep function's own, every other function's Globals
# (TWIN_TIMEOUT_S, in seconds, overrides it).
case "$name" in
  upkeep) timeout_s=50 ;;
  *) timeout_s=15 ;;
esac
timeout_s="${TWIN_TIMEOUT_S:-$timeout_s}"

# Puts this process in controller $1's group, writing each "file=value" after it first.
join() {
  local dir="/sys/fs/cgroup/$1/$group" setting
  shift
  mkdir -p "$dir" 2>/dev/null || return 1
  for setting in "$@"; do
    echo "${setting#*=}" >"$dir/${setting%%=*}" 2>/dev/null || return 1
  done
  echo $$ >"$dir/cgroup.procs" 2>/dev/null
}

# Starts this instance's runtime API relay, outside its cgroups (a frozen relay could
# never thaw it), and points the instance at it, frozen between invocations where
# `freezer` is set; otherwise says why not in $why.
relay_runtime() {
  local freezer="$1" address
  local flags=(--upstream "$AWS_LAMBDA_RUNTIME_API" --instance $$)
  # The function's timeout, and the freeze, under the twin only: locally the budgets are
  # an emulator's (infra/bench-stack.sh allows a request 20 s).
  [ "$limits" = 1 ] && flags+=(--timeout-s "$timeout_s")
  [ -n "$freezer" ] && flags+=(--freezer "$freezer")
  # setsid: a session of its own, so that what stops the instance's process group
  # reaches the instance, which the relay then thaws, before the relay.
  exec 3< <(exec setsid "$TWIN_RUNTIME" "${flags[@]}")
  if ! read -r -t 10 -u 3 address; then
    exec 3<&-
    why="its runtime relay did not start"
    return 1
  fi
  exec 3<&-
  if [ -n "$freezer" ] && ! join freezer; then
    why="cannot join the freezer group"
    return 1
  fi
  export AWS_LAMBDA_RUNTIME_API="$address"
}

if [ -z "${TWIN_RUNTIME:-}" ] || [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  echo "twin-run: $name polls the runtime API directly (no TWIN_RUNTIME, or none to poll)" >&2
elif [ "$limits" != 1 ]; then
  relay_runtime "" || echo "twin-run: $name polls the runtime API directly: $why" >&2
else
  freezer="/sys/fs/cgroup/freezer/$group"
  if ! { mkdir -p "$freezer" 2>/dev/null && [ -f "$freezer/freezer.state" ]; }; then
    echo "twin-run: the cgroup v1 freezer is not writable here: $name is never frozen" >&2
    freezer=""
  fi
  if relay_runtime "$freezer"; then
    [ -n "$freezer" ] && echo "twin-run: $name frozen between invocations, cut off after ${timeout_s} s" >&2
  else
    echo "twin-run: $name polls the runtime API directly: $why" >&2
  fi
fi
[ "$limits" = 1 ] || exec "$@"

if join cpu "cpu.cfs_period_us=$period" "cpu.cfs_quota_us=$((period * memory_mb / 1769))"; then
  echo "twin-run: $name at ${memory_mb} MB: $((100 * memory_mb / 1769))% of a core" >&2
else
  echo "twin-run: cgroup v1 cpu is not writable here: $name runs on whole cores" >&2
fi
if join memory "memory.limit_in_bytes=$((memory_mb * 1024 * 1024))"; then
  echo "twin-run: $name limited to ${memory_mb} MB of memory" >&2
else
  echo "twin-run: cgroup v1 memory is not writable here: $name has no memory limit" >&2
fi
exec "$@"

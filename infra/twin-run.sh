#!/usr/bin/env bash
# The deployed twin's Lambda limits (make dev PROFILE=aws, docs/twin.md). `cargo lambda
# watch` starts each function with `cargo run`, and cargo starts the binary through this
# runner (CARGO_TARGET_<triple>_RUNNER), which first puts the process in cgroups sized as
# Lambda sizes a function of TWIN_MEMORY_MB (256, the template's MemorySize): its CPU
# share, as a CFS quota (1,769 MB is one vCPU), and its memory limit. cgroup v1 only:
# where a controller is not writable, the runner says so and that limit is not applied.
set -euo pipefail

memory_mb="${TWIN_MEMORY_MB:-256}"
name="$(basename "$1")"
group="${TWIN_CGROUP:-primescaler-twin}/$name-$$"
period=100000

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

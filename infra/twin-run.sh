#!/usr/bin/env bash
# The deployed twin's Lambda limits (make dev PROFILE=aws, docs/twin.md). `cargo lambda
# watch` starts each function with `cargo run`, and cargo starts the binary through this
# runner (CARGO_TARGET_<triple>_RUNNER), which first puts the process in cgroups sized as
# Lambda sizes a function of TWIN_MEMORY_MB (256, the template's MemorySize): its CPU
# share, as a CFS quota (1,769 MB is one vCPU), and its memory limit.
set -euo pipefail

memory_mb="${TWIN_MEMORY_MB:-256}"
group="${TWIN_CGROUP:-primescaler-twin}/$(basename "$1")-$$"
cpu="/sys/fs/cgroup/cpu/$group"
memory="/sys/fs/cgroup/memory/$group"
period=100000

if mkdir -p "$cpu" "$memory" 2>/dev/null &&
  echo "$period" >"$cpu/cpu.cfs_period_us" &&
  echo $((period * memory_mb / 1769)) >"$cpu/cpu.cfs_quota_us" &&
  echo $((memory_mb * 1024 * 1024)) >"$memory/memory.limit_in_bytes" &&
  echo $$ >"$cpu/cgroup.procs" &&
  echo $$ >"$memory/cgroup.procs"; then
  echo "twin-run: $(basename "$1") at ${memory_mb} MB: $((100 * memory_mb / 1769))% of a core" >&2
else
  echo "twin-run: cgroup v1 cpu and memory are not writable here: $(basename "$1") runs on whole cores" >&2
fi
exec "$@"

#!/usr/bin/env bash
# How reliably `make dev` answers (docs/local.md): STARTS fresh starts of `make dev`
# (default 20), each followed at once by GET /nodes, /placement, /primes/97 and the
# page, every one of which must answer 200 within 60 s; then, on the last start,
# REQUESTS requests (default 20,000) at concurrency 8: the page (30%), the live grid
# (20%), a prime (40%) and /health (10%). Prints each start and the answers by status;
# exits 1 if any was not a 200. Runs a stack of its own, on PORT (default 9400) and
# EMULATOR_PORT (default 4800), beside any `make dev`, with the functions already built (a
# first `make dev` builds them). A start's first requests follow make dev's own first
# GET /health and GET /grid.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
starts="${STARTS:-20}"
requests="${REQUESTS:-20000}"
port="${PORT:-9400}"
emulator_port="${EMULATOR_PORT:-4800}"
base="http://127.0.0.1:$port"
work="$(mktemp -d)"
dev_pid=""
stop_dev() {
  [ -n "$dev_pid" ] || return 0
  kill -TERM "$dev_pid" 2>/dev/null || true
  wait "$dev_pid" 2>/dev/null || true
  dev_pid=""
}
trap 'stop_dev; rm -rf "$work"' EXIT

start_dev() {
  DEV_STATE="$work/state" PORT="$port" EMULATOR_PORT="$emulator_port" infra/dev.sh >"$work/dev.log" 2>&1 &
  dev_pid=$!
  for _ in $(seq 600); do
    grep -q "PrimeScaler is running" "$work/dev.log" && return 0
    kill -0 "$dev_pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "make dev did not come up:" >&2
  tail -20 "$work/dev.log" >&2
  exit 1
}

failed=0
for i in $(seq "$starts"); do
  start_dev
  line="start $i:"
  for path in /nodes "/placement?nodes=us-east-1,eu-west-1,ap-southeast-2" /primes/97 /; do
    got="$(curl -s -m 60 -o /dev/null -w '%{http_code} %{time_total}' "$base$path" || true)"
    line+=" ${path%%\?*} ${got:-none}"
    [ "${got%% *}" = 200 ] || failed=1
  done
  echo "$line"
  [ "$i" = "$starts" ] || stop_dev
done

awk -v n="$requests" -v base="$base" 'BEGIN {
  srand(7)
  for (i = 0; i < n; i++) {
    r = rand()
    if (r < 0.3) p = "/"; else if (r < 0.5) p = "/grid"
    else if (r < 0.9) p = "/primes/" int(1 + rand() * 20000); else p = "/health"
    printf "url = \"%s%s\"\noutput = \"/dev/null\"\n", base, p
  }
}' >"$work/urls"
echo "$requests requests at concurrency 8:"
SECONDS=0
curl -s --no-progress-meter --parallel --parallel-max 8 --max-time 30 -K "$work/urls" \
  -w '%{http_code}\n' >"$work/codes" || true
sort "$work/codes" | uniq -c | sed 's/^/  /'
echo "  in ${SECONDS} s"
[ "$(grep -cx 200 "$work/codes")" = "$requests" ] || failed=1
exit "$failed"

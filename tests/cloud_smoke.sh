#!/usr/bin/env bash
# `make test-cloud`: the app under `sam local start-api` against LocalStack nodes, as
# `make cloud` runs it, checked over HTTP and in headless Chromium; before that, the store
# and cluster integration tests against LocalStack (the testcontainers fixture).
# Everything it starts (dockerd included) it stops. It builds whatever is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source infra/cloud/docker.sh

export PORT="${CLOUD_SMOKE_PORT:-9500}"
export RESET_TOKEN="cloud-smoke-$$"
export CLOUD_READY="$root/target/cloud/ready"
auth=(-H "Authorization: Bearer $RESET_TOKEN")
base="http://127.0.0.1:$PORT"
log="$root/target/cloud-smoke.log"
mkdir -p target/cloud
rm -f "$CLOUD_READY"
cloud_pid=""
source tests/check.sh

# Stops make cloud (a session of its own) with SIGTERM, and KILL after 90 s (it gives
# each of its three process groups 20 s).
stop_cloud() {
  [ -n "$cloud_pid" ] || return 0
  kill -TERM "$cloud_pid" 2>/dev/null || true
  for _ in $(seq 450); do kill -0 "$cloud_pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$cloud_pid" 2>/dev/null || true
  wait "$cloud_pid" 2>/dev/null || true
  cloud_pid=""
}
stop_all() {
  stop_cloud
  docker_down
}
trap stop_all EXIT
docker_up
infra/cloud/images.sh

# 1. The store and cluster tests with every node a LocalStack container. The tests that
# kill an emulator process and start it again on its port need a local emulator.
echo "[test-cloud] the store and cluster integration tests on LocalStack"
integration=target/cloud/integration.log
if PRIMESCALER_EMULATOR=localstack cargo test -q --test integration -- store:: cluster:: \
  --skip a_node_killed_under_load >"$integration" 2>&1; then
  check "store:: and cluster:: pass on LocalStack ($integration)" pass pass
else
  tail -40 "$integration"
  check "store:: and cluster:: pass on LocalStack ($integration)" fail pass
fi
# The filters still name tests: 8 ran.
check "8 store and cluster tests ran on LocalStack" "$(grep -oE '^test result: ok\. [0-9]+ passed' "$integration" | grep -oE '[0-9]+')" 8

# 2. The app under sam local.
echo "[test-cloud] make cloud (log: $log)"
setsid infra/cloud/cloud.sh >"$log" 2>&1 &
cloud_pid=$!
for _ in $(seq 2400); do
  [ -s "$CLOUD_READY" ] && break
  kill -0 "$cloud_pid" 2>/dev/null || { cat "$log"; echo "FAIL make cloud exited early"; exit 1; }
  sleep 0.5
done
[ -s "$CLOUD_READY" ] || { cat "$log"; echo "FAIL make cloud never answered"; exit 1; }

# A failed or slow request gives an empty answer, which its check then reports.
get() { curl -s --max-time 60 "$base$1" || true; }
status() { curl -s -o /dev/null --max-time 60 -w '%{http_code}' "${@:3}" -X "$1" "$base$2"; }

check "GET /primes/100 is 541" "$(get /primes/100 | jq -r .prime)" 541
check "GET /primes/100 again comes from the cache" "$(get /primes/100 | jq -r .source)" cache
check "GET /primes/0 is a JSON 400" "$(get /primes/0 | jq -r .error)" n_out_of_range
grid_holds_100() { get /grid | jq '[foreach .n[] as $step (0; . + $step)] | map(select(. == 100)) | length'; }
held="$(grid_holds_100)"
[ "$held" = 1 ] || { sleep 2.5; held="$(grid_holds_100)"; }
check "GET /grid holds n = 100" "$held" 1
check "DELETE /cache without the token is a 401" "$(status DELETE /cache)" 401
check "DELETE /cache with the token is a 200" "$(status DELETE /cache "${auth[@]}")" 200
check "after the reset, n = 100 is computed again" "$(get /primes/100 | jq -r .source)" computed
check "GET /nodes lists three nodes, all up" "$(get /nodes | jq '[.nodes[] | select(.up)] | length')" 3

if BASE_URL="$base" node tests/ui/hydrates.mjs >target/cloud/page.log 2>&1; then
  check "the page is served and hydrates in Chromium (target/cloud/page.log)" pass pass
else
  cat target/cloud/page.log
  check "the page is served and hydrates in Chromium (target/cloud/page.log)" fail pass
fi

# 3. A node's container stopped: every answer is still the right prime, from the others.
victim=eu-west-1
docker stop --time 1 "primescaler-cloud-$victim" >/dev/null
wrong=0 elsewhere=0
for n in $(seq 1 30); do
  answer="$(get "/primes/$n")"
  [ "$(echo "$answer" | jq -r .prime 2>/dev/null)" = "$(primesieve "$n" -n -q)" ] || wrong=$((wrong + 1))
  case "$(echo "$answer" | jq -r .node 2>/dev/null)" in
    us-east-1 | ap-southeast-2) ;;
    *) elsewhere=$((elsewhere + 1)) ;;
  esac
done
check "with $victim's container stopped, n = 1..30 answer the right prime" "$wrong" 0
check "each of them is served by one of the two nodes up" "$elsewhere" 0
check "/nodes shows $victim down" "$(get /nodes | jq -r --arg v "$victim" '.nodes[] | select(.node == $v) | .up')" false

# 4. SIGTERM stops every container make cloud started (the engine is this script's).
stop_cloud
check "make cloud's SIGTERM left no container" "$(docker ps -aq | wc -l)" 0

echo "test-cloud: $passed passed, $failed failed"
[ "$failed" = 0 ]

# A Docker engine of the project's own, for `make cloud` and `make test-cloud`.
# Sourced, not run: `docker_up` installs Debian's docker.io on first use, starts a dockerd
# of ours (its own socket, data root and pid file) unless ours already answers there, and
# exports DOCKER_HOST for the docker CLI, SAM and testcontainers. `docker_down` stops it
# again, only if `docker_up` started it. Callers set their EXIT trap (with docker_down)
# before docker_up.
#
# The images live in the data root (built here, as no image registry is reachable), so
# they outlast the engine: a later run starts in seconds. Ports are published on
# 127.0.0.1 (the engine's default address; make cloud's network and the tests' fixture
# say so themselves too), and DOCKER-USER rules drop what a container sends past its
# bridge to anywhere but the bridge it came from.

CLOUD_CACHE="${PRIMESCALER_CACHE:-/var/cache/primescaler}"
DOCKER_SOCKET=/run/primescaler-docker.sock
DOCKER_PIDFILE=/run/primescaler-docker.pid
export DOCKER_HOST="unix://$DOCKER_SOCKET"
DOCKER_STARTED=""
# The default bridge, and every network made on this engine (br-<id>).
DOCKER_BRIDGES=(docker0 br-+)

docker_fail() {
  echo "[cloud] $*" >&2
  echo "[cloud] make cloud and make test-cloud need Docker: Debian's docker.io, run as root (docs/emulators.md)" >&2
  exit 1
}

docker_install() {
  command -v dockerd >/dev/null && command -v iptables >/dev/null && command -v debootstrap >/dev/null && return
  [ "$(id -u)" = 0 ] || docker_fail "docker.io is not installed, and installing it needs root"
  echo "[cloud] installing docker.io, iptables and debootstrap (apt, about 15 s, once)"
  # Installed, not started: the system's own docker service would be a second engine.
  local policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
  fi
  local installed=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    docker.io iptables debootstrap >/dev/null; } || installed=$?
  [ -z "$policy" ] || rm -f "$policy"
  [ "$installed" = 0 ] || docker_fail "apt could not install docker.io"
}

docker_up() {
  if docker version >/dev/null 2>&1; then docker_hold_in; return; fi
  docker_install
  [ "$(id -u)" = 0 ] || docker_fail "dockerd runs as root"
  # Two engines would share the docker0 bridge and the DOCKER iptables chains.
  if pgrep -x dockerd >/dev/null; then
    docker_fail "another dockerd runs here ($(pgrep -ax dockerd | head -1)): stop it first"
  fi
  mkdir -p "$CLOUD_CACHE/docker" "$CLOUD_CACHE/logs"
  echo "[cloud] starting dockerd (data in $CLOUD_CACHE/docker)"
  # A session of its own: a Ctrl-C for the script must not stop it before the script has
  # removed its containers.
  setsid dockerd --host "$DOCKER_HOST" --pidfile "$DOCKER_PIDFILE" --data-root "$CLOUD_CACHE/docker" \
    --exec-root /run/primescaler-docker --ip 127.0.0.1 >"$CLOUD_CACHE/logs/dockerd.log" 2>&1 &
  DOCKER_STARTED=$!
  local waited=0
  until docker version >/dev/null 2>&1; do
    kill -0 "$DOCKER_STARTED" 2>/dev/null || { tail -5 "$CLOUD_CACHE/logs/dockerd.log" >&2; docker_fail "dockerd stopped at start"; }
    sleep 0.2; waited=$((waited + 1))
    [ "$waited" -lt 300 ] || docker_fail "dockerd did not answer within 60 s ($CLOUD_CACHE/logs/dockerd.log)"
  done
  docker_hold_in
}

# Drops what a container sends to anywhere but its own bridge (the host itself, on its
# published ports and host.docker.internal, is reached through INPUT, not FORWARD).
docker_hold_in() {
  local bridge
  for bridge in "${DOCKER_BRIDGES[@]}"; do
    iptables -C DOCKER-USER -i "$bridge" ! -o "$bridge" -j DROP 2>/dev/null ||
      iptables -I DOCKER-USER -i "$bridge" ! -o "$bridge" -j DROP
  done
}

docker_down() {
  [ -n "$DOCKER_STARTED" ] || return 0
  echo "[cloud] stopping dockerd"
  kill -TERM "$DOCKER_STARTED" 2>/dev/null || true
  local waited=0
  while kill -0 "$DOCKER_STARTED" 2>/dev/null && [ "$waited" -lt 150 ]; do sleep 0.2; waited=$((waited + 1)); done
  kill -KILL "$DOCKER_STARTED" 2>/dev/null || true
  local bridge
  for bridge in "${DOCKER_BRIDGES[@]}"; do
    iptables -D DOCKER-USER -i "$bridge" ! -o "$bridge" -j DROP 2>/dev/null || true
  done
  DOCKER_STARTED=""
}

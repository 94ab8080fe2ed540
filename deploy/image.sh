#!/usr/bin/env bash
# Builds the shardstream container image (deploy/Dockerfile) from the built tree.
#   bash deploy/image.sh [--tag shardstream:0.2.0] [--engine podman|docker] [--local-base]
#                        [--offline]
# --local-base: build the debian:bookworm-slim base here from Debian packages (mmdebstrap) and
#   import it under that name — for machines without an image registry.
# --offline: put the runtime packages into the build context as .deb files (downloaded with
#   apt on this machine), so the image build itself needs no network.
# Prints the image's size at the end. podman here needs runtime runc and raised ulimits: the
# script writes its own containers.conf (CONTAINERS_CONF) instead of touching /etc.
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=shardstream:0.2.0
ENGINE=podman
LOCAL_BASE=0
OFFLINE=0
while [ $# -gt 0 ]; do
  case $1 in
    --tag) TAG=$2; shift 2 ;;
    --engine) ENGINE=$2; shift 2 ;;
    --local-base) LOCAL_BASE=1; shift ;;
    --offline) OFFLINE=1; shift ;;
    *) echo "usage: $0 [--tag T] [--engine podman|docker] [--local-base] [--offline]" >&2; exit 2 ;;
  esac
done
WORK=build/image
mkdir -p "$WORK"
if [ "$ENGINE" = podman ] && [ -z "${CONTAINERS_CONF:-}" ]; then
  cat > "$WORK/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
  export CONTAINERS_CONF="$PWD/$WORK/containers.conf"
fi
if [ ! -x build/cli/shardstream ]; then
  echo "image.sh: build/cli/shardstream is missing; run deploy/build.sh first" >&2
  exit 1
fi
if [ "$LOCAL_BASE" = 1 ] && ! "$ENGINE" image exists docker.io/library/debian:bookworm-slim 2>/dev/null; then
  echo "image.sh: building the debian:bookworm-slim base with mmdebstrap"
  rm -f "$WORK/rootfs.tar"
  mmdebstrap --variant=essential --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    bookworm "$WORK/rootfs.tar" > "$WORK/mmdebstrap.log" 2>&1
  "$ENGINE" import "$WORK/rootfs.tar" docker.io/library/debian:bookworm-slim > /dev/null
  rm -f "$WORK/rootfs.tar"
fi
CONTEXT="$WORK/context"
rm -rf "$CONTEXT"
mkdir -p "$CONTEXT/debs"
cp build/cli/shardstream "$CONTEXT/shardstream"
strip "$CONTEXT/shardstream"
grep -v '^#' deploy/runtime-packages.txt > "$CONTEXT/debs/packages.txt"
# Every shared library the binary links must come from one of those packages.
missing=$(ldd build/cli/shardstream | awk '/=>/ { print $3 }' | while read -r lib; do
  pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1) || true
  [ -z "$pkg" ] && pkg=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1)
  case $pkg in libc6) ;; *) grep -qx "$pkg" "$CONTEXT/debs/packages.txt" || echo "$lib ($pkg)" ;; esac
done)
if [ -n "$missing" ]; then
  echo "image.sh: libraries not covered by deploy/runtime-packages.txt: $missing" >&2
  exit 1
fi
if [ "$OFFLINE" = 1 ]; then
  # The packages and their dependencies, as .deb files (those already in the base are
  # skipped by dpkg as installed at the same version).
  (cd "$CONTEXT/debs" && apt-get download $(apt-cache depends --recurse --no-recommends \
     --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances \
     $(cat packages.txt) | grep '^[a-z0-9]' | sort -u) > /dev/null 2>&1)
fi
"$ENGINE" build ${OFFLINE:+$( [ "$OFFLINE" = 1 ] && echo --network=none )} -f deploy/Dockerfile \
  -t "$TAG" "$CONTEXT"
size=$("$ENGINE" image inspect "$TAG" --format '{{.Size}}')
echo "image $TAG: $((size / 1024 / 1024)) MiB"

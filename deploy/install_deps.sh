#!/usr/bin/env bash
# Installs everything shardstream needs to build, test and run, from Debian 12 packages only.
# Idempotent: does nothing (not even `apt-get update`) when every package is already there.
# Run as root.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  # libraries
  librocksdb-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libabsl-dev libsimdjson-dev libzstd-dev libisal-dev libxxhash-dev zlib1g-dev
  libicu-dev libpcre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev pybind11-dev prometheus-cpp-dev
  # tools the tests, the demo and the benchmarks run
  python3 python3-dev python3-numpy python3-pytest gzip zstd isal procps
  # the Python client's PyTorch side (tests, examples/train_tiny_gpt.py); OpenBLAS because
  # Debian's torch otherwise runs its CPU matrix products on the reference BLAS (~7x slower)
  python3-torch libopenblas0-pthread
  # TLS test certificates (openssl CLI) and the metrics lint (promtool, from prometheus)
  openssl prometheus
  # the Kubernetes manifests' tests: strict JSON-schema validation of the YAML
  python3-yaml python3-jsonschema
  # the report's test: a real browser renders the page (headless Chromium), in a network
  # namespace of its own (unshare, from util-linux)
  chromium fonts-dejavu-core util-linux
  # tests/checks.sh: clang's thread-safety analysis, sanitizers and libFuzzer
  clang-14 libfuzzer-14-dev
  # the container image and its test (deploy/image.sh, tests/python/test_container.py): podman
  # with runc (crun fails on this cgroup setup), and mmdebstrap for a local debian base image
  podman runc mmdebstrap uidmap fuse-overlayfs
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Installs shardstream into a scratch prefix and builds tests/cmake_package against it with
# find_package(shardstream), then runs the result.
set -euo pipefail
BUILD_DIR=$1
SOURCE_DIR=$2
WORK=$(mktemp -d /tmp/shardstream-pkg-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cmake --install "$BUILD_DIR" --prefix "$WORK/prefix" > /dev/null
cmake -S "$SOURCE_DIR/tests/cmake_package" -B "$WORK/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$WORK/prefix" > /dev/null
cmake --build "$WORK/build" > /dev/null
"$WORK/build/uses_shardstream"

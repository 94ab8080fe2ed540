#!/usr/bin/env bash
# Installs shardstream into a scratch prefix and builds tests/cmake_package against it with
# find_package(shardstream), then runs the result; imports the installed Python package from
# the prefix (with Debian's python3, as a user of `cmake --install` would).
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
SITE=$(echo "$WORK"/prefix/lib/python3*/dist-packages)
cd "$WORK"  # not the source or build tree: the import must come from the prefix
PYTHONPATH="$SITE" /usr/bin/python3 -c "
import shardstream, shardstream.torch
assert shardstream.__file__.startswith('$SITE'), shardstream.__file__
print('installed python package:', shardstream.__file__)"

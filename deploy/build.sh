#!/usr/bin/env bash
# Configures and builds shardstream into build/ (Release with debug info). Used by the demo and
# the test runner; run deploy/install_deps.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's python3, not a pyenv one on PATH: its modules (numpy, pytest) come from apt.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
cmake --build build -j"$(nproc)"

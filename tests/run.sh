#!/usr/bin/env bash
# The whole test suite: install dependencies, build, run every C++ and Python test through
# ctest, then the checks of tests/checks.sh (clang thread-safety analysis, ASan + UBSan,
# fuzzers). This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install_deps.sh
bash deploy/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 900
# Thread-safety analysis, the suite under ASan + UBSan, and the fuzzers (tests/checks.sh).
bash tests/checks.sh

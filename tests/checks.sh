#!/usr/bin/env bash
# Checks that tests cannot make by themselves, run by tests/run.sh after the suite (and alone:
# `bash tests/checks.sh`). One clang tree, build-checks/, holds all three:
#   - clang's thread-safety analysis (-Wthread-safety as an error) over every annotated class
#     (GCC ignores ABSL_GUARDED_BY and friends);
#   - AddressSanitizer + UndefinedBehaviorSanitizer (leaks included) over the C++ tests and the
#     CLI's end-to-end tests (python_cli_tests runs the instrumented `shardstream`);
#   - the libFuzzer targets of tests/fuzz, SHARDSTREAM_FUZZ_SECONDS each (default 60, one per
#     core at a time), from
#     their seed corpora in tests/fuzz/corpus. Any crash, leak, sanitizer report or broken
#     invariant fails; the input that did it is left in build-checks/fuzz-findings/.
# A second clang tree, build-tsan/, runs the server and client tests (server_test: catalog,
# jobs, gRPC server, Reader) under ThreadSanitizer. Debian's Abseil is not instrumented, so
# TSan cannot see absl::Mutex by itself (a two-thread absl::MutexLock counter is reported as a
# race): tests/tsan/absl_sync_annotations.cc, linked into that tree's tests, tells it about
# every lock, wait and notification; tests/tsan/suppressions.txt leaves out reports with a frame
# in gRPC, protobuf, RocksDB or zstd, whose own hand-offs it cannot see either.
# Not run: the Python module's tests (an instrumented module in an uninstrumented python), the
# container and daemon suites (same binary paths as python_cli_tests, minutes of waiting).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${SHARDSTREAM_FUZZ_SECONDS:-60}
TREE=build-checks
CC=clang-14 CXX=clang++-14 cmake -S . -B "$TREE" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPython3_EXECUTABLE=/usr/bin/python3 -DSHARDSTREAM_SANITIZE=address,undefined \
  -DSHARDSTREAM_THREAD_SAFETY=ON -DSHARDSTREAM_BUILD_FUZZERS=ON \
  -DSHARDSTREAM_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$TREE" -j"$(nproc)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The C++ tests first, alone: under a sanitizer's slowdown, the timing of the gRPC drain tests
# does not survive sharing the machine with the Python suite.
ctest --test-dir "$TREE" --output-on-failure -j"$(nproc)" --timeout 900 -E 'python_|cmake_package'
# The CLI's end-to-end tests with the instrumented binary, but for seven that measure or import
# what a sanitizer changes: four resident-memory bounds (shadow memory and quarantine inflate
# RSS), two that import the Python module (an instrumented extension cannot load into
# Debian's uninstrumented python3), and the SIGKILL loop over a file committed in parts, whose
# length grows with the binary's slowness (the recovery it checks runs under the sanitizers in
# CatalogParts.AnInterruptedAddIsInvisibleAndUndoneByTheNextWriter).
PYTEST_ADDOPTS="-k 'not test_64_concurrent_streams_complete_with_bounded_memory and not \
test_index_memory_follows_the_budget_not_the_number_of_documents and not \
test_tokenize_memory_follows_the_budget_not_the_length_of_documents and not \
test_encode_jsonl_memory_does_not_follow_the_input_size and not \
test_a_file_beyond_its_memory_share_is_committed_in_parts_like_one_commit_and_survives_kill_9 and not \
test_python_reader_reads_partition_servers_like_the_embedded_stream and not \
test_the_pod_command_runs_and_serves_its_partitions'" \
  ctest --test-dir "$TREE" --output-on-failure --timeout 1800 -R python_cli_tests

FINDINGS=$TREE/fuzz-findings
rm -rf "$FINDINGS"
# One fuzzer per core at a time (each is single-threaded): 6 × 60 s take 3 minutes on 2 cores.
fuzz() {
  local fuzzer=$1
  mkdir -p "$FINDINGS/$fuzzer" "$TREE/fuzz-work/$fuzzer"
  # New inputs go to the work directory; the seeds in the repository stay as they are.
  if ! "$TREE/tests/fuzz/$fuzzer" -max_total_time="$FUZZ_SECONDS" -timeout=30 \
      -rss_limit_mb=3072 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$FINDINGS/$fuzzer/" "$TREE/fuzz-work/$fuzzer" \
      "tests/fuzz/corpus/$fuzzer" > "$FINDINGS/$fuzzer.log" 2>&1; then
    tail -60 "$FINDINGS/$fuzzer.log"
    echo "checks: $fuzzer failed; the input is in $FINDINGS/$fuzzer/" >&2
    return 1
  fi
  echo "fuzz: $fuzzer ${FUZZ_SECONDS}s: $(grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" \
    "$FINDINGS/$fuzzer.log" | tr '\n' ' ')"
}
fuzzers=(json_line_fuzzer corpus_reader_fuzzer tokenizer_json_fuzzer encode_fuzzer cursor_fuzzer
         request_fuzzer)
for ((i = 0; i < ${#fuzzers[@]}; i += $(nproc))); do
  pids=()
  for fuzzer in "${fuzzers[@]:i:$(nproc)}"; do
    fuzz "$fuzzer" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || { kill "${pids[@]}" 2>/dev/null; exit 1; }  # the first failure ends the checks
  done
done

# ThreadSanitizer: only what server_test needs, at -O1 (its reports need no more).
TSAN_TREE=build-tsan
CC=clang-14 CXX=clang++-14 cmake -S . -B "$TSAN_TREE" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DPython3_EXECUTABLE=/usr/bin/python3 \
  -DSHARDSTREAM_SANITIZE=thread -DSHARDSTREAM_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$TSAN_TREE" -j"$(nproc)" --target server_test
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 \
suppressions=$PWD/tests/tsan/suppressions.txt" "$TSAN_TREE/tests/server_test" --gtest_brief=1
echo "checks: thread-safety analysis, ASan+UBSan tests, fuzzers and TSan clean"

#!/usr/bin/env bash
# Plans at scale: a synthetic corpus of N small documents (default 1,000,000) is indexed and
# tokenized (GPT-2), then build/bench/stream_throughput reports the plan's build time, the
# first batch's latency, the plan's resident memory per document and the embedded stream's
# tokens/s on one thread from a warm store.
# usage: bench/plan_bench.sh [DOCS] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DOCS=${1:-1000000}
WORK=${2:-$(mktemp -d /tmp/shardstream-planbench-XXXXXX)}
BIN=build/cli/shardstream
/usr/bin/python3 tools/tiny_corpus.py "$DOCS" "$WORK/corpus"
rm -rf "$WORK/db"
t0=$(date +%s.%N)
"$BIN" index --db "$WORK/db" --corpus "$WORK/corpus" --jobs "$(nproc)" | sed 's/^/  /'
t1=$(date +%s.%N)
"$BIN" tokenize --db "$WORK/db" --tokenizer tests/data/gpt2/tokenizer.json --jobs "$(nproc)" | sed 's/^/  /'
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$DOCS" \
  'BEGIN { printf "index %.2f s, tokenize %.2f s for %d documents\n", b - a, c - b, n }'
build/bench/stream_throughput "$WORK/db" gpt2 --tokens 300000000

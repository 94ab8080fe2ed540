#!/usr/bin/env bash
# Scale-out: one client Reader streaming from 3 partition servers (each holding a third of the
# partitions) against the same Reader streaming from one server holding everything — the same
# batches (checked), the same machine, alternating runs. Prints tokens/s of each and their
# ratio for every repeat, the min-max of the ratio, and the client's peak RSS.
# usage: bench/partition_bench.sh [MAX_CORPUS_BYTES] [REPEATS] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BYTES=${1:-60000000}
REPEATS=${2:-5}
WORK=${3:-$(mktemp -d /tmp/shardstream-partbench-XXXXXX)}
BIN=build/cli/shardstream
T=tests/data/gpt2/tokenizer.json
if [ ! -d "$WORK/corpus" ]; then
  /usr/bin/python3 tools/make_sample_corpus.py "$WORK/corpus" --max-bytes "$BYTES" \
    --shard-bytes 1000000 > /dev/null
fi
for db in all s0 s1 s2; do
  own=all
  case $db in s*) own="${db#s}/3" ;; esac
  "$BIN" index --db "$WORK/$db" --corpus "$WORK/corpus" --partitions 12 --own "$own" \
    --jobs "$(nproc)" > /dev/null
  "$BIN" tokenize --db "$WORK/$db" --tokenizer "$T" --name gpt2 --jobs "$(nproc)" > /dev/null
done
pids=()
trap 'kill "${pids[@]}" 2> /dev/null || true' EXIT
declare -A addr
for db in all s0 s1 s2; do
  "$BIN" serve --db "$WORK/$db" --listen 127.0.0.1:0 2> "$WORK/$db.log" &
  pids+=($!)
done
for db in all s0 s1 s2; do
  until grep -q "listening on" "$WORK/$db.log"; do sleep 0.1; done
  addr[$db]=$(grep -o "127.0.0.1:[0-9]*" "$WORK/$db.log" | head -1)
done
split="${addr[s0]},${addr[s1]},${addr[s2]}"
args=(gpt2 --seq-len 1024 --batch-size 8 --batches 4000)
# Same batches from both layouts (first 200, as npy).
"$BIN" stream --server "${addr[all]}" --tokenizer gpt2 --seq-len 1024 --batch-size 8 --seed 1 \
  --max-batches 200 --format npy --out "$WORK/one.npy" 2> /dev/null
"$BIN" stream --server "$split" --tokenizer gpt2 --seq-len 1024 --batch-size 8 --seed 1 \
  --max-batches 200 --format npy --out "$WORK/three.npy" 2> /dev/null
cmp "$WORK/one.npy" "$WORK/three.npy" && echo "identical batches from 1 and 3 servers"
rate() {  # tokens/s and peak RSS of one Reader run
  build/bench/reader_throughput "$1" "${args[@]}" |
    awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
           printf "%.0f %s\n", f["tokens"] / f["seconds"], f["peak_rss_kb"] }'
}
ratios=()
for r in $(seq "$REPEATS"); do
  read -r one rss1 < <(rate "${addr[all]}")
  read -r three rss3 < <(rate "$split")
  ratio=$(awk -v a="$three" -v b="$one" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$ratio")
  printf "repeat %d: 1 server %.1f M tokens/s (client peak %d MiB), 3 partition servers %.1f M tokens/s (client peak %d MiB): ratio %s\n" \
    "$r" "$(awk -v x="$one" 'BEGIN{print x/1e6}')" $((rss1 / 1024)) \
    "$(awk -v x="$three" 'BEGIN{print x/1e6}')" $((rss3 / 1024)) "$ratio"
done
printf "ratio (3 partition servers / 1 server) min-max over %d repeats: %s\n" "$REPEATS" \
  "$(printf "%s\n" "${ratios[@]}" | sort -n | sed -n '1p;$p' | paste -sd-)"

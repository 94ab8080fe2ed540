#!/usr/bin/env bash
# Memory of `shardstream serve` under many streams: starts the server on a loopback port over a
# tokenized catalog, runs STREAMS `shardstream stream --server` clients at once (each its own
# seed, so each its own epoch layout; each reading BATCHES batches of 8 × 1024), and samples
# the server's /proc status every 0.2 s. Prints the server's peak RSS, split into anonymous
# memory (its own: plans, layouts, gRPC, stream threads) and file pages (the token packs it
# mapped and read: page cache the kernel can drop), before and during the streams.
#
# usage: bench/serve_rss_bench.sh DB [STREAMS] [BATCHES]   (defaults: 64 streams, 300 batches)
#   env BUILD (default build), TOKENIZER_NAME (default gpt2), SAME_SEED=1: every stream seed 1,
#   MAX_STREAMS (the server's --max-streams, default 256)
set -euo pipefail
cd "$(dirname "$0")/.."
DB=$1
STREAMS=${2:-64}
BATCHES=${3:-300}
BUILD=${BUILD:-build}
B=$BUILD/cli/shardstream
WORK=$(mktemp -d /tmp/shardstream-rss-XXXXXX)
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$B" serve --db "$DB" --listen 127.0.0.1:0 --follow-seconds 0 --max-streams "${MAX_STREAMS:-256}" \
  > "$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do
  grep -q "listening on" "$WORK/serve.log" && break
  sleep 0.1
done
ADDRESS=$(grep -o "listening on [0-9.:]*" "$WORK/serve.log" | head -1 | awk '{print $3}')
[ -n "$ADDRESS" ] || { cat "$WORK/serve.log" >&2; exit 1; }

# kB of VmRSS, RssAnon and RssFile of the server now.
sample() { awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s ", $2} END {print ""}' "/proc/$SERVER/status"; }
read -r idle_rss idle_anon idle_file < <(sample)

clients=()
for ((s = 1; s <= STREAMS; s++)); do
  seed=$s
  [ "${SAME_SEED:-0}" = 1 ] && seed=1
  "$B" stream --server "$ADDRESS" --tokenizer "${TOKENIZER_NAME:-gpt2}" --seq-len 1024 \
    --batch-size 8 --seed "$seed" --max-batches "$BATCHES" --format npy --out /dev/null \
    2> "$WORK/client-$s.log" &
  clients+=($!)
done
peak_rss=0 peak_anon=0 peak_file=0
while :; do
  read -r rss anon file < <(sample)
  ((rss > peak_rss)) && peak_rss=$rss
  ((anon > peak_anon)) && peak_anon=$anon
  ((file > peak_file)) && peak_file=$file
  running=0
  for pid in "${clients[@]}"; do kill -0 "$pid" 2>/dev/null && running=1 && break; done
  ((running)) || break
  sleep 0.2
done
failed=0
for pid in "${clients[@]}"; do wait "$pid" || failed=$((failed + 1)); done
((failed == 0)) || { echo "$failed clients failed:" >&2; cat "$WORK"/client-*.log >&2; exit 1; }
echo "{\"streams\": $STREAMS, \"batches_each\": $BATCHES, \"same_seed\": ${SAME_SEED:-0}," \
  "\"idle_rss_mib\": $((idle_rss / 1024)), \"idle_anon_mib\": $((idle_anon / 1024))," \
  "\"peak_rss_mib\": $((peak_rss / 1024)), \"peak_anon_mib\": $((peak_anon / 1024))," \
  "\"peak_file_mib\": $((peak_file / 1024))," \
  "\"anon_kib_per_stream\": $(((peak_anon - idle_anon) / STREAMS))}"

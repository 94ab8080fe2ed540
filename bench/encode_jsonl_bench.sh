#!/usr/bin/env bash
# `shardstream encode --jsonl` against the encoder alone at the same thread count, side by side
# in each round: the Encoder on one thread and EncodeBatch on JOBS threads over texts already in
# memory (build/bench/tokenizer_throughput), and `encode --jsonl --jobs 1` / `--jobs JOBS` over
# the same texts as a JSON-lines file (reading, parsing, encoding, printing to /dev/null), minus
# the same command's time on a one-line file (loading the tokenizer). Prints each round and the
# min–max of the ratios, and the command's peak RSS.
#
# usage: bench/encode_jsonl_bench.sh [CORPUS] [MAX_MB] [JOBS] [ROUNDS]
#   CORPUS  JSON-lines corpus (files or a directory); default: this machine's Python files
#   MAX_MB  MB of text (default 80); JOBS (default nproc); ROUNDS (default 3)
#   env TOKENIZER (default tests/data/gpt2/tokenizer.json), BUILD (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
TOKENIZER=${TOKENIZER:-tests/data/gpt2/tokenizer.json}
BUILD=${BUILD:-build}
MAX_MB=${2:-80}
JOBS=${3:-$(nproc)}
ROUNDS=${4:-3}
B=$BUILD/cli/shardstream
WORK=$(mktemp -d /tmp/shardstream-encbench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
CORPUS=${1:-}
if [ -z "$CORPUS" ]; then
  CORPUS=$WORK/corpus
  /usr/bin/python3 tools/make_sample_corpus.py "$CORPUS" --max-bytes $((MAX_MB * 1000000)) 2>/dev/null
fi
/usr/bin/python3 tools/corpus_texts.py "$CORPUS" "$MAX_MB" "$WORK/texts.jsonl"
head -1 "$WORK/texts.jsonl" > "$WORK/one.jsonl"
BYTES=$(/usr/bin/python3 -c "import json,sys; print(sum(len(json.loads(l)['text'].encode()) for l in open(sys.argv[1])))" "$WORK/texts.jsonl")
echo "texts: $((BYTES / 1000000)) MB, jobs $JOBS, $ROUNDS rounds"

seconds() {  # wall seconds of a command, output discarded
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > /dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
RATIOS1=() RATIOSJ=()
for ((r = 1; r <= ROUNDS; r++)); do
  alone=$("$BUILD/bench/tokenizer_throughput" "$TOKENIZER" "$WORK/texts.jsonl" --field text \
          --jobs "$JOBS" --runs 1)
  enc1=$(echo "$alone" | /usr/bin/python3 -c "import json,sys; r=[json.loads(l) for l in sys.stdin]; print(r[0]['mb_per_s'])")
  encj=$(echo "$alone" | /usr/bin/python3 -c "import json,sys; r=[json.loads(l) for l in sys.stdin]; print(r[-1]['mb_per_s'])")
  load=$(seconds "$B" encode --tokenizer "$TOKENIZER" --jsonl "$WORK/one.jsonl")
  s1=$(seconds "$B" encode --tokenizer "$TOKENIZER" --jsonl "$WORK/texts.jsonl" --jobs 1)
  sj=$(seconds "$B" encode --tokenizer "$TOKENIZER" --jsonl "$WORK/texts.jsonl" --jobs "$JOBS")
  mb1=$(echo "$BYTES / ($s1 - $load) / 1000000" | bc -l)
  mbj=$(echo "$BYTES / ($sj - $load) / 1000000" | bc -l)
  RATIOS1+=("$(echo "$mb1 / $enc1" | bc -l)")
  RATIOSJ+=("$(echo "$mbj / $encj" | bc -l)")
  printf "round %d: Encoder %.1f MB/s, encode --jsonl --jobs 1 %.1f MB/s (%.2fx); EncodeBatch(%d) %.1f MB/s, --jobs %d %.1f MB/s (%.2fx)\n" \
    "$r" "$enc1" "$mb1" "${RATIOS1[-1]}" "$JOBS" "$encj" "$JOBS" "$mbj" "${RATIOSJ[-1]}"
done
range() { printf "%s\n" "$@" | sort -g | awk 'NR==1{a=$1} {b=$1} END{printf "%.2f-%.2f", a, b}'; }
echo "encode --jsonl / encoder alone: --jobs 1 $(range "${RATIOS1[@]}"), --jobs $JOBS $(range "${RATIOSJ[@]}")"
/usr/bin/time -f "peak RSS of encode --jsonl --jobs $JOBS: %M KB" \
  "$B" encode --tokenizer "$TOKENIZER" --jsonl "$WORK/texts.jsonl" --jobs "$JOBS" > /dev/null

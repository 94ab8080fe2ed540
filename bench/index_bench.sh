#!/usr/bin/env bash
# Index throughput against decompression anchors, side by side in one run:
#   gzip -dc > /dev/null, igzip -dc > /dev/null (ISA-L), shardstream index --jobs 1 and --jobs 2,
# all on the same .gz files (best of N runs each, page cache warm), and the catalog's size
# against the compressed corpus. Prints ratios, which stay meaningful on a noisy shared machine.
#
# usage: bench/index_bench.sh [CORPUS_DIR] [RUNS]
#   CORPUS_DIR defaults to a sample corpus made from this machine's Python files.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/cli/shardstream}
RUNS=${2:-5}
WORK=$(mktemp -d /tmp/shardstream-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
CORPUS=${1:-}
if [ -z "$CORPUS" ]; then
  CORPUS=$WORK/corpus
  /usr/bin/python3 tools/make_sample_corpus.py "$CORPUS" --max-bytes 40000000 2>/dev/null
fi
mapfile -t FILES < <(find "$CORPUS" -type f -name '*.gz' | sort)
[ ${#FILES[@]} -gt 0 ] || { echo "no .gz files under $CORPUS" >&2; exit 1; }
cat "${FILES[@]}" > /dev/null  # warm the page cache

# best_of CMD...: "wall cpu" seconds of the fastest of $RUNS runs (cpu = user + sys).
best_of() {
  local best="" TIMEFORMAT='%R %U %S'
  for _ in $(seq "$RUNS"); do
    local t
    t=$({ time "$@" > /dev/null 2>&1; } 2>&1 | tail -1)
    best=$(echo "$t $best" | awk '{w=$1; c=$2+$3; if ($4=="" || w<$4) print w, c; else print $4, $5}')
  done
  echo "$best"
}
gunzip_all() { for f in "${FILES[@]}"; do "$1" -dc "$f"; done > /dev/null; }
index_jobs() { rm -rf "$WORK/db"; "$BIN" index --db "$WORK/db" --corpus "$CORPUS" --jobs "$1"; }

compressed=$(cat "${FILES[@]}" | wc -c)
t_gzip=$(best_of gunzip_all gzip)
t_igzip=""
command -v igzip > /dev/null && t_igzip=$(best_of gunzip_all igzip)
t_index1=$(best_of index_jobs 1)
t_index2=$(best_of index_jobs 2)
index_jobs 1 > /dev/null 2>&1
catalog=$(du -sb "$WORK/db" | cut -f1)
docs=$("$BIN" stats --db "$WORK/db" --json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["docs"], d["decoded_bytes"])')

echo "corpus: ${#FILES[@]} gzip files, $compressed compressed bytes, docs/decoded bytes: $docs"
echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
awk -v c="$compressed" -v g="$t_gzip" -v i="$t_igzip" -v a="$t_index1" -v b="$t_index2" -v s="$catalog" 'BEGIN {
  split(g, G, " "); split(i, I, " "); split(a, A, " "); split(b, B, " ")
  printf "%-28s %8s %8s %10s %16s %16s\n", "", "wall s", "cpu s", "MB/s (gz)", "wall / gzip -dc", "cpu / gzip -dc"
  row("gzip -dc", G)
  if (i != "") row("igzip -dc (ISA-L)", I)
  row("shardstream index --jobs 1", A)
  row("shardstream index --jobs 2", B)
  printf "catalog size: %d bytes = %.1f%% of the compressed corpus\n", s, 100*s/c
}
function row(name, T) {
  printf "%-28s %8.3f %8.3f %10.1f %16.2f %16.2f\n", name, T[1], T[2], c/T[1]/1e6, T[1]/G[1], T[2]/G[2]
}'

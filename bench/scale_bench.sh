#!/usr/bin/env bash
# How each stage's cost grows with the corpus, side by side in one run. Corpora: a base sample
# of this machine's Python files (tools/make_sample_corpus.py), the same at 4× and 16×
# (tools/scale_corpus.py: every copy a distinct text of the same shape) and a corpus of tiny
# documents (tools/tiny_corpus.py). For each, ROUNDS times, ratios against an anchor measured
# in the same round:
#   index      CPU seconds of `index --jobs 1` / CPU seconds of `gzip -dc` of the same files
#   tokenize   MB/s of `tokenize --jobs 1` / MB/s of the encoder alone (tokenizer_throughput)
#   plan       build of a new plan and its first batch, µs per document (stream_throughput)
#   served     tokens/s of `serve` / tokens/s of a bare gRPC stream of the same messages, at
#              1, 8 and 64 clients, and through the client library's Reader at 1 client
#              (served_throughput)
# and each process's peak RSS. Prints min–max over the rounds.
#
# usage: bench/scale_bench.sh [BASE_MB] [ROUNDS] [TINY_DOCS] [WORK_DIR]
#   defaults: 10 MB of Python text, 3 rounds, 1,000,000 tiny documents, a temporary folder
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_MB=${1:-10}
ROUNDS=${2:-3}
TINY_DOCS=${3:-1000000}
WORK=${4:-$(mktemp -d /tmp/shardstream-scalebench-XXXXXX)}
BUILD=${BUILD:-build}
B=$BUILD/cli/shardstream
TOKENIZER=tests/data/gpt2/tokenizer.json
mkdir -p "$WORK"
RESULTS=$WORK/results.jsonl
: > "$RESULTS"

echo "corpora in $WORK"
/usr/bin/python3 tools/make_sample_corpus.py "$WORK/x1" --max-bytes $((BASE_MB * 1000000)) \
  --shard-bytes $((BASE_MB * 250000)) 2>/dev/null
/usr/bin/python3 tools/scale_corpus.py "$WORK/x1" 4 "$WORK/x4"
/usr/bin/python3 tools/scale_corpus.py "$WORK/x1" 16 "$WORK/x16"
/usr/bin/python3 tools/tiny_corpus.py "$TINY_DOCS" "$WORK/tiny" --max-words 40

# measure CMD...: "wall cpu peak_rss_kb" of one run (output discarded).
measure() {
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" "$@" > /dev/null 2> "$WORK/stderr" ||
    { cat "$WORK/stderr" >&2; return 1; }
  awk '{print $1, $2 + $3, $4}' "$WORK/time"
}

for corpus in x1 x4 x16 tiny; do
  files=("$WORK/$corpus"/*.gz)
  cat "${files[@]}" > /dev/null  # warm the page cache
  for ((r = 1; r <= ROUNDS; r++)); do
    db=$WORK/db-$corpus
    rm -rf "$db"
    read -r _ gzip_cpu _ < <(measure sh -c 'gzip -dc "$@"' _ "${files[@]}")
    read -r _ index_cpu index_rss < <(measure "$B" index --db "$db" --corpus "$WORK/$corpus" --jobs 1)
    encoder=$("$BUILD/bench/tokenizer_throughput" "$TOKENIZER" "$WORK/$corpus" --jobs 1 --runs 1)
    encoder=${encoder%%$'\n'*}  # the one-thread Encoder
    read -r tok_wall _ tok_rss < <(measure "$B" tokenize --db "$db" --tokenizer "$TOKENIZER" --jobs 1)
    plan=$("$BUILD/bench/stream_throughput" "$db" gpt2 --tokens 2000000)
    /usr/bin/time -f "%M" -o "$WORK/serve-rss" "$BUILD/bench/served_throughput" "$db" gpt2 \
      --batches 1600 --clients 1,8,64 2> /dev/null > "$WORK/served"
    /usr/bin/python3 - "$corpus" "$r" "$gzip_cpu" "$index_cpu" "$index_rss" "$encoder" \
      "$tok_wall" "$tok_rss" "$plan" "$WORK/served" "$(cat "$WORK/serve-rss")" >> "$RESULTS" <<'PY'
import json, sys
(corpus, rnd, gzip_cpu, index_cpu, index_rss, encoder, tok_wall, tok_rss, plan, served,
 serve_rss) = sys.argv[1:]
encoder, plan = json.loads(encoder), json.loads(plan)
vs_bare, bare, reader = {}, {}, {}
for line in open(served):
    cols = line.split()
    # Rows: a name, then clients, M tokens/s, ms/batch, first batch ms, and for the bare and
    # served rows vs bare, fairness, cpu us/batch, cpu vs bare (the Reader row stops at four).
    if line.startswith("bare gRPC stream") and len(cols) >= 11:  # name: 5 words
        bare[cols[5]] = float(cols[6])
    elif line.startswith("shardstream serve via Reader") and len(cols) >= 8:  # 4 words
        reader[cols[4]] = float(cols[5])
    elif line.startswith("shardstream serve ") and len(cols) >= 8:  # 2 words
        vs_bare[cols[2]] = float(cols[6])
if not bare or not vs_bare:
    sys.exit(f"no bare or served rows in {served}: has served_throughput's output changed?")
reader_vs_bare = {n: tokens / bare[n] for n, tokens in reader.items() if n in bare}
row = {
    "corpus": corpus, "round": int(rnd), "docs": plan["docs"], "text_mb": encoder["bytes"] / 1e6,
    "index_vs_gzip_cpu": float(index_cpu) / float(gzip_cpu), "index_rss_mb": int(index_rss) / 1024,
    "tokenize_vs_encoder": encoder["bytes"] / float(tok_wall) / 1e6 / encoder["mb_per_s"],
    "tokenize_rss_mb": int(tok_rss) / 1024,
    "plan_build_us_per_doc": 1e6 * plan["plan_build_s"] / plan["docs"],
    "first_batch_us_per_doc": 1e6 * plan["first_batch_s"] / plan["docs"],
    "served_vs_bare": vs_bare, "reader_vs_bare": reader_vs_bare,
    "serve_rss_mb": int(serve_rss) / 1024,
}
print(json.dumps(row))
PY
    tail -1 "$RESULTS"
  done
done

/usr/bin/python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def span(values, fmt):
    return f"{fmt.format(min(values))}–{fmt.format(max(values))}"
keys = [("index_vs_gzip_cpu", "index / gzip -dc CPU", "{:.1f}"),
        ("index_rss_mb", "index peak RSS MB", "{:.0f}"),
        ("tokenize_vs_encoder", "tokenize / encoder", "{:.2f}"),
        ("tokenize_rss_mb", "tokenize peak RSS MB", "{:.0f}"),
        ("plan_build_us_per_doc", "plan build µs/doc", "{:.2f}"),
        ("first_batch_us_per_doc", "first batch µs/doc", "{:.2f}")]
corpora = list(dict.fromkeys(r["corpus"] for r in rows))
by = {c: [r for r in rows if r["corpus"] == c] for c in corpora}
print()
print("| | " + " | ".join(corpora) + " |")
print("|---" * (len(corpora) + 1) + "|")
print("| documents | " + " | ".join(f"{by[c][0]['docs']:,}" for c in corpora) + " |")
print("| text MB | " + " | ".join(f"{by[c][0]['text_mb']:.0f}" for c in corpora) + " |")
for key, name, fmt in keys:
    print(f"| {name} | " + " | ".join(span([r[key] for r in by[c]], fmt) for c in corpora) + " |")
for clients in sorted({k for r in rows for k in r["served_vs_bare"]}, key=int):
    print(f"| served / bare gRPC, {clients} clients | " + " | ".join(
        span([r["served_vs_bare"].get(clients, 0) for r in by[c]], "{:.2f}") for c in corpora) + " |")
for clients in sorted({k for r in rows for k in r.get("reader_vs_bare", {})}, key=int):
    print(f"| served via the client Reader / bare gRPC, {clients} client | " + " | ".join(
        span([r["reader_vs_bare"].get(clients, 0) for r in by[c]], "{:.2f}") for c in corpora) + " |")
print("| serve + clients peak RSS MB | " + " | ".join(
    span([r["serve_rss_mb"] for r in by[c]], "{:.0f}") for c in corpora) + " |")
PY

#!/usr/bin/env bash
# Tokenizer throughput, side by side in one run: shardstream (1 thread, and --jobs N) against
# the npm builds of tiktoken (WASM) and Hugging Face tokenizers (native), on the same texts.
# Ratios are what to compare: the machines are shared and noisy.
#
# usage: bench/tokenizer_bench.sh [CORPUS] [MAX_MB] [JOBS]
#   CORPUS   JSON-lines corpus (files or directory); default: a sample of this machine's Python files
#   MAX_MB   MB of text to use (default 8: the npm tokenizers anchor runs at ~1 MB/s)
#   env TOKENIZER (default tests/data/gpt2/tokenizer.json), NPM_DIR: a folder whose node_modules
#   holds `tiktoken` and `tokenizers` (for example after `npm install tiktoken tokenizers` there).
set -euo pipefail
cd "$(dirname "$0")/.."
TOKENIZER=${TOKENIZER:-tests/data/gpt2/tokenizer.json}
MAX_MB=${2:-8}
JOBS=${3:-$(nproc)}
WORK=$(mktemp -d /tmp/shardstream-tokbench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
CORPUS=${1:-}
if [ -z "$CORPUS" ]; then
  CORPUS=$WORK/corpus
  /usr/bin/python3 tools/make_sample_corpus.py "$CORPUS" --max-bytes 40000000 2>/dev/null
fi
# The same texts for everyone: {"text": ...} lines, up to MAX_MB of UTF-8.
/usr/bin/python3 tools/corpus_texts.py "$CORPUS" "$MAX_MB" "$WORK/texts.jsonl"
{
  build/bench/tokenizer_throughput "$TOKENIZER" "$WORK/texts.jsonl" --field text --jobs "$JOBS"
  if command -v node >/dev/null && [ -n "${NPM_DIR:-}" ]; then
    NODE_PATH="$NPM_DIR/node_modules" node bench/tokenizer_anchors.js "$TOKENIZER" "$WORK/texts.jsonl"
  else
    echo "(set NPM_DIR to a folder with node_modules/tiktoken and node_modules/tokenizers for the anchors)" >&2
  fi
} > "$WORK/results.jsonl"
/usr/bin/python3 - "$WORK/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
base = rows[0]
print(f"{rows[0]['docs']} docs, {rows[0]['bytes']/1e6:.1f} MB, {rows[0]['tokens']} tokens; "
      "ratios: shardstream 1 thread / row")
print(f"{'':42} {'threads':>7} {'MB/s':>8} {'Mtok/s':>8} {'ratio':>7}")
for r in rows:
    print(f"{r['name']:42} {r['threads']:>7} {r['mb_per_s']:8.2f} {r['tokens_per_s']/1e6:8.2f} "
          f"{base['mb_per_s']/r['mb_per_s']:7.2f}")
if any(r["tokens"] != base["tokens"] for r in rows):
    print("WARNING: token counts differ:", [(r["name"], r["tokens"]) for r in rows])
PY

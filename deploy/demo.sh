#!/usr/bin/env bash
# The main job on an embedded default: install dependencies, build, make a sample corpus from
# this machine's own Python files (CodeParrot format: gzipped JSON lines), index it into a
# RocksDB catalog, find its near duplicates, print what is inside, tokenize it with GPT-2,
# write what is inside as an HTML report, start the shard server daemon,
# stream shuffled, packed batches from it (a few decoded for people, then many with the
# throughput), check they equal the embedded stream and what the Python client reads, then
# serve the same dataset from 3 shard servers holding a third of its partitions each and check
# the stream does not change, and stop the daemons.
# Re-runnable; work files go to ${WORK:-/tmp/shardstream-demo}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install_deps.sh
bash deploy/build.sh

WORK=${WORK:-/tmp/shardstream-demo}
BIN=build/cli/shardstream
mkdir -p "$WORK"
if [ ! -d "$WORK/corpus" ]; then
  /usr/bin/python3 tools/make_sample_corpus.py "$WORK/corpus" --max-bytes 40000000 \
    --shard-bytes 2000000
fi

echo "== shardstream index (first run: reads every file; a dataset of 6 partitions)"
rm -rf "$WORK/catalog"
"$BIN" index --db "$WORK/catalog" --corpus "$WORK/corpus" --jobs "$(nproc)" --partitions 6
echo "== shardstream index (second run: nothing changed, nothing read)"
"$BIN" index --db "$WORK/catalog" --corpus "$WORK/corpus"
echo "== shardstream dedup (near duplicates: MinHash LSH, Jaccard >= 0.7, within each partition)"
"$BIN" dedup --db "$WORK/catalog" --jobs "$(nproc)"
echo "== shardstream stats"
"$BIN" stats --db "$WORK/catalog"
echo "== catalog size: $(du -sk "$WORK/catalog" | cut -f1) KiB for $(du -ck "$WORK"/corpus/* | tail -1 | cut -f1) KiB of compressed corpus"
echo "== shardstream tokenize (GPT-2, exact Hugging Face ids)"
"$BIN" tokenize --db "$WORK/catalog" --tokenizer tests/data/gpt2/tokenizer.json --jobs "$(nproc)"
echo "== shardstream report: one self-contained HTML page on what is inside (GPT-2's fit included)"
"$BIN" report --db "$WORK/catalog" --out "$WORK/report.html"
echo "== shardstream serve: the daemon, on a free loopback port"
"$BIN" serve --db "$WORK/catalog" --listen 127.0.0.1:0 2> "$WORK/serve.log" &
SERVER_PID=$!
SHARD_PIDS=()
trap 'kill $SERVER_PID "${SHARD_PIDS[@]}" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.log" && break; sleep 0.1; done
ADDRESS=$(grep -o "listening on [0-9.:]*" "$WORK/serve.log" | cut -d' ' -f3)
echo "server at $ADDRESS"
echo "== shardstream stream --server: 2 batches of 2 × 48 tokens, decoded (rank 0 of 2, seed 7)"
"$BIN" stream --server "$ADDRESS" --tokenizer gpt2 --seq-len 48 --batch-size 2 --seed 7 \
  --world-size 2 --rank 0 --max-batches 2 --format text
echo "== shardstream stream --server: 2,000 batches of 8 × 1024 tokens into $WORK/batches.npy"
"$BIN" stream --server "$ADDRESS" --tokenizer gpt2 --seq-len 1024 --batch-size 8 --seed 7 \
  --max-batches 2000 --format npy --out "$WORK/batches.npy"
/usr/bin/python3 -c "import numpy as np, sys; a = np.load(sys.argv[1]); print('numpy sees', a.shape, a.dtype)" "$WORK/batches.npy"
echo "== the same from the catalog directly (embedded): byte-identical"
"$BIN" stream --db "$WORK/catalog" --tokenizer gpt2 --seq-len 1024 --batch-size 8 --seed 7 \
  --max-batches 2000 --format npy --out "$WORK/embedded.npy" 2>/dev/null
cmp "$WORK/batches.npy" "$WORK/embedded.npy" && echo "identical: $WORK/batches.npy = $WORK/embedded.npy"
echo "== the Python client (shardstream.Reader, NumPy views, no copy): the same 2,000 batches"
PYTHONPATH=build/python /usr/bin/python3 - "$ADDRESS" "$WORK/batches.npy" <<'PYTHON'
import sys, time
import numpy as np
import shardstream
address, saved = sys.argv[1], np.load(sys.argv[2])
reader = shardstream.Reader(address, tokenizer="gpt2", seq_len=1024, batch_size=8, seed=7)
start, same = time.perf_counter(), True
for i, batch in zip(range(len(saved)), reader):
    same &= np.array_equal(batch.tokens, saved[i])
seconds = time.perf_counter() - start
print(f"python: {len(saved)} batches, {saved.size / seconds / 1e6:.1f} M tokens/s, "
      f"{'identical to' if same else 'DIFFERENT FROM'} the CLI's; resume with {reader.state_dict()}")
sys.exit(0 if same else 1)
PYTHON
echo "== scale-out: 3 shard servers, each holding a third of the 6 partitions (index --own i/3)"
SHARDS=()
for i in 0 1 2; do
  rm -rf "$WORK/shard-$i"
  "$BIN" index --db "$WORK/shard-$i" --corpus "$WORK/corpus" --partitions 6 --own "$i/3" \
    --jobs "$(nproc)" | sed 's/^/  /'
  "$BIN" tokenize --db "$WORK/shard-$i" --tokenizer tests/data/gpt2/tokenizer.json \
    --jobs "$(nproc)" > /dev/null
  "$BIN" serve --db "$WORK/shard-$i" --listen 127.0.0.1:0 2> "$WORK/shard-$i.log" &
  SHARD_PIDS+=($!)
done
for i in 0 1 2; do
  for _ in $(seq 100); do grep -q "listening on" "$WORK/shard-$i.log" && break; sleep 0.1; done
  SHARDS+=("$(grep -o "listening on [0-9.:]*" "$WORK/shard-$i.log" | cut -d' ' -f3)")
done
SPLIT=$(IFS=,; echo "${SHARDS[*]}")
echo "== shardstream stream --server $SPLIT: the client interleaves the partitions itself"
"$BIN" stream --server "$SPLIT" --tokenizer gpt2 --seq-len 1024 --batch-size 8 --seed 7 \
  --max-batches 2000 --format npy --out "$WORK/sharded.npy"
cmp "$WORK/batches.npy" "$WORK/sharded.npy" && echo "identical: 3 partition servers = 1 server holding everything"
echo "== stopping the daemons (SIGTERM)"
kill -TERM $SERVER_PID "${SHARD_PIDS[@]}"
wait $SERVER_PID && echo "daemon exited 0"
for pid in "${SHARD_PIDS[@]}"; do wait "$pid"; done && echo "shard servers exited 0"
trap - EXIT

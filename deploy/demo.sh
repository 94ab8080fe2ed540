#!/usr/bin/env bash
# The main job on an embedded default: install dependencies, build, make a sample corpus from
# this machine's own Python files (CodeParrot format: gzipped JSON lines), index it into a
# RocksDB catalog, print what is inside, tokenize it with GPT-2, start the shard server daemon,
# stream shuffled, packed batches from it (a few decoded for people, then many with the
# throughput), check they equal the embedded stream and what the Python client reads, and stop
# the daemon.
# Re-runnable; work files go to ${WORK:-/tmp/shardstream-demo}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install_deps.sh
bash deploy/build.sh

WORK=${WORK:-/tmp/shardstream-demo}
BIN=build/client/shardstream
mkdir -p "$WORK"
if [ ! -d "$WORK/corpus" ]; then
  /usr/bin/python3 tools/make_sample_corpus.py "$WORK/corpus" --max-bytes 40000000
fi

echo "== shardstream index (first run: reads every file)"
rm -rf "$WORK/catalog"
"$BIN" index --db "$WORK/catalog" --corpus "$WORK/corpus" --jobs "$(nproc)"
echo "== shardstream index (second run: nothing changed, nothing read)"
"$BIN" index --db "$WORK/catalog" --corpus "$WORK/corpus"
echo "== shardstream stats"
"$BIN" stats --db "$WORK/catalog"
echo "== catalog size: $(du -sk "$WORK/catalog" | cut -f1) KiB for $(du -ck "$WORK"/corpus/* | tail -1 | cut -f1) KiB of compressed corpus"
echo "== shardstream tokenize (GPT-2, exact Hugging Face ids)"
"$BIN" tokenize --db "$WORK/catalog" --tokenizer tests/data/gpt2/tokenizer.json --jobs "$(nproc)"
echo "== shardstream serve: the daemon, on a free loopback port"
"$BIN" serve --db "$WORK/catalog" --listen 127.0.0.1:0 2> "$WORK/serve.log" &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
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
echo "== stopping the daemon (SIGTERM)"
kill -TERM $SERVER_PID
wait $SERVER_PID && echo "daemon exited 0"
trap - EXIT

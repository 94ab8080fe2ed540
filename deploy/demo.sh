#!/usr/bin/env bash
# The main job on an embedded default: install dependencies, build, make a sample corpus from
# this machine's own Python files (CodeParrot format: gzipped JSON lines), index it into a
# RocksDB catalog, and print what is inside. Re-runnable; work files go to ${WORK:-/tmp/shardstream-demo}.
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

#!/usr/bin/env python3
"""Writes a corpus N times the size of a CodeParrot-format corpus: each shard N times, copy c
of every document starting with a line "# copy c" (copy 0 unchanged), so that every copy is a
distinct text (exact dedup keeps them all) of the same shape as the original.

usage: scale_corpus.py BASE_DIR N OUT_DIR
"""
import gzip
import json
import os
import sys


def main():
    base, n, out_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(out_dir, exist_ok=True)
    shards = sorted(f for f in os.listdir(base) if f.endswith((".jsonl.gz", ".json.gz")))
    for shard in shards:
        with gzip.open(os.path.join(base, shard), "rt", encoding="utf-8") as f:
            lines = [json.loads(line) for line in f]
        stem = shard.split(".json")[0]
        for c in range(n):
            path = os.path.join(out_dir, f"{stem}-copy{c:03d}.jsonl.gz")
            with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as o:
                for doc in lines:
                    if c > 0:
                        doc = dict(doc, content=f"# copy {c}\n" + doc["content"])
                    o.write(json.dumps(doc) + "\n")


if __name__ == "__main__":
    main()

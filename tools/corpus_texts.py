#!/usr/bin/env python3
"""Writes the `content` of a corpus's JSON lines as {"text": ...} lines, up to a number of MB
of UTF-8 (whole texts only): the same texts for every side of a tokenizer benchmark.

usage: corpus_texts.py CORPUS MAX_MB OUT.jsonl   (CORPUS: a .jsonl[.gz] file or a folder of them)
"""
import gzip
import json
import os
import sys


def main():
    root, max_mb, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    paths = [root] if os.path.isfile(root) else sorted(
        os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
        if ".json" in f and f != "manifest.json")
    total, limit = 0, max_mb * 1e6
    with open(out, "w", encoding="utf-8") as o:
        for p in paths:
            opener = gzip.open if p.endswith(".gz") else open
            with opener(p, "rt", encoding="utf-8") as f:
                for line in f:
                    text = json.loads(line).get("content")
                    if not isinstance(text, str):
                        continue
                    size = len(text.encode())
                    if total + size > limit:
                        return
                    total += size
                    o.write(json.dumps({"text": text}) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a CodeParrot-format corpus of many tiny Python-like documents (random keywords, a
few to a few dozen tokens each), 100,000 per .jsonl.gz file: the shape of chat turns,
snippets and commit messages, for plan and serving benchmarks.

usage: tiny_corpus.py DOCS OUT_DIR [--max-words 60] [--seed 1]
"""
import argparse
import gzip
import json
import os
import random

WORDS = ["def", "return", "self", "value", "import", "os", "class", "for", "in", "range", "if",
         "else", "print", "x", "y", "=", "+", "(", ")", ":", "\n", "    ", "None", "True"]
PER_FILE = 100_000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("docs", type=int)
    parser.add_argument("out_dir")
    parser.add_argument("--max-words", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    rng = random.Random(args.seed)
    for first in range(0, args.docs, PER_FILE):
        path = os.path.join(args.out_dir, f"part-{first // PER_FILE:05d}.jsonl.gz")
        with gzip.open(path, "wt", compresslevel=1) as out:
            for i in range(first, min(args.docs, first + PER_FILE)):
                words = rng.randint(5, args.max_words)
                text = " ".join(rng.choice(WORDS) for _ in range(words)) + f" # {i}\n"
                out.write(json.dumps({"content": text}) + "\n")


if __name__ == "__main__":
    main()

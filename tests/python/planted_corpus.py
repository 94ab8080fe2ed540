"""A corpus with planted near duplicates, and the exact Jaccard similarities to judge a
near-dedup against, computed here independently of shardstream (Python's `re` over the same
shingle definition as docs/dedup.md).

Bases are synthetic Python modules (random identifiers, so distinct bases share almost no
shingle). Each base gets variants: an exact copy, copies with a few / some / many lines
rewritten (Jaccard levels from ~0.95 down to ~0.4), renamed identifiers, an added header
comment, reordered functions. Distinct files fill the rest. The truth is not the planted
intent but the exact Jaccard of every pair that shares a shingle.
"""
import gzip
import json
import os
import random
import re
from collections import defaultdict

WORD = re.compile(r"[A-Za-z0-9_]+")
NGRAM = 5


def shingles(text, n=NGRAM):
    """docs/dedup.md: lowercased runs of [A-Za-z0-9_], n consecutive words, as a set."""
    words = [w.lower() for w in WORD.findall(text)]
    if not words:
        return frozenset()
    n = min(n, len(words))
    return frozenset(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))


def jaccard(a, b):
    return len(a & b) / len(a | b) if a or b else 1.0


class _Gen:
    def __init__(self, rng):
        self.rng = rng

    def ident(self):
        syll = ["ka", "lo", "mi", "ru", "te", "zo", "ne", "vi", "da", "sh", "or", "el", "py"]
        return "".join(self.rng.choice(syll) for _ in range(self.rng.randint(2, 4)))

    def line(self, names):
        r = self.rng
        a, b, c = r.choice(names), r.choice(names), self.ident()
        forms = [f"{a} = {b}.{c}({r.randint(0, 999)}, {self.ident()})",
                 f"if {a} > {r.randint(0, 99)}: {b} += {c}",
                 f"for {c} in range({a}): {b}.append({c} * {r.randint(2, 9)})",
                 f"return {a}({b}, key={self.ident()}, default={r.randint(0, 50)})",
                 f"{a}.{c} = [{b} for {b} in {self.ident()} if {b}]"]
        return "    " + r.choice(forms)

    def function(self):
        name = self.ident()
        args = [self.ident() for _ in range(self.rng.randint(1, 3))]
        names = args + [self.ident() for _ in range(3)]
        body = [self.line(names) for _ in range(self.rng.randint(5, 10))]
        return [f"def {name}({', '.join(args)}):"] + body + [""]

    def module(self, functions):
        lines = [f"import {self.ident()}", f"from {self.ident()} import {self.ident()}", ""]
        funcs = [self.function() for _ in range(functions)]
        return lines, funcs


def _join(head, funcs):
    return "\n".join(head + [l for f in funcs for l in f]) + "\n"


def make_documents(seed=7, bases=40, distinct=120):
    """[(kind, base index or None, text)] in file order."""
    rng = random.Random(seed)
    gen = _Gen(rng)
    docs = []
    for b in range(bases):
        head, funcs = gen.module(rng.randint(3, 6))
        base = _join(head, funcs)
        docs.append(("base", b, base))
        docs.append(("exact", b, base))
        # Rewrite a fraction of the body lines: 1 line, then ~10%, ~20%, ~35%, ~55%.
        body = [(i, j) for i, f in enumerate(funcs) for j in range(1, len(f) - 1)]
        for kind, fraction in [("edit1", 0.0), ("edit10", 0.1), ("edit20", 0.2),
                               ("edit35", 0.35), ("edit55", 0.55)]:
            changed = [list(f) for f in funcs]
            count = max(1, int(len(body) * fraction))
            for i, j in rng.sample(body, count):
                changed[i][j] = gen.line([gen.ident() for _ in range(3)])
            docs.append((kind, b, _join(head, changed)))
        # One identifier renamed everywhere (its first function's name).
        old = funcs[0][0][4:funcs[0][0].index("(")]
        docs.append(("renamed", b, re.sub(rf"\b{old}\b", gen.ident() + "_x", base)))
        docs.append(("comment", b, "# Copyright (c) the authors of this fork\n"
                     "# Licensed under the MIT license\n" + base))
        docs.append(("reordered", b, _join(head, list(reversed(funcs)))))
    for _ in range(distinct):
        head, funcs = gen.module(rng.randint(2, 5))
        docs.append(("distinct", None, _join(head, funcs)))
    rng.shuffle(docs)
    return docs


def write_corpus(directory, docs, files=3):
    """Writes the documents as CodeParrot-style .jsonl.gz shards; returns [(path, line, text)]."""
    os.makedirs(directory, exist_ok=True)
    where = []
    per_file = (len(docs) + files - 1) // files
    for f in range(files):
        path = f"shard-{f:03d}.jsonl.gz"
        chunk = docs[f * per_file:(f + 1) * per_file]
        with gzip.open(os.path.join(directory, path), "wt", encoding="utf-8") as out:
            for line, (kind, base, text) in enumerate(chunk, start=1):
                out.write(json.dumps({"repo_name": f"org/{kind}-{base}", "path": f"m{line}.py",
                                      "content": text, "license": "mit"}) + "\n")
                where.append((path, line, text))
    return where


def near_duplicate_truth(texts, threshold):
    """Indexes of texts (exact copies counted once: the first) that have another distinct
    text at exact Jaccard >= threshold; and every such pair with its Jaccard."""
    first = {}
    for i, t in enumerate(texts):
        first.setdefault(t, i)
    unique = sorted(first.values())
    sets = {i: shingles(texts[i]) for i in unique}
    postings = defaultdict(list)
    for i in unique:
        for s in sets[i]:
            postings[s].append(i)
    pairs = {}
    for ids in postings.values():
        for x in range(len(ids)):
            for y in range(x + 1, len(ids)):
                key = (ids[x], ids[y])
                if key not in pairs:
                    pairs[key] = jaccard(sets[key[0]], sets[key[1]])
    positive = set()
    for (a, b), j in pairs.items():
        if j >= threshold:
            positive.update((a, b))
    return set(unique), positive, pairs

#!/usr/bin/python3
"""Near-dedup against indexing, side by side in one run, and its quality.

1. Throughput: `index --jobs J` and `dedup --jobs J` on the same corpus (a CodeParrot-format
   corpus of this machine's Python files unless one is given), interleaved, RUNS times each;
   reports dedup / index wall and CPU ratios (min–max over the runs; goal ≤ 1), peak RSS of
   each and the catalog bytes dedup adds, per document.
   The same on a corpus of tiny one-line documents, where per-document costs dominate.
2. Quality: recall and precision of the clustering against exact Jaccard (computed in Python
   over the same shingles) on the planted corpus of tests/python/planted_corpus.py, at several
   thresholds.

usage: bench/dedup_bench.py [--corpus DIR] [--runs 3] [--jobs 1] [--max-bytes 40000000]
"""
import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
from planted_corpus import make_documents, near_duplicate_truth, write_corpus  # noqa: E402

BIN = os.environ.get("BIN", os.path.join(ROOT, "build", "cli", "shardstream"))


def timed(*args):
    """(wall s, cpu s, peak RSS bytes) of one run of the CLI."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.Popen([BIN, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, usage.ru_maxrss * 1024


def du(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def throughput(corpus, work, runs, jobs, extra=()):
    rows = []
    for _ in range(runs):
        db = os.path.join(work, "db")
        shutil.rmtree(db, ignore_errors=True)
        index = timed("index", "--db", db, "--corpus", corpus, "--jobs", str(jobs))
        size = du(db)
        dedup = timed("dedup", "--db", db, "--jobs", str(jobs), *extra)
        rows.append((index, dedup, du(db) - size))
    stats = json.loads(subprocess.run([BIN, "stats", "--db", db, "--json"], check=True,
                                      capture_output=True, text=True).stdout)
    docs = stats["docs"]
    wall = [d[0] / i[0] for i, d, _ in rows]
    cpu = [d[1] / i[1] for i, d, _ in rows]
    print(f"corpus: {corpus}: {docs} documents, {stats['text_bytes'] / 1e6:.1f} MB of text, "
          f"{stats['near_duplicate_docs']} near duplicates in "
          f"{stats['near_duplicate_clusters']} clusters")
    print(f"cpu: {os.cpu_count()} cores; --jobs {jobs} {' '.join(extra)}; {runs} runs, "
          "interleaved")
    print(f"dedup / index wall: {min(wall):.2f}-{max(wall):.2f}   "
          f"cpu: {min(cpu):.2f}-{max(cpu):.2f}")
    print(f"index: {min(r[0][0] for r in rows):.2f}-{max(r[0][0] for r in rows):.2f} s, "
          f"dedup: {min(r[1][0] for r in rows):.2f}-{max(r[1][0] for r in rows):.2f} s")
    print(f"peak RSS per document: index {max(r[0][2] for r in rows) / docs:.0f} B, "
          f"dedup {max(r[1][2] for r in rows) / docs:.0f} B "
          f"(dedup {max(r[1][2] for r in rows) / 2**20:.0f} MiB); "
          f"catalog growth {max(r[2] for r in rows) / docs:.0f} B/doc")


def tiny_corpus(directory, docs):
    """`docs` one-line documents of 12 words, in one .jsonl.gz: the shape where per-document
    costs dominate."""
    import gzip
    import random
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(1)
    words = [f"w{i}" for i in range(600)]
    with gzip.open(os.path.join(directory, "tiny.jsonl.gz"), "wt", compresslevel=1) as f:
        for _ in range(docs):
            f.write(json.dumps({"content": " ".join(rng.choice(words) for _ in range(12))}) + "\n")
    return directory


def dump(db, family):
    return subprocess.run([BIN, "dump", "--db", db, "--family", family], check=True,
                          capture_output=True, text=True).stdout.splitlines()


def quality(work, thresholds):
    docs = make_documents(seed=101, bases=80, distinct=400)
    corpus = os.path.join(work, "planted")
    where = write_corpus(corpus, docs, files=4)
    texts = [t for _, _, t in where]
    index_of = {(p, l): i for i, (p, l, _) in enumerate(where)}
    db = os.path.join(work, "planted-db")
    subprocess.run([BIN, "index", "--db", db, "--corpus", corpus], check=True,
                   capture_output=True)
    paths = {int(m.group(1)): m.group(2) for m in
             (re.match(r'files (\d+) .*?path: "([^"]*)"', l) for l in dump(db, "files"))}
    places = {}
    for line in dump(db, "docs"):
        m = re.match(r"docs (\d+) (?:file_id: (\d+) )?line: (\d+)", line)
        places[int(m.group(1))] = (paths[int(m.group(2) or 0)], int(m.group(3)))
    print(f"planted corpus: {len(texts)} documents")
    print(f"{'threshold':>9} {'margin':>6} {'bands×rows':>10} {'truth':>6} {'found':>6} "
          f"{'recall':>7} {'precision':>9}")
    for t, margin in [(t, m) for t in thresholds for m in (0, 0.1)]:
        subprocess.run([BIN, "dedup", "--db", db, "--threshold", str(t), "--verify-margin",
                        str(margin)], check=True, capture_output=True)
        unique, positive, _ = near_duplicate_truth(texts, t)
        predicted = set()
        for line in dump(db, "near_dups"):
            m = re.match(r"near_dups (\d+) (?:representative: (\d+))?", line)
            predicted.add(index_of[places[int(m.group(1))]])
            predicted.add(index_of[places[int(m.group(2) or 0)]])
        record = next(l for l in dump(db, "meta") if l.startswith("meta near_dedup"))
        bands = re.search(r"bands: (\d+) rows: (\d+)", record).groups()
        tp = len(predicted & positive)
        print(f"{t:>9} {margin:>6} {bands[0] + '×' + bands[1]:>10} {len(positive):>6} "
              f"{len(predicted):>6} "
              f"{tp / max(1, len(positive)):>7.3f} {tp / max(1, len(predicted)):>9.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--max-bytes", type=int, default=40_000_000)
    ap.add_argument("--thresholds", default="0.6,0.7,0.8,0.85")
    ap.add_argument("--tiny-docs", type=int, default=400_000,
                    help="also a corpus of this many one-line documents (0: skip)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="shardstream-dedup-bench-")
    try:
        corpus = args.corpus
        if corpus is None:
            corpus = os.path.join(work, "corpus")
            subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "make_sample_corpus.py"),
                            corpus, "--max-bytes", str(args.max_bytes)], check=True,
                           stderr=subprocess.DEVNULL)
        throughput(corpus, work, args.runs, args.jobs)
        throughput(corpus, work, args.runs, args.jobs, ("--verify-margin", "0.1"))
        if args.tiny_docs:
            throughput(tiny_corpus(os.path.join(work, "tiny"), args.tiny_docs), work, args.runs,
                       args.jobs)
        quality(work, [float(t) for t in args.thresholds.split(",")])
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

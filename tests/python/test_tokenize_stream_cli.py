"""End-to-end: `shardstream tokenize` and the embedded `shardstream stream` on a real corpus.

Expected values come from an independent path: documents read with Python's gzip/json, encoded
one by one with `shardstream encode` (the tokenizer, proven against Hugging Face in
test_tokenizer_cli.py), and packed here in Python.
"""
import gzip
import json
from pathlib import Path
import os
import random
import shutil
import signal
import subprocess

import numpy as np
import pytest

from conftest import GPT2, run, stream_jsonl


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory, machine_corpus):
    """The machine corpus re-sharded into 12 small gzip files (several commits per run)."""
    out = tmp_path_factory.mktemp("small-corpus")
    lines = []
    for name in sorted(os.listdir(machine_corpus)):
        with gzip.open(os.path.join(machine_corpus, name), "rt", encoding="utf-8") as f:
            lines.extend(f.read().splitlines())
    lines = lines[:600]
    for i in range(12):
        with gzip.open(out / f"part-{i:02d}.jsonl.gz", "wt", encoding="utf-8") as f:
            f.write("\n".join(lines[i * 50:(i + 1) * 50]) + "\n")
    return str(out), [json.loads(l)["content"] for l in lines]


def index_and_tokenize(bin_path, corpus, db, jobs="2"):
    run(bin_path, "index", "--db", db, "--corpus", corpus)
    return run(bin_path, "tokenize", "--db", db, "--tokenizer", GPT2, "--jobs", jobs)


def store_dump(bin_path, db):
    return run(bin_path, "dump", "--db", db, "--family", "tokenizers", "token_files", "tokens").stdout


def test_store_is_identical_across_jobs_and_reruns(shardstream_bin, small_corpus, tmp_path):
    corpus, texts = small_corpus
    dumps = []
    for jobs in ("1", "2"):
        db = str(tmp_path / f"db{jobs}")
        out = index_and_tokenize(shardstream_bin, corpus, db, jobs).stdout
        assert "12/12 files" in out and "complete" in out
        dumps.append(store_dump(shardstream_bin, db))
    assert dumps[0] == dumps[1]
    assert dumps[0].count("\ntokens ") + dumps[0].startswith("tokens ") == len(texts)
    rerun = run(shardstream_bin, "tokenize", "--db", str(tmp_path / "db1"), "--tokenizer", GPT2).stdout
    assert rerun.startswith("tokenized 0 files (12 unchanged")
    assert store_dump(shardstream_bin, str(tmp_path / "db1")) == dumps[0]
    stats = json.loads(run(shardstream_bin, "stats", "--db", str(tmp_path / "db1"), "--json").stdout)
    [tok] = stats["tokenizers"]
    assert tok["name"] == "gpt2" and tok["complete"] and tok["docs"] == len(texts)


def test_tokenize_is_incremental_and_survives_kill_9(shardstream_bin, small_corpus, tmp_path):
    corpus, _ = small_corpus
    work = tmp_path / "corpus"
    shutil.copytree(corpus, work)
    clean = str(tmp_path / "clean")
    index_and_tokenize(shardstream_bin, str(work), clean)
    # A new file: only it is tokenized.
    with gzip.open(work / "zz-added.jsonl.gz", "wt") as f:
        f.write(json.dumps({"content": "def added():\n    return 42\n"}) + "\n")
    run(shardstream_bin, "index", "--db", clean, "--corpus", str(work))
    out = run(shardstream_bin, "tokenize", "--db", clean, "--tokenizer", GPT2).stdout
    assert out.startswith("tokenized 1 files (12 unchanged")
    # The same from scratch with SIGKILLs at random moments: the same store in the end.
    crashed = str(tmp_path / "crashed")
    run(shardstream_bin, "index", "--db", crashed, "--corpus", str(work))
    rng, kills, delay = random.Random(7), 0, 1.0
    while True:
        proc = subprocess.Popen([shardstream_bin, "tokenize", "--db", crashed, "--tokenizer", GPT2,
                                 "--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rng.uniform(0, delay) if kills < 30 else None)
            assert proc.returncode == 0
            if kills > 0:
                break
            # Finished before any kill: start over with shorter delays so a crash really happens.
            shutil.rmtree(crashed)
            run(shardstream_bin, "index", "--db", crashed, "--corpus", str(work))
            delay /= 2
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
    assert store_dump(shardstream_bin, crashed) == store_dump(shardstream_bin, clean)
    # What killed runs left (packs no record names, temporary files) is gone: the packs are
    # exactly those of the clean store.
    assert pack_names(crashed) == pack_names(clean) and len(pack_names(clean)) == 13
    # A pack deleted by hand: the file is stale, and the next run writes it again.
    [folder] = (Path(crashed) / "token-packs").iterdir()
    victim = sorted(folder.iterdir())[3]
    victim.unlink()
    out = run(shardstream_bin, "tokenize", "--db", crashed, "--tokenizer", GPT2).stdout
    assert out.startswith("tokenized 1 files (12 unchanged")
    assert victim.exists() and store_dump(shardstream_bin, crashed) == store_dump(shardstream_bin, clean)


def pack_names(db):
    return sorted(p.name for p in (Path(db) / "token-packs").rglob("*") if p.is_file())


def test_stream_matches_independent_packing(shardstream_bin, small_corpus, tmp_path):
    corpus, texts = small_corpus
    db = str(tmp_path / "db")
    index_and_tokenize(shardstream_bin, corpus, db)
    batches, stderr = stream_jsonl(db, "--tokenizer", "gpt2", "--seq-len", "256", "--batch-size",
                                   "8", "--seed", "9", "--max-batches", "100", "--no-dedup",
                                   "--doc-boundaries")
    assert len(batches) == 100 and "plan: 600 documents" in stderr
    # Independent check of packing: every row is a window of documents joined by EOS, and each
    # complete document between two EOS is exactly one of the corpus texts, encoded alone.
    with open(tmp_path / "texts.jsonl", "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
    encoded = run(shardstream_bin, "encode", "--tokenizer", GPT2, "--jsonl",
                  str(tmp_path / "texts.jsonl"), "--jobs", "2").stdout.splitlines()
    by_tokens = {tuple(json.loads(l)) for l in encoded}
    stream = [t for b in batches for row in b["tokens"] for t in row]
    pieces = []
    current = []
    for t in stream:
        if t == 50256:
            pieces.append(tuple(current))
            current = []
        else:
            current.append(t)
    complete = pieces[1:]  # the first piece may have started before this stream's first token
    assert len(complete) > 5
    assert all(p in by_tokens for p in complete)
    for b in batches:
        assert len(b["tokens"]) == 8 and all(len(r) == 256 for r in b["tokens"])
        for row, starts in zip(b["tokens"], b["doc_starts"]):
            assert all(s == 0 or row[s - 1] == 50256 for s in starts)


def test_stream_resume_ranks_npy_and_errors(shardstream_bin, small_corpus, tmp_path):
    corpus, _ = small_corpus
    db = str(tmp_path / "db")
    index_and_tokenize(shardstream_bin, corpus, db)
    common = ("--tokenizer", "gpt2", "--seq-len", "64", "--seed", "3")
    full, _ = stream_jsonl(db, *common, "--batch-size", "4", "--max-batches", "12")
    again, _ = stream_jsonl(db, *common, "--batch-size", "4", "--max-batches", "12")
    assert full == again
    tail, _ = stream_jsonl(db, *common, "--batch-size", "4", "--max-batches", "7",
                           "--resume", full[4]["cursor"])
    assert [b["tokens"] for b in tail] == [b["tokens"] for b in full[5:]]
    # Two ranks of batch 2 = one rank of batch 4, row for row.
    ranks = [stream_jsonl(db, *common, "--batch-size", "2", "--world-size", "2",
                          "--rank", str(r), "--max-batches", "12")[0] for r in (0, 1)]
    for step in range(12):
        assert ranks[0][step]["tokens"] + ranks[1][step]["tokens"] == full[step]["tokens"]
        assert ranks[0][step]["cursor"] == ranks[1][step]["cursor"] == full[step]["cursor"]
    # NumPy output holds the same tokens.
    npy = tmp_path / "b.npy"
    run(shardstream_bin, "stream", "--db", db, *common, "--batch-size", "4",
        "--max-batches", "12", "--format", "npy", "--out", str(npy))
    array = np.load(npy)
    assert array.shape == (12, 4, 64) and array.dtype == np.uint16
    assert array.tolist() == [b["tokens"] for b in full]
    # Errors say what to fix.
    other = run(shardstream_bin, "stream", "--db", db, "--tokenizer", "gpt2", "--seq-len", "32",
                "--seed", "3", "--resume", full[0]["cursor"], "--max-batches", "1", check=False)
    assert other.returncode == 1 and "seq_len 64" in other.stderr
    bad = run(shardstream_bin, "stream", "--db", db, "--tokenizer", "gpt2", "--rank", "2",
              "--world-size", "2", check=False)
    assert bad.returncode == 2 and "rank 2" in bad.stderr
    missing = run(shardstream_bin, "stream", "--db", db, "--tokenizer", "llama", check=False)
    assert missing.returncode == 1 and "available: gpt2" in missing.stderr
